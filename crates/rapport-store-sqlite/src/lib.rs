//! Rapport's store on an embedded SQLite database: one writer connection, a pool of readers.
//!
//! The SQL itself is shared with PostgreSQL (`rapport-store/sql`); this crate supplies the
//! connection setup, the migrations and the few things SQLite does its own way.
#![forbid(unsafe_code)]

mod dialect;
mod search_upkeep;
#[path = "../../rapport-store/sql/mod.rs"]
mod sql;

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rapport_store::row_cache::RowCache;
use rapport_store::{ApiKeyRow, Backend, CustomerQuery, CustomerRow, Store, StoreError, StoreResult, Tx, UserRow};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::ConnectOptions;
use uuid::Uuid;

use sql::{map_err, SqlTx};

/// Analyzes only the tables that need it: those with an index never analyzed, or grown 25
/// times since they last were, in every table (0x10000), not only those this connection used.
/// A full ANALYZE of a 12 GB database held the writer for 38 s, at every start and every five
/// minutes.
const OPTIMIZE: &str = "PRAGMA optimize=0x10002";

/// The migrations, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// The connection that checkpoints the WAL (see `checkpoints`).
    checkpointer: SqlitePool,
    /// Set when the WAL has grown long enough for the writer to start it over.
    restart_wal: Arc<AtomicBool>,
    rows: Arc<RowCache>,
    /// Write transactions begun, for the merging of the search index (`search_upkeep`).
    activity: Arc<search_upkeep::WriteActivity>,
}

/// Page cache of the writer in a server, in MiB (each reader has a quarter). The pages are
/// in the operating system's cache anyway; at 200,000 customers 32 MiB against 16 made no
/// operation faster and the server 34 MiB larger (docs/PERFORMANCE.md).
pub const SERVER_CACHE_MIB: u32 = 16;

/// The size the WAL file is cut back to once it starts over.
const WAL_KEPT_BYTES: u64 = 64 << 20;
/// How long the writer waits for the readers of the moment before the WAL starts over.
const RESTART_WAIT: Duration = Duration::from_millis(50);
/// How often the writer is asked to start the WAL over at most.
const RESTART_EVERY: Duration = Duration::from_secs(2);
/// A restart checkpoint that held the writes this long (ms) is logged as a warning.
const RESTART_SLOW_MS: u64 = 1000;
/// How long a statement waits for a lock held by another connection.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the WAL is checkpointed.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// WAL pages beyond which the writer starts the WAL over itself (512 MiB of 4 KiB pages).
/// Each restart holds the writes for a few hundred milliseconds: at 16,384 pages it came
/// every two seconds under a steady chat feed and was the ingest's p99 (docs/PERFORMANCE.md).
const WAL_RESTART_PAGES: i64 = 131_072;

/// How many rows of a statement may wait between SQLite's thread and the task reading
/// them (sqlx's default is 50).
const ROW_BUFFER: usize = 1024;

/// The name of the checkpointer connection's thread (Linux keeps 15 bytes of a name).
const CHECKPOINTER_THREAD: &str = "wal-checkpoint";

/// Lowers the scheduling priority of this process's threads named `name` (Linux): the WAL
/// copy is background work, and on a machine of two cores it took CPU from the requests
/// that run beside it (the reads measured right after a burst of chats were slower while
/// their pages were copied). Elsewhere, or if it fails, the thread keeps its priority.
fn background_priority(name: &str) {
    #[cfg(target_os = "linux")]
    {
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return };
        for task in tasks.flatten() {
            let named = std::fs::read_to_string(task.path().join("comm")).is_ok_and(|c| c.trim_end() == name);
            let tid =
                task.file_name().to_str().and_then(|t| t.parse::<i32>().ok()).and_then(rustix::process::Pid::from_raw);
            if let (true, Some(tid)) = (named, tid) {
                // A thread's id names the thread alone to setpriority on Linux.
                if let Err(e) = rustix::process::setpriority_process(Some(tid), 10) {
                    tracing::debug!(error = %e, "the WAL copy keeps its priority");
                }
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = name;
}

/// Copies committed pages from the WAL into the database file, on a connection of its own,
/// until the store closes: a passive checkpoint never blocks the writer or the readers.
///
/// The writer starts the WAL over when it finds every page copied and no reader reading
/// from the WAL; under steady load it rarely finds both (it adds pages while the copy runs),
/// and the WAL would grow without end. So past `WAL_RESTART_PAGES` this asks the writer
/// (`restart`) to run a restart checkpoint before its next transaction
/// (`SqliteStore::restart_wal`): it copies what is left, waits briefly for the readers of
/// the moment, and the WAL starts over, cut back to `WAL_KEPT_BYTES`.
///
/// The task holds the store's flag weakly: once the store is gone (closed or only dropped)
/// it closes its connection and ends, instead of checkpointing a database nobody uses.
async fn checkpoints(pool: SqlitePool, restart: std::sync::Weak<AtomicBool>) {
    let mut every = tokio::time::interval(CHECKPOINT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut asked: Option<tokio::time::Instant> = None;
    loop {
        every.tick().await;
        let Some(restart) = restart.upgrade() else {
            pool.close().await;
            return;
        };
        if pool.is_closed() {
            return;
        }
        match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&pool).await {
            // At most every `RESTART_EVERY`: while a long read keeps the WAL, each try holds
            // the writes up to `RESTART_WAIT`.
            Ok((_, wal_pages, _))
                if wal_pages > WAL_RESTART_PAGES && asked.is_none_or(|at| at.elapsed() >= RESTART_EVERY) =>
            {
                asked = Some(tokio::time::Instant::now());
                restart.store(true, Ordering::Relaxed);
            }
            Ok(_) => {}
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
        }
    }
}

/// A pool of connections to the database file. A connection is not pinged before each
/// use (sqlx's default): it is in this process, and the ping was a round trip to its thread
/// on every transaction.
fn pool_options() -> SqlitePoolOptions {
    SqlitePoolOptions::new().test_before_acquire(false)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://path` or a plain path)
    /// and brings its schema up to date.
    pub async fn connect(url: &str, readers: u32) -> StoreResult<Self> {
        Self::connect_with_cache(url, readers, SERVER_CACHE_MIB).await
    }

    /// The same with a page cache of `cache_mib` for the writer and a quarter of it for each
    /// reader (`SERVER_CACHE_MIB` for a server; more for loading a large data set, whose
    /// index pages would otherwise be read again and again).
    pub async fn connect_with_cache(url: &str, readers: u32, cache_mib: u32) -> StoreResult<Self> {
        let base = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("bad SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Every commit is synced before it is acknowledged: with NORMAL the WAL was synced
            // only by the checkpoints, so a power cut could lose the last quarter second of
            // acknowledged writes. A group commit carries a batch of chats, so the sync is paid
            // once a batch (ingest about a tenth slower at 100,000 customers, within the noise at
            // full size: PERFORMANCE.md).
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("cache_size", format!("-{}", u64::from(cache_mib) * 1024))
            .pragma("temp_store", "memory")
            .pragma("journal_size_limit", WAL_KEPT_BYTES.to_string())
            // ANALYZE reads at most about this many rows per index: statistics in milliseconds
            // even for a million customers.
            .pragma("analysis_limit", "1000")
            // A statement's rows pass from SQLite's thread to the request through a channel;
            // with room for a search's candidates (300) its thread does not wait for the
            // request to take them a few at a time (search +9-17% at full size).
            .row_buffer_size(ROW_BUFFER)
            // A slow statement is logged at debug, not warn: a statement of a thousand rows
            // would print all its text (the request's own log line has its time).
            .log_slow_statements(log::LevelFilter::Debug, Duration::from_secs(1));
        // The writer never checkpoints: a commit that did (every 1,000 pages of WAL) copied
        // and synced them on the one writer's time. A connection of its own does, beside it.
        let writer = pool_options()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.clone().pragma("wal_autocheckpoint", "0"))
            .await
            .map_err(map_err)?;
        MIGRATOR.run(&writer).await.map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
        // Without statistics SQLite's planner reads a whole tenant through the primary key
        // rather than a two-column index (the customers merged into one, the matching keys of
        // a name); so statistics are brought up to date at every start and every few minutes
        // after (`optimize`).
        sqlx::query(OPTIMIZE).execute(&writer).await.map_err(map_err)?;
        // Each reader keeps a quarter of the writer's page cache: the pages they read are in
        // the operating system's cache anyway, and four full caches were most of what a
        // search raised the server's memory by (160 MiB at 200,000 customers).
        let reader_cache_kib = (u64::from(cache_mib) * 1024 / 4).max(1024);
        let reader = pool_options()
            .max_connections(readers.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.clone().read_only(true).pragma("cache_size", format!("-{reader_cache_kib}")))
            .await
            .map_err(map_err)?;
        // Lowered at every connection the pool makes (it replaces a connection past its
        // lifetime), once the connection's thread runs.
        let checkpointer = pool_options()
            .max_connections(1)
            .after_connect(|_, _| {
                Box::pin(async {
                    background_priority(CHECKPOINTER_THREAD);
                    Ok(())
                })
            })
            .connect_with(base.pragma("cache_size", "-1024").thread_name(|_| CHECKPOINTER_THREAD.to_string()))
            .await
            .map_err(map_err)?;
        let restart_wal = Arc::new(AtomicBool::new(false));
        tokio::spawn(checkpoints(checkpointer.clone(), Arc::downgrade(&restart_wal)));
        let activity = Arc::new(search_upkeep::WriteActivity::default());
        tokio::spawn(search_upkeep::keep_merged(writer.clone(), Arc::downgrade(&activity)));
        let store = Self { writer, reader, checkpointer, restart_wal, rows: Default::default(), activity };
        sql::run_pending_rebuilds(&store, &store.writer).await?;
        Ok(store)
    }

    /// A consistent online copy of the database into `dest` (`VACUUM INTO`).
    pub async fn backup(&self, dest: &str) -> StoreResult<()> {
        sqlx::query("VACUUM INTO $1").bind(dest).execute(&self.reader).await.map_err(map_err)?;
        Ok(())
    }

    /// Merges the search index into one segment now, a step at a time (what a server does
    /// on its own when its writer is idle; see `search_upkeep`).
    pub async fn merge_search_index(&self) -> StoreResult<()> {
        search_upkeep::merge_all(&self.writer, None).await.map(|_| ())
    }

    /// How many segments the search index holds, for tests and diagnosis.
    pub async fn search_segments(&self) -> StoreResult<i64> {
        search_upkeep::segments(&self.writer).await
    }

    /// The writer pool, for tests that must reach past the application.
    pub fn raw_pool(&self) -> &SqlitePool {
        &self.writer
    }

    /// The checkpointer's pool, for tests of its life.
    #[doc(hidden)]
    pub fn checkpointer_pool(&self) -> &SqlitePool {
        &self.checkpointer
    }
}

/// Copies what is left of the WAL into the database file and, once the readers of the
/// moment have finished, lets the next transaction start the WAL over. It waits for
/// them at most `RESTART_WAIT` (writes wait meanwhile: a long read, such as a duplicate
/// scan's, must not hold them up); if a reader is still at it, the checkpointer asks
/// again after `RESTART_EVERY`. Run in a task of its own (see `begin`).
async fn restart_wal(writer: SqlitePool) {
    let mut conn = match writer.acquire().await {
        Ok(c) => c,
        Err(e) => return tracing::warn!(error = %e, "restart checkpoint: no writer connection"),
    };
    let wait = format!("PRAGMA busy_timeout = {}", RESTART_WAIT.as_millis());
    if let Err(e) = sqlx::query(&wait).execute(&mut *conn).await {
        return tracing::warn!(error = %e, "restart checkpoint: busy timeout not set");
    }
    let started = std::time::Instant::now();
    let done: Result<(i64, i64, i64), _> = sqlx::query_as("PRAGMA wal_checkpoint(RESTART)").fetch_one(&mut *conn).await;
    let held_ms = started.elapsed().as_millis() as u64;
    let back = format!("PRAGMA busy_timeout = {}", BUSY_TIMEOUT.as_millis());
    if let Err(e) = sqlx::query(&back).execute(&mut *conn).await {
        // Not to be returned to the pool with the short timeout.
        tracing::warn!(error = %e, "restart checkpoint: busy timeout not restored; closing the connection");
        let _ = sqlx::Connection::close(conn.detach()).await;
        return;
    }
    // Not starting over is no reason to refuse the write that asked.
    match done {
        // Writes wait while it runs: one that held them a second is worth an operator's eye.
        Ok((busy, wal_pages, _)) if held_ms >= RESTART_SLOW_MS => {
            tracing::warn!(busy, wal_pages, held_ms, "restart checkpoint held the writes (busy 1: a reader kept it)")
        }
        Ok((busy, wal_pages, _)) => {
            tracing::debug!(busy, wal_pages, held_ms, "restart checkpoint (busy 1: a reader kept it)")
        }
        Err(e) => tracing::warn!(error = %e, "restart checkpoint failed"),
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn begin(&self, tenant: Uuid) -> StoreResult<Box<dyn Tx>> {
        // IMMEDIATE takes the write lock up front, so a transaction that reads before it
        // writes never fails to upgrade its lock.
        if self.restart_wal.swap(false, Ordering::Relaxed) {
            // In a task of its own, so that a request given up half-way cannot leave the
            // writer with the restart's short busy timeout.
            let writer = self.writer.clone();
            let _ = tokio::spawn(restart_wal(writer)).await;
        }
        self.activity.note_write();
        let tx = self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)?;
        Ok(Box::new(SqlTx::new(tx, tenant)))
    }

    async fn read(&self, tenant: Uuid) -> StoreResult<Box<dyn Tx>> {
        let tx = self.reader.begin().await.map_err(map_err)?;
        Ok(Box::new(SqlTx::read_only(tx, tenant, self.rows.clone())))
    }

    async fn read_each(&self, tenant: Uuid) -> StoreResult<Box<dyn Tx>> {
        let conn = self.reader.acquire().await.map_err(map_err)?;
        Ok(Box::new(SqlTx::read_each(conn, tenant, self.rows.clone())))
    }

    async fn locate_login(&self, email_normalized: &str) -> StoreResult<Option<Uuid>> {
        sqlx::query_scalar("SELECT tenant_id FROM user_logins WHERE email_normalized = $1")
            .bind(email_normalized)
            .fetch_optional(&self.reader)
            .await
            .map_err(map_err)
    }

    async fn tenant_ids(&self) -> StoreResult<Vec<Uuid>> {
        sqlx::query_scalar("SELECT tenant_id FROM tenants ORDER BY created_at, tenant_id")
            .fetch_all(&self.reader)
            .await
            .map_err(map_err)
    }

    async fn auth_user(&self, tenant: Uuid, id: Uuid) -> StoreResult<Option<UserRow>> {
        sql::user_by_id(&self.reader, tenant, id).await
    }

    async fn auth_api_key(&self, tenant: Uuid, id: Uuid) -> StoreResult<Option<ApiKeyRow>> {
        sql::api_key_by_id(&self.reader, tenant, id).await
    }

    async fn list_page(&self, tenant: Uuid, q: &CustomerQuery) -> StoreResult<Vec<Arc<CustomerRow>>> {
        let mut conn = self.reader.acquire().await.map_err(map_err)?;
        sql::list_once(&mut conn, tenant, q, &self.rows).await
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await.map_err(map_err)?;
        Ok(())
    }

    async fn optimize(&self) -> StoreResult<()> {
        sqlx::query(OPTIMIZE).execute(&self.writer).await.map_err(map_err)?;
        Ok(())
    }

    async fn analyze(&self) -> StoreResult<()> {
        sqlx::query("ANALYZE").execute(&self.writer).await.map_err(map_err)?;
        // A load leaves the FTS5 index in a dozen segments (FTS5 merges four of a level at a
        // time as it is written), and every look-up seeks in each: at a million customers
        // one segment took 3 s and searches ran 1.5 times as fast (PERFORMANCE.md).
        let index = search_upkeep::INDEX;
        sqlx::query(&format!("INSERT INTO {index} ({index}) VALUES ('optimize')"))
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn close(&self) {
        self.checkpointer.close().await;
        self.reader.close().await;
        self.writer.close().await;
    }
}
