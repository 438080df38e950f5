//! The `rapport` commands and configuration (SPEC section 11): tenant and user creation,
//! migrate, audit verify and backup through `rapport::cli::execute`, a restart on the same
//! database, and how the database URL is resolved.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use http::StatusCode;
use rapport::config::{DatabaseUrl, DbConfig, FileConfig};
use rapport_app::App;
use rapport_store::Store;
use rapport_store_postgres::PgStore;
use rapport_store_sqlite::SqliteStore;
use serde_json::json;
use uuid::Uuid;

use crate::both;
use crate::harness::{test_settings, unique_email, Backend, Client, DbGuard, Harness};

/// Runs `rapport <args>`; answers the exit code and what it printed, or the error's text.
async fn run(args: &[&str]) -> Result<(ExitCode, String), String> {
    let argv = std::iter::once("rapport").chain(args.iter().copied());
    let cli = <rapport::cli::Cli as clap::Parser>::try_parse_from(argv).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    match rapport::cli::execute(cli, &mut out).await {
        Ok(code) => Ok((code, String::from_utf8(out).expect("UTF-8 output"))),
        Err(e) => Err(format!("{e:#}")),
    }
}

/// `rapport <args> --database-url <url> --data-dir <dir>`.
pub(crate) async fn run_db(url: &str, dir: &Path, args: &[&str]) -> Result<(ExitCode, String), String> {
    let dir = dir.to_str().unwrap();
    let mut all = args.to_vec();
    all.extend(["--database-url", url, "--data-dir", dir]);
    run(&all).await
}

fn printed_uuid(out: &str) -> Uuid {
    Uuid::parse_str(out.trim()).unwrap_or_else(|_| panic!("expected a UUID, got {out:?}"))
}

/// A second app and router over the database at `url`, as a restarted server would open it.
/// Its guard owns nothing: the first harness still cleans the database up.
async fn reopen(backend: Backend, url: &str) -> Harness {
    let store: Arc<dyn Store> = match backend {
        Backend::Sqlite => Arc::new(SqliteStore::connect(url, 2).await.expect("reopen SQLite")),
        Backend::Postgres => Arc::new(PgStore::connect(url, 4).await.expect("reopen PostgreSQL")),
    };
    let app = App::new(store, test_settings());
    let router = rapport_http::router(rapport_http::AppState::new(app.clone()));
    let guard = DbGuard::Sqlite(tempfile::tempdir().expect("tempdir"));
    Harness { backend, app, router, url: url.to_string(), guard }
}

both!(cli_creates_tenants_and_users_that_sign_in_through_the_api, |h| {
    let dir = tempfile::tempdir().unwrap();
    let owner_email = unique_email("cli-owner");
    let (code, out) = run_db(
        &h.url,
        dir.path(),
        &["tenant", "create", "--name", "Cli Co", "--owner-email", &owner_email, "--owner-password", "cli owner pw 1"],
    )
    .await
    .expect("tenant create");
    assert_eq!(code, ExitCode::SUCCESS);
    let tenant = printed_uuid(&out);

    let l = h.login(&owner_email, "cli owner pw 1").await;
    assert_eq!(l.status, StatusCode::OK, "{:?}", l.body);
    let owner =
        Client { token: l.body["access_token"].as_str().unwrap().to_string(), user_id: Uuid::nil(), tenant_id: tenant };
    let users = h.get(&owner, "/api/v1/users").await;
    assert_eq!(users.status, StatusCode::OK);
    assert_eq!(users.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(users.body["data"][0]["email"], owner_email.as_str());
    assert_eq!(users.body["data"][0]["role"], "owner");
    assert_eq!(h.app.tenant(tenant).await.expect("tenant exists").name, "Cli Co");

    let sales_email = unique_email("cli-sales");
    let t = tenant.to_string();
    let (_, out) = run_db(
        &h.url,
        dir.path(),
        &["user", "add", "--tenant", &t, "--email", &sales_email, "--role", "sales", "--password", "cli sales pw 1"],
    )
    .await
    .expect("user add");
    let sales_id = printed_uuid(&out);
    let l = h.login(&sales_email, "cli sales pw 1").await;
    assert_eq!(l.status, StatusCode::OK, "{:?}", l.body);
    let u = h.get(&owner, &format!("/api/v1/users/{sales_id}")).await;
    assert_eq!(u.status, StatusCode::OK, "{:?}", u.body);
    assert_eq!(u.body["role"], "sales");
    assert_eq!(u.body["email"], sales_email.as_str());

    // Refusals are errors, not silent successes.
    let taken = run_db(
        &h.url,
        dir.path(),
        &["user", "add", "--tenant", &t, "--email", &sales_email, "--role", "viewer", "--password", "another pw 1"],
    )
    .await;
    assert!(taken.as_ref().is_err_and(|e| e.contains("exists")), "{taken:?}");
    let role = run_db(
        &h.url,
        dir.path(),
        &["user", "add", "--tenant", &t, "--email", &unique_email("x"), "--role", "root", "--password", "pw pw pw pw"],
    )
    .await;
    assert!(role.as_ref().is_err_and(|e| e.contains("root")), "{role:?}");
    let nobody = Uuid::now_v7().to_string();
    let missing = run_db(
        &h.url,
        dir.path(),
        &[
            "user",
            "add",
            "--tenant",
            &nobody,
            "--email",
            &unique_email("x"),
            "--role",
            "viewer",
            "--password",
            "pw pw pw pw",
        ],
    )
    .await;
    assert!(missing.as_ref().is_err_and(|e| e.contains("tenant")), "{missing:?}");
    let bad = run_db(
        &h.url,
        dir.path(),
        &["tenant", "create", "--name", "Bad", "--owner-email", "not-an-email", "--owner-password", "pw pw pw pw"],
    )
    .await;
    assert!(bad.as_ref().is_err_and(|e| e.contains("email")), "{bad:?}");
    assert_eq!(h.app.store.tenant_ids().await.unwrap(), vec![tenant], "the refused tenant was not created");

    let (code, out) = run_db(&h.url, dir.path(), &["migrate"]).await.expect("migrate");
    assert_eq!(code, ExitCode::SUCCESS);
    let backend = match h.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(out.trim(), format!("migrated ({backend})"));
    // Migrating again changes nothing and the app keeps working.
    run_db(&h.url, dir.path(), &["migrate"]).await.expect("migrate twice");
    assert_eq!(h.get(&owner, "/api/v1/users").await.status, StatusCode::OK);

    let (code, out) = run_db(&h.url, dir.path(), &["audit", "verify", "--tenant", &t]).await.expect("verify");
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(out.trim(), format!("tenant {tenant}: ok, 2 entries"));
    let other = h.tenant("Second").await;
    let (code, out) = run_db(&h.url, dir.path(), &["audit", "verify"]).await.expect("verify all");
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.lines().all(|l| l.contains(": ok, ")), "{out}");
    assert!(out.contains(&other.tenant_id.to_string()));
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_writes_a_sqlite_file_that_opens_with_the_customers() {
    let Some(h) = Harness::new(Backend::Sqlite).await else { return };
    let o = h.tenant("Backup").await;
    let mut names = Vec::new();
    for i in 0..3 {
        let c = h.customer(&o, json!({"name": format!("Kept {i}"), "email": unique_email("b")})).await;
        names.push(c.body["name"].as_str().unwrap().to_string());
    }
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("copy.db");
    let to_s = to.to_str().unwrap();
    let (code, out) = run_db(&h.url, dir.path(), &["backup", "--to", to_s]).await.expect("backup");
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(out.contains("backed up to"), "{out}");
    assert!(std::fs::metadata(&to).is_ok_and(|m| m.len() > 0));
    // It does not overwrite a file.
    let again = run_db(&h.url, dir.path(), &["backup", "--to", to_s]).await;
    assert!(again.is_err_and(|e| e.contains("exists")));

    // A write after the backup is not in it.
    h.customer(&o, json!({"name": "Later", "email": unique_email("l")})).await;
    let copy = reopen(Backend::Sqlite, &format!("sqlite://{to_s}")).await;
    let list = copy.get(&o, "/api/v1/customers?sort=name&limit=200").await;
    assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
    let got: Vec<&str> = list.body["data"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(got, names);
    let v = copy.get(&o, "/api/v1/audit/verify").await;
    assert_eq!(v.body["ok"], true, "{:?}", v.body);
    assert_eq!(v.body["entries"], 4, "the owner and three customers");
}

#[tokio::test]
async fn backup_of_postgres_is_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("x.db");
    let r = run_db("postgres://nobody@127.0.0.1:1/none", dir.path(), &["backup", "--to", to.to_str().unwrap()]).await;
    assert!(r.as_ref().is_err_and(|e| e.contains("pg_dump")), "{r:?}");
    assert!(!to.exists());
}

both!(data_survives_a_restart_on_the_same_database, |h| {
    let o = h.tenant("Restart").await;
    let owner = h.get(&o, &format!("/api/v1/users/{}", o.user_id)).await;
    let owner_email = owner.body["email"].as_str().unwrap().to_string();
    let c = h
        .customer(
            &o,
            json!({"name": "Durable", "email": unique_email("d"), "tags": ["kept"], "address": {"city": "Oslo", "country": "no"}}),
        )
        .await;
    let id = c.id();
    h.patch(&o, &format!("/api/v1/customers/{id}"), json!({"notes": "before restart"})).await;
    let before = h.get(&o, &format!("/api/v1/customers/{id}")).await;
    h.app.store.close().await;

    let h2 = reopen(h.backend, &h.url).await;
    let after = h2.get(&o, &format!("/api/v1/customers/{id}")).await;
    assert_eq!(after.status, StatusCode::OK, "{:?}", after.body);
    assert_eq!(after.body, before.body);
    assert_eq!(after.body["version"], 2);
    assert_eq!(after.body["address"]["country"], "NO");
    // The restarted server signs in and writes as before.
    let l = h2.login(&owner_email, crate::harness::PASSWORD).await;
    assert_eq!(l.status, StatusCode::OK, "{:?}", l.body);
    let o2 = Client { token: l.body["access_token"].as_str().unwrap().to_string(), ..o.clone() };
    let p = h2.patch(&o2, &format!("/api/v1/customers/{id}"), json!({"notes": "after restart"})).await;
    assert_eq!(p.status, StatusCode::OK, "{:?}", p.body);
    assert_eq!(p.body["version"], 3);
    let v = h2.get(&o2, "/api/v1/audit/verify").await;
    assert_eq!(v.body["ok"], true, "the chain continues across the restart: {:?}", v.body);
    assert_eq!(v.body["entries"], 4);
    h2.app.store.close().await;
});

fn file_config(toml: &str) -> FileConfig {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rapport.toml");
    std::fs::write(&path, toml).unwrap();
    FileConfig::load(Some(&path)).expect("config file loads")
}

#[test]
fn database_url_precedence_is_explicit_then_file_then_default() {
    let none = FileConfig::default();
    let d = DbConfig::resolve(None, None, &none).unwrap();
    assert_eq!(d.data_dir, PathBuf::from("rapport-data"));
    assert_eq!(d.database, DatabaseUrl::Sqlite("sqlite://rapport-data/rapport.db".into()));

    let d = DbConfig::resolve(Some("/srv/crm".into()), None, &none).unwrap();
    assert_eq!(d.database, DatabaseUrl::Sqlite("sqlite:///srv/crm/rapport.db".into()), "the default follows data_dir");

    let file = file_config("data_dir = \"/from/file\"\ndatabase_url = \"postgres://app@db.internal/crm\"\n");
    let d = DbConfig::resolve(None, None, &file).unwrap();
    assert_eq!(d.data_dir, PathBuf::from("/from/file"));
    assert_eq!(d.database, DatabaseUrl::Postgres("postgres://app@db.internal/crm".into()));

    let d = DbConfig::resolve(Some("/flag".into()), Some("sqlite:///flag/other.db".into()), &file).unwrap();
    assert_eq!(d.data_dir, PathBuf::from("/flag"));
    assert_eq!(d.database, DatabaseUrl::Sqlite("sqlite:///flag/other.db".into()), "explicit beats the file");

    let d = DbConfig::resolve(None, Some("postgresql://u@h/x".into()), &file).unwrap();
    assert_eq!(d.database, DatabaseUrl::Postgres("postgresql://u@h/x".into()));

    let only_dir = file_config("data_dir = \"/file/dir\"\n");
    let d = DbConfig::resolve(None, None, &only_dir).unwrap();
    assert_eq!(d.database, DatabaseUrl::Sqlite("sqlite:///file/dir/rapport.db".into()));
    let d = DbConfig::resolve(Some("/flag/dir".into()), None, &only_dir).unwrap();
    assert_eq!(d.database, DatabaseUrl::Sqlite("sqlite:///flag/dir/rapport.db".into()));
}

#[test]
fn an_unsupported_database_url_is_refused_naming_both_choices() {
    for url in ["mysql://root:hunter2@db/crm", "mariadb://db/crm", "db.sqlite"] {
        let e = DbConfig::resolve(None, Some(url.into()), &FileConfig::default()).unwrap_err().to_string();
        assert!(e.contains("sqlite") && e.contains("postgres"), "{e}");
        assert!(!e.contains("hunter2"), "the password is not repeated: {e}");
    }
    let file = file_config("database_url = \"mysql://db/crm\"\n");
    let e = DbConfig::resolve(None, None, &file).unwrap_err().to_string();
    assert!(e.contains("sqlite") && e.contains("postgres"), "{e}");
}

#[test]
fn a_config_file_with_an_unknown_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "databse_url = \"sqlite://x.db\"\n").unwrap();
    let e = FileConfig::load(Some(&path)).unwrap_err();
    assert!(format!("{e:#}").contains("databse_url"), "{e:#}");
    assert!(FileConfig::load(Some(&dir.path().join("missing.toml"))).is_err());
}

#[tokio::test]
async fn commands_refuse_a_mysql_url_before_touching_anything() {
    let dir = tempfile::tempdir().unwrap();
    let e = run_db("mysql://root@localhost/crm", dir.path(), &["migrate"]).await.unwrap_err();
    assert!(e.contains("sqlite") && e.contains("postgres"), "{e}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing written to the data dir");

    let cfg = dir.path().join("rapport.toml");
    std::fs::write(&cfg, "database_url = \"mysql://db/crm\"\n").unwrap();
    let e = run(&["--config", cfg.to_str().unwrap(), "audit", "verify", "--data-dir", dir.path().to_str().unwrap()])
        .await
        .unwrap_err();
    assert!(e.contains("sqlite") && e.contains("postgres"), "{e}");
}
