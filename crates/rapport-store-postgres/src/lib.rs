//! Rapport's store on PostgreSQL, with tenant isolation enforced by row-level security.
//!
//! Every transaction switches to the `rapport_app` role, which owns nothing and cannot
//! bypass row-level security, and sets `rapport.tenant_id` for its own duration; the
//! policies of every tenant table compare against it. The SQL itself is shared with
//! SQLite (`rapport-store/sql`).
#![forbid(unsafe_code)]

mod dialect;
#[path = "../../rapport-store/sql/mod.rs"]
mod sql;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rapport_store::row_cache::RowCache;
use rapport_store::{Backend, Store, StoreError, StoreResult, Tx};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::ConnectOptions;
use uuid::Uuid;

use sql::{map_err, SqlTx};

/// The migrations, embedded in the binary. They run as the connecting (owner) role.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct PgStore {
    pool: PgPool,
    rows: Arc<RowCache>,
}

impl PgStore {
    /// Connects to `url` and brings the schema up to date.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Self> {
        // A slow statement is logged at debug, not warn: a statement of a thousand rows
        // would print all its text (the request's own log line has its time).
        let opts = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("bad PostgreSQL URL: {e}")))?
            .log_slow_statements(log::LevelFilter::Debug, Duration::from_secs(1));
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts)
            .await
            .map_err(map_err)?;
        MIGRATOR.run(&pool).await.map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
        let store = Self { pool, rows: Default::default() };
        sql::run_pending_rebuilds(&store, &store.pool).await?;
        Ok(store)
    }

    /// The owner's pool, for tests that must reach past the application.
    pub fn raw_pool(&self) -> &PgPool {
        &self.pool
    }

    async fn open(&self, tenant: Uuid, read_only: bool) -> StoreResult<Box<dyn Tx>> {
        // A read sees one snapshot, as a SQLite reader does: a list reads its ids and versions,
        // then the rows it has not decoded, and the two must agree (under READ COMMITTED a
        // customer deleted in between would have come back on a list of live ones).
        let begin = if read_only { "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY" } else { "BEGIN" };
        let mut tx = self.pool.begin_with(begin).await.map_err(map_err)?;
        sqlx::query("SELECT set_config('role', 'rapport_app', true), set_config('rapport.tenant_id', $1, true)")
            .bind(tenant.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        Ok(Box::new(if read_only { SqlTx::read_only(tx, tenant, self.rows.clone()) } else { SqlTx::new(tx, tenant) }))
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn begin(&self, tenant: Uuid) -> StoreResult<Box<dyn Tx>> {
        self.open(tenant, false).await
    }

    async fn read(&self, tenant: Uuid) -> StoreResult<Box<dyn Tx>> {
        self.open(tenant, true).await
    }

    async fn locate_login(&self, email_normalized: &str) -> StoreResult<Option<Uuid>> {
        sqlx::query_scalar("SELECT rapport_locate_login($1)")
            .bind(email_normalized)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn tenant_ids(&self) -> StoreResult<Vec<Uuid>> {
        sqlx::query_scalar("SELECT * FROM rapport_tenant_ids()").fetch_all(&self.pool).await.map_err(map_err)
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(map_err)?;
        Ok(())
    }

    async fn analyze(&self) -> StoreResult<()> {
        // As the owner of the tables; statistics are not subject to row-level security.
        // VACUUM too: a bulk load leaves a dead row per customer whose figures it filled in
        // (960,000 at full size), and index-only scans need the visibility map it sets; a
        // run measured right after a load was a third slower at ingest without it. Sent as a
        // simple query: VACUUM runs outside any transaction.
        sqlx::raw_sql("VACUUM (ANALYZE)").execute(&self.pool).await.map_err(map_err)?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
