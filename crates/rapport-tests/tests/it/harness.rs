//! Test harness: a fresh database per test (SQLite file or PostgreSQL database cloned from
//! a migrated template), the real router called in-process, and helpers for common steps.

use std::str::FromStr;
use std::sync::Arc;

use axum::body::Body;
use axum::Router;
use http::{header, HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use rapport_app::users::NewUser;
use rapport_app::{App, AppSettings};
use rapport_core::role::Role;
use rapport_store::Store;
use rapport_store_postgres::PgStore;
use rapport_store_sqlite::SqliteStore;
use serde_json::{json, Value};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tower::ServiceExt;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a test body once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! both {
    ($name:ident, |$h:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some($h) = $crate::harness::Harness::new($crate::harness::Backend::Sqlite).await {
                    $body
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some($h) = $crate::harness::Harness::new($crate::harness::Backend::Postgres).await {
                    $body
                }
            }
        }
    };
}

/// Where the database of one test lives; dropping it removes the database.
pub enum DbGuard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin: Box<PgConnectOptions>, name: String },
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        if let DbGuard::Postgres { admin, name } = self {
            let (admin, name) = (admin.as_ref().clone(), name.clone());
            // Drop cannot await; a short-lived runtime on its own thread does the work.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                rt.block_on(async {
                    let mut c = admin.connect().await.ok()?;
                    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut c).await.ok()
                })
            })
            .join();
        }
    }
}

pub fn pg_url() -> Option<String> {
    match std::env::var("RAPPORT_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var("RAPPORT_TEST_REQUIRE_PG").is_ok_and(|v| v == "1") {
                panic!("RAPPORT_TEST_REQUIRE_PG=1 but RAPPORT_TEST_PG_URL is not set");
            }
            eprintln!("SKIP: PostgreSQL half of this test (set RAPPORT_TEST_PG_URL to run it)");
            None
        }
    }
}

fn migrations_fingerprint() -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for m in rapport_store_postgres::MIGRATOR.iter() {
        h.update(m.checksum.as_ref());
    }
    hex::encode(h.finalize())[..12].to_string()
}

/// A new, migrated PostgreSQL database: a clone of a template migrated once per schema.
async fn fresh_pg(url: &str) -> (String, DbGuard) {
    let base = PgConnectOptions::from_str(url).expect("RAPPORT_TEST_PG_URL is not a PostgreSQL URL");
    let admin = base.clone().database("postgres");
    let mut c = admin.connect().await.expect("PostgreSQL is not reachable at RAPPORT_TEST_PG_URL");
    let template = format!("rapport_tpl_{}", migrations_fingerprint());
    // One process at a time makes the template or clones it.
    sqlx::query("SELECT pg_advisory_lock(727274)").execute(&mut c).await.expect("lock");
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(&template)
        .fetch_one(&mut c)
        .await
        .expect("query");
    if !exists {
        let building = format!("{template}_building");
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"))
            .execute(&mut c)
            .await
            .expect("drop");
        sqlx::query(&format!("CREATE DATABASE \"{building}\"")).execute(&mut c).await.expect("create template");
        let tpl_url = base.clone().database(&building);
        let mut tc = tpl_url.connect().await.expect("connect template");
        rapport_store_postgres::MIGRATOR.run(&mut tc).await.expect("migrate template");
        tc.close().await.ok();
        sqlx::query(&format!("ALTER DATABASE \"{building}\" RENAME TO \"{template}\""))
            .execute(&mut c)
            .await
            .expect("rename");
    }
    let name = format!("rapport_test_{}", Uuid::now_v7().simple());
    sqlx::query(&format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""))
        .execute(&mut c)
        .await
        .expect("clone template");
    sqlx::query("SELECT pg_advisory_unlock(727274)").execute(&mut c).await.expect("unlock");
    c.close().await.ok();
    let url = base.database(&name).to_url_lossy().to_string();
    (url, DbGuard::Postgres { admin: Box::new(admin), name })
}

/// Opens a fresh store of the given backend, or None when PostgreSQL is not configured.
pub async fn fresh_store(backend: Backend) -> Option<(Arc<dyn Store>, DbGuard, String)> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite://{}", dir.path().join("rapport.db").display());
            let store = SqliteStore::connect(&url, 4).await.expect("open SQLite");
            Some((Arc::new(store), DbGuard::Sqlite(dir), url))
        }
        Backend::Postgres => {
            let base = pg_url()?;
            let (url, guard) = fresh_pg(&base).await;
            let store = PgStore::connect(&url, 8).await.expect("open PostgreSQL");
            Some((Arc::new(store), guard, url))
        }
    }
}

pub fn test_settings() -> AppSettings {
    let mut s = AppSettings::new(secrecy::SecretString::from("test-secret-test-secret-test-secret".to_string()));
    // Passwords are hashed at a low cost so the suite stays fast; the algorithm is the same.
    s.argon2_memory_kib = 1024;
    s.argon2_iterations = 1;
    s
}

/// A signed-in user of a tenant.
#[derive(Debug, Clone)]
pub struct Client {
    pub token: String,
    pub user_id: Uuid,
    pub tenant_id: Uuid,
}

/// An answer from the router.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
    pub fn id(&self) -> Uuid {
        Uuid::parse_str(self.body["id"].as_str().expect("id in body")).expect("uuid")
    }
    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
    }
}

pub struct Harness {
    pub backend: Backend,
    pub app: App,
    pub router: Router,
    pub url: String,
    #[allow(dead_code)] // held so the database lives as long as the test
    pub guard: DbGuard,
}

pub const PASSWORD: &str = "correct horse battery";

impl Harness {
    pub async fn new(backend: Backend) -> Option<Self> {
        let (store, guard, url) = fresh_store(backend).await?;
        let app = App::new(store, test_settings());
        let router = rapport_http::router(rapport_http::AppState::new(app.clone()));
        Some(Self { backend, app, router, url, guard })
    }

    /// Runs raw SQL as the database owner, past the application (and row-level security).
    pub async fn raw(&self, sql: &str) -> Result<u64, String> {
        match self.backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.url).await.map_err(|e| e.to_string())?;
                let r = sqlx::query(sql).execute(&pool).await.map(|r| r.rows_affected()).map_err(|e| e.to_string());
                pool.close().await;
                r
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.url).await.map_err(|e| e.to_string())?;
                let r = sqlx::query(sql).execute(&pool).await.map(|r| r.rows_affected()).map_err(|e| e.to_string());
                pool.close().await;
                r
            }
        }
    }

    /// Opens the database again, as a restarted server would: migrations and pending
    /// rebuilds run.
    pub async fn reopen_store(&self) -> Arc<dyn Store> {
        match self.backend {
            Backend::Sqlite => Arc::new(rapport_store_sqlite::SqliteStore::connect(&self.url, 2).await.unwrap()),
            Backend::Postgres => Arc::new(rapport_store_postgres::PgStore::connect(&self.url, 2).await.unwrap()),
        }
    }

    /// Sends a request; `token` signs it, `body` is sent as JSON.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        self.call_with(method, path, token, body, &[]).await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = match body {
            Some(v) => b.header(header::CONTENT_TYPE, "application/json").body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        }
        .expect("request");
        self.send(req).await
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(req).await.expect("router answers");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply { status, headers, body }
    }

    pub async fn get(&self, c: &Client, path: &str) -> Reply {
        self.call(Method::GET, path, Some(&c.token), None).await
    }
    pub async fn post(&self, c: &Client, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(&c.token), Some(body)).await
    }
    pub async fn patch(&self, c: &Client, path: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(&c.token), Some(body)).await
    }
    pub async fn delete(&self, c: &Client, path: &str) -> Reply {
        self.call(Method::DELETE, path, Some(&c.token), None).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.call(Method::POST, "/api/v1/auth/login", None, Some(json!({"email": email, "password": password}))).await
    }

    /// A new tenant with a signed-in owner.
    pub async fn tenant(&self, name: &str) -> Client {
        let email = format!("owner-{}@{}.example.com", Uuid::now_v7().simple(), name.to_lowercase().replace(' ', "-"));
        let (t, u) = self
            .app
            .create_tenant(
                name,
                NewUser {
                    email: email.clone(),
                    name: "Owner".into(),
                    role: Role::Owner,
                    password: Some(PASSWORD.into()),
                },
            )
            .await
            .expect("create tenant");
        let r = self.login(&email, PASSWORD).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        Client { token: r.body["access_token"].as_str().expect("token").to_string(), user_id: u.id, tenant_id: t.id }
    }

    /// A new user with `role` in the tenant of `owner`, signed in.
    pub async fn user(&self, owner: &Client, role: &str) -> Client {
        let email = format!("{role}-{}@example.com", Uuid::now_v7().simple());
        let r = self
            .post(owner, "/api/v1/users", json!({"email": email, "name": role, "role": role, "password": PASSWORD}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let user_id = r.id();
        let l = self.login(&email, PASSWORD).await;
        assert_eq!(l.status, StatusCode::OK, "{:?}", l.body);
        Client {
            token: l.body["access_token"].as_str().expect("token").to_string(),
            user_id,
            tenant_id: owner.tenant_id,
        }
    }

    /// Creates a customer and returns its answer (asserting 201).
    pub async fn customer(&self, c: &Client, body: Value) -> Reply {
        let r = self.post(c, "/api/v1/customers", body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r
    }
}

pub fn unique_email(prefix: &str) -> String {
    format!("{prefix}-{}@example.com", Uuid::now_v7().simple())
}
