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

/// The token-signing key: configured, or made once and kept in the data directory. Servers
/// starting together on one directory all use the one that was kept first: each writes its
/// own to a file of its own and links it into place, which only one link can do.
pub fn jwt_secret(configured: Option<SecretString>, data_dir: &Path) -> anyhow::Result<SecretString> {
    if let Some(s) = configured {
        return Ok(s);
    }
    let path = data_dir.join("jwt-secret");
    let kept = || -> anyhow::Result<SecretString> {
        let s = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        anyhow::ensure!(!s.trim().is_empty(), "{} is empty: remove it and a new key is made", path.display());
        Ok(SecretString::from(s.trim().to_string()))
    };
    if path.exists() {
        return kept();
    }
    std::fs::create_dir_all(data_dir)?;
    let mut buf = [0u8; 48];
    rand::thread_rng().fill_bytes(&mut buf);
    let s = base64::engine::general_purpose::STANDARD_NO_PAD.encode(buf);
    let draft = data_dir.join(format!("jwt-secret.{:016x}", rand::thread_rng().next_u64()));
    std::fs::write(&draft, &s).with_context(|| format!("writing {}", draft.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&draft, std::fs::Permissions::from_mode(0o600))?;
    }
    let linked = std::fs::hard_link(&draft, &path);
    let _ = std::fs::remove_file(&draft);
    match linked {
        Ok(()) => Ok(SecretString::from(s)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => kept(),
        Err(e) => Err(e).with_context(|| format!("writing {}", path.display())),
    }
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

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    #[test]
    fn servers_starting_together_keep_one_signing_key() {
        let dir = tempfile::tempdir().unwrap();
        let keys: Vec<String> = std::thread::scope(|s| {
            let started: Vec<_> = (0..8)
                .map(|_| s.spawn(|| super::jwt_secret(None, dir.path()).unwrap().expose_secret().to_string()))
                .collect();
            started.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert!(keys.iter().all(|k| k == &keys[0] && k.len() == 64), "{keys:?}");
        let kept = std::fs::read_to_string(dir.path().join("jwt-secret")).unwrap();
        assert_eq!(kept, keys[0]);
        assert_eq!(super::jwt_secret(None, dir.path()).unwrap().expose_secret(), keys[0], "a restart keeps it");
        let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(files.len(), 1, "no drafts left behind");
    }
}
