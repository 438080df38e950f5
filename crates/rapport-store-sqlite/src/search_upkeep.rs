//! Keeps the FTS5 search index merged while a server writes.
//!
//! FTS5 writes each transaction's new entries as a small segment and merges four segments
//! of a level into one of the next as they pile up, so an index written for a while holds a
//! dozen segments, and every look-up seeks in each: at a million customers searches ran a
//! third slower on a dozen than on one (docs/PERFORMANCE.md). A bulk load ends with the
//! index merged at once (`Store::analyze`); a running server merges it here, a little at
//! a time (`MERGE_STEP_PAGES` pages a step, each step a statement of its own on the writer),
//! and only while nobody writes: a step waits until the writer has been idle for `QUIET`, so
//! a write waits at most for the one step under way. It starts once `AFTER_WRITES` write
//! transactions have run since the last merge and the index holds more than one segment,
//! and at most every `AT_MOST_EVERY`: merging rewrites the whole index (about 50 MB at a
//! million customers).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Weak;
use std::time::{Duration, Instant};

use rapport_store::StoreResult;
use sqlx::SqlitePool;

use crate::sql::map_err;

/// The FTS5 index of the customers' search terms.
pub const INDEX: &str = "customer_search_terms";
/// How often the task looks whether a merge is due.
const CHECK_EVERY: Duration = Duration::from_secs(30);
/// Write transactions since the last merge before another one starts.
const AFTER_WRITES: u64 = 100;
/// The least time between the starts of two merges.
const AT_MOST_EVERY: Duration = Duration::from_secs(3600);
/// How long the writer must have been idle before a step.
const QUIET: Duration = Duration::from_secs(1);
/// Pages a step writes (at most tens of milliseconds of the writer).
const MERGE_STEP_PAGES: i64 = 64;

/// What the writer has done: write transactions begun, and when the last one began.
pub struct WriteActivity {
    started: Instant,
    writes: AtomicU64,
    last_write_ms: AtomicU64,
}

impl Default for WriteActivity {
    fn default() -> Self {
        Self { started: Instant::now(), writes: AtomicU64::new(0), last_write_ms: AtomicU64::new(0) }
    }
}

impl WriteActivity {
    /// A write transaction begins.
    pub fn note_write(&self) {
        self.note_write_at(Instant::now());
    }

    fn note_write_at(&self, at: Instant) {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.last_write_ms.store(at.saturating_duration_since(self.started).as_millis() as u64, Ordering::Relaxed);
    }

    fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// How long the writer has been idle at `now`: since the last write transaction began
    /// (since the store opened if none).
    fn idle_at(&self, now: Instant) -> Duration {
        let last = Duration::from_millis(self.last_write_ms.load(Ordering::Relaxed));
        now.saturating_duration_since(self.started).saturating_sub(last)
    }
}

/// How many segments the index holds (its `_idx` table has a row per segment and leaf range).
pub async fn segments(pool: &SqlitePool) -> StoreResult<i64> {
    sqlx::query_scalar(&format!("SELECT count(DISTINCT segid) FROM {INDEX}_idx")).fetch_one(pool).await.map_err(map_err)
}

/// One step of merging the index into one segment: `start` begins the merge (FTS5's
/// `'merge'` with a negative count), later steps continue it. Answers whether work is
/// left: FTS5 changes fewer than two rows when there was nothing to merge.
async fn merge_step(pool: &SqlitePool, start: bool) -> StoreResult<bool> {
    let mut conn = pool.acquire().await.map_err(map_err)?;
    let before: i64 = sqlx::query_scalar("SELECT total_changes()").fetch_one(&mut *conn).await.map_err(map_err)?;
    let pages = if start { -MERGE_STEP_PAGES } else { MERGE_STEP_PAGES };
    sqlx::query(&format!("INSERT INTO {INDEX} ({INDEX}, rank) VALUES ('merge', $1)"))
        .bind(pages)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    let after: i64 = sqlx::query_scalar("SELECT total_changes()").fetch_one(&mut *conn).await.map_err(map_err)?;
    Ok(after - before >= 2)
}

/// Merges the index into one segment, step by step. With `activity`, every statement on
/// the writer (the count of segments too) first waits until the writer has been idle for
/// `QUIET`; answers false if the store is gone or closed meanwhile.
pub async fn merge_all(pool: &SqlitePool, activity: Option<&Weak<WriteActivity>>) -> StoreResult<bool> {
    if !quiet(pool, activity).await {
        return Ok(false);
    }
    if segments(pool).await? <= 1 {
        return Ok(true);
    }
    let mut start = true;
    loop {
        if !quiet(pool, activity).await {
            return Ok(false);
        }
        if !merge_step(pool, start).await? {
            return Ok(true);
        }
        start = false;
    }
}

/// Waits until the writer has been idle for `QUIET` (at once without `activity`); false if
/// the store is gone or closed.
async fn quiet(pool: &SqlitePool, activity: Option<&Weak<WriteActivity>>) -> bool {
    loop {
        if pool.is_closed() {
            return false;
        }
        let Some(weak) = activity else { return true };
        match weak.upgrade() {
            None => return false,
            Some(a) if a.idle_at(Instant::now()) >= QUIET => return true,
            Some(_) => tokio::time::sleep(QUIET).await,
        }
    }
}

/// The server's task: see the module's documentation. It holds the activity weakly and ends
/// once the store is gone.
pub async fn keep_merged(writer: SqlitePool, activity: Weak<WriteActivity>) {
    let mut merged_at = 0;
    let mut last_start: Option<Instant> = None;
    loop {
        tokio::time::sleep(CHECK_EVERY).await;
        let Some(writes) = activity.upgrade().map(|a| a.writes()) else { return };
        if writer.is_closed() {
            return;
        }
        if writes.saturating_sub(merged_at) < AFTER_WRITES || last_start.is_some_and(|t| t.elapsed() < AT_MOST_EVERY) {
            continue;
        }
        last_start = Some(Instant::now());
        match merge_all(&writer, Some(&activity)).await {
            Ok(true) => {
                merged_at = writes;
                tracing::debug!(writes, "search index merged");
            }
            Ok(false) => return,
            Err(e) => tracing::warn!(error = %e, "merging the search index failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_is_idle_from_its_last_write() {
        let a = WriteActivity::default();
        let t0 = a.started;
        assert_eq!(a.idle_at(t0 + Duration::from_millis(30)), Duration::from_millis(30), "idle since opened");
        a.note_write_at(t0 + Duration::from_millis(100));
        assert_eq!(a.writes(), 1);
        assert_eq!(a.idle_at(t0 + Duration::from_millis(100)), Duration::ZERO);
        assert_eq!(a.idle_at(t0 + Duration::from_millis(1_350)), Duration::from_millis(1_250));
        // A clock read before the write counts no idle time, not a negative one.
        assert_eq!(a.idle_at(t0 + Duration::from_millis(50)), Duration::ZERO);
    }
}
