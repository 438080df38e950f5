//! What authenticating a request reads (the user of an access token, or an API key), kept
//! for a moment so that a burst of requests by one caller reads it once.
//!
//! A change this server makes to a user or an API key (deactivation, a new role, a
//! revocation) acts on the next request: the change forgets what was kept once it has
//! committed, and a row read before the change and kept after it is refused by its
//! generation. A change made elsewhere (another server on the same PostgreSQL database, the
//! command line on the same SQLite file) acts within [`FRESH_FOR`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rapport_store::StoreResult;
use uuid::Uuid;

/// How long a row read is used without reading it again.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// Rows kept at most; past it the oldest reads are dropped first (all of them, as a
/// tenant's callers are a few dozen and a full map is a sign of churn, not of reuse).
const MAX_ENTRIES: usize = 10_000;

struct Entry<T> {
    row: T,
    generation: u64,
    read_at: Instant,
}

/// Rows of one kind (users or API keys) by tenant and id.
pub struct AuthCache<T> {
    /// Moves on at every change of a row of this kind by this server.
    generation: AtomicU64,
    entries: Mutex<HashMap<(Uuid, Uuid), Entry<T>>>,
    fresh_for: Duration,
}

impl<T> Default for AuthCache<T> {
    fn default() -> Self {
        Self::fresh_for(FRESH_FOR)
    }
}

impl<T> AuthCache<T> {
    fn fresh_for(fresh_for: Duration) -> Self {
        Self { generation: AtomicU64::new(0), entries: Mutex::new(HashMap::new()), fresh_for }
    }
}

impl<T: Clone> AuthCache<T> {
    /// The row `(tenant, id)`: kept if it was read less than [`FRESH_FOR`] ago and nothing of
    /// its kind changed since, else read by `read` (a missing row is not kept).
    pub async fn get<F, Fut>(&self, tenant: Uuid, id: Uuid, read: F) -> StoreResult<Option<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = StoreResult<Option<T>>>,
    {
        // Taken before the read: a change committed while it runs leaves this read unkept.
        let generation = self.generation.load(Ordering::Acquire);
        if let Some(row) = self.fresh(tenant, id, generation) {
            return Ok(Some(row));
        }
        let row = read().await?;
        if let Some(r) = &row {
            let mut entries = self.lock();
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert((tenant, id), Entry { row: r.clone(), generation, read_at: Instant::now() });
        }
        Ok(row)
    }

    fn fresh(&self, tenant: Uuid, id: Uuid, generation: u64) -> Option<T> {
        let entries = self.lock();
        let e = entries.get(&(tenant, id))?;
        (e.generation == generation && e.read_at.elapsed() < self.fresh_for).then(|| e.row.clone())
    }

    /// The row `(tenant, id)` changed in what authentication does not read (a key's last
    /// use): it is read afresh next time, the others stay kept.
    pub fn forget(&self, tenant: Uuid, id: Uuid) {
        self.lock().remove(&(tenant, id));
    }

    /// A row of this kind changed (call once its transaction has committed): nothing kept
    /// before is used again.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Uuid, Uuid), Entry<T>>> {
        // A panic while the map was held leaves it whole (every change is one call).
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(
        n: &std::cell::Cell<u32>,
        v: Option<&'static str>,
    ) -> impl Future<Output = StoreResult<Option<&'static str>>> {
        n.set(n.get() + 1);
        std::future::ready(Ok(v))
    }

    #[tokio::test]
    async fn keeps_a_row_until_its_kind_changes() {
        let c = AuthCache::default();
        let (t, id) = (Uuid::now_v7(), Uuid::now_v7());
        let n = std::cell::Cell::new(0);
        assert_eq!(c.get(t, id, || read(&n, Some("a"))).await.unwrap(), Some("a"));
        assert_eq!(c.get(t, id, || read(&n, Some("b"))).await.unwrap(), Some("a"));
        assert_eq!(n.get(), 1);
        c.changed();
        assert_eq!(c.get(t, id, || read(&n, Some("b"))).await.unwrap(), Some("b"));
        assert_eq!(n.get(), 2);
        // Another tenant's row of the same id is another row.
        assert_eq!(c.get(Uuid::now_v7(), id, || read(&n, Some("c"))).await.unwrap(), Some("c"));
        // Forgetting one row reads it again and keeps the others.
        let other = Uuid::now_v7();
        assert_eq!(c.get(t, other, || read(&n, Some("d"))).await.unwrap(), Some("d"));
        c.forget(t, id);
        assert_eq!(c.get(t, id, || read(&n, Some("e"))).await.unwrap(), Some("e"));
        assert_eq!(c.get(t, other, || read(&n, Some("f"))).await.unwrap(), Some("d"));
    }

    #[tokio::test]
    async fn a_row_is_read_again_once_it_is_no_longer_fresh() {
        // As a change made by another server is seen.
        let c = AuthCache::fresh_for(Duration::ZERO);
        let (t, id) = (Uuid::now_v7(), Uuid::now_v7());
        let n = std::cell::Cell::new(0);
        assert_eq!(c.get(t, id, || read(&n, Some("a"))).await.unwrap(), Some("a"));
        assert_eq!(c.get(t, id, || read(&n, Some("b"))).await.unwrap(), Some("b"));
        assert_eq!(n.get(), 2);
    }

    #[tokio::test]
    async fn a_missing_row_is_read_again() {
        let c: AuthCache<&str> = AuthCache::default();
        let (t, id) = (Uuid::now_v7(), Uuid::now_v7());
        let n = std::cell::Cell::new(0);
        assert_eq!(c.get(t, id, || read(&n, None)).await.unwrap(), None);
        assert_eq!(c.get(t, id, || read(&n, Some("a"))).await.unwrap(), Some("a"));
        assert_eq!(n.get(), 2);
    }

    #[tokio::test]
    async fn a_read_overtaken_by_a_change_is_not_kept() {
        let c = AuthCache::default();
        let (t, id) = (Uuid::now_v7(), Uuid::now_v7());
        // The change commits while the read is under way: what it read is the old row.
        let old = c.get(t, id, || {
            c.changed();
            std::future::ready(Ok(Some("old")))
        });
        assert_eq!(old.await.unwrap(), Some("old"));
        let n = std::cell::Cell::new(0);
        assert_eq!(c.get(t, id, || read(&n, Some("new"))).await.unwrap(), Some("new"));
    }
}
