//! Connecting to the store, and the server's life: bootstrap, serve, shut down gracefully.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use base64::Engine;
use rand::RngCore;
use rapport_app::{App, AppSettings};
use rapport_store::Store;
use rapport_store_postgres::PgStore;
use rapport_store_sqlite::SqliteStore;
use secrecy::SecretString;

use crate::config::{redact, DatabaseUrl, DbConfig};

/// Opens the configured database and migrates it.
pub async fn connect(db: &DbConfig) -> anyhow::Result<Arc<dyn Store>> {
    connect_with_cache(db, rapport_store_sqlite::SERVER_CACHE_MIB).await
}

/// The same with `sqlite_cache_mib` of page cache per SQLite connection.
pub async fn connect_with_cache(db: &DbConfig, sqlite_cache_mib: u32) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match &db.database {
        DatabaseUrl::Sqlite(url) => {
            std::fs::create_dir_all(&db.data_dir)
                .with_context(|| format!("creating data directory {}", db.data_dir.display()))?;
            let readers = std::thread::available_parallelism().map(|n| n.get() as u32 * 2).unwrap_or(4);
            Arc::new(
                SqliteStore::connect_with_cache(url, readers, sqlite_cache_mib)
                    .await
                    .with_context(|| format!("opening {url}"))?,
            )
        }
        DatabaseUrl::Postgres(url) => {
            Arc::new(PgStore::connect(url, 16).await.with_context(|| format!("connecting to {}", redact(url)))?)
        }
    })
}

/// The token-signing key: configured, or made once and kept in the data directory.
pub fn jwt_secret(configured: Option<SecretString>, data_dir: &Path) -> anyhow::Result<SecretString> {
    if let Some(s) = configured {
        return Ok(s);
    }
    let path = data_dir.join("jwt-secret");
    if let Ok(s) = std::fs::read_to_string(&path) {
        return Ok(SecretString::from(s.trim().to_string()));
    }
    std::fs::create_dir_all(data_dir)?;
    let mut buf = [0u8; 48];
    rand::thread_rng().fill_bytes(&mut buf);
    let s = base64::engine::general_purpose::STANDARD_NO_PAD.encode(buf);
    std::fs::write(&path, &s).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(SecretString::from(s))
}

pub fn app(store: Arc<dyn Store>, secret: SecretString) -> App {
    App::new(store, AppSettings::new(secret))
}

/// Serves until ctrl-c or SIGTERM, then finishes the requests in flight.
pub async fn serve(app: App, listen: &str, out: &mut (dyn std::io::Write + Send)) -> anyhow::Result<()> {
    if let Some(b) = app.bootstrap().await? {
        // Printed once, on the first start only.
        writeln!(out, "Rapport created its first tenant \"{}\" ({}).", b.tenant.name, b.tenant.id)?;
        writeln!(out, "Sign in as {} with the one-time password: {}", b.owner_email, b.owner_password)?;
        writeln!(out, "Change it with PATCH /api/v1/users/{{id}} {{\"password\": …}}.")?;
    }
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, backend = app.store.backend().as_str(), "Rapport is listening");
    writeln!(out, "Rapport is listening on http://{addr}")?;
    let store = app.store.clone();
    let maintenance = tokio::spawn(keep_statistics(store.clone()));
    let router = rapport_http::router(rapport_http::AppState::new(app));
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    maintenance.abort();
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// Refreshes the planner's statistics every few minutes, so plans stay right while a
/// database grows from empty to millions of rows under a running server.
async fn keep_statistics(store: std::sync::Arc<dyn Store>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(300));
    every.tick().await;
    loop {
        every.tick().await;
        if let Err(e) = store.optimize().await {
            tracing::warn!(error = %e, "refreshing planner statistics failed");
        }
    }
}
