//! Engagement and topic figures, and rebuilding metrics from their source rows.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use rapport_core::audit::now;
use rapport_core::role::{Permission, Scope};
use rapport_store::stats::ENGAGEMENT_CHANGES;
use rapport_store::MetricsRow;
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::{App, AppError, AppResult, Principal};

/// Counts per topic in one period.
#[derive(Debug, Clone, Serialize)]
pub struct TopicPeriod {
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
    pub topics: Vec<(String, i64)>,
}

/// A customer among the most engaged of a window.
#[derive(Debug, Clone)]
pub struct Engaged {
    pub customer: rapport_store::CustomerRow,
    pub conversations: i64,
    pub interactions: i64,
}

/// What `metrics rebuild` found and corrected for one tenant.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Drift {
    pub customers_checked: usize,
    pub customers_corrected: usize,
}

fn tenant_wide(p: &Principal) -> AppResult<()> {
    p.require(Permission::CustomersRead, "read analytics")?;
    if p.scope() != Scope::Tenant {
        return Err(AppError::Forbidden("read tenant-wide analytics"));
    }
    Ok(())
}

impl App {
    /// Topic counts per period (`period` days long) over `[from, to)`, at most 26 periods.
    pub async fn topic_trends(
        &self,
        p: &Principal,
        from: OffsetDateTime,
        to: OffsetDateTime,
        period: Duration,
        limit: u32,
    ) -> AppResult<Vec<TopicPeriod>> {
        tenant_wide(p)?;
        if to <= from || period <= Duration::ZERO || (to - from) / period > 26.0 {
            return Err(AppError::invalid(
                "period",
                "invalid_value",
                "from must precede to, with at most 26 periods between",
            ));
        }
        let mut tx = self.store.read(p.tenant_id).await?;
        let mut out = Vec::new();
        let mut start = from;
        while start < to {
            let end = (start + period).min(to);
            out.push(TopicPeriod {
                from: start,
                to: end,
                topics: tx.topic_counts(start, end, limit.clamp(1, 100)).await?,
            });
            start = end;
        }
        Ok(out)
    }

    /// The most engaged customers of the last `window` (whole UTC days): by interactions,
    /// then conversations.
    pub async fn top_engaged(&self, p: &Principal, window: Duration, limit: u32) -> AppResult<Vec<Engaged>> {
        tenant_wide(p)?;
        // Counted by whole UTC days: today and the days that reach back over the window.
        let to = now();
        let day = |t: time::OffsetDateTime| t.unix_timestamp().div_euclid(86_400);
        // Each statement may see its own snapshot (`read_each`): the version is read first
        // (below), and a customer deleted before the rows are read is left out.
        let mut tx = self.store.read_each(p.tenant_id).await?;
        let key = EngagementKey {
            tenant: p.tenant_id,
            from_day: day(to - window),
            to_day: day(to),
            limit: limit.clamp(1, 100),
        };
        // The version first: a change committed after it makes the answer computed below
        // newer than its version, never older, so a later reader recomputes at worst.
        let version = tx.counter(ENGAGEMENT_CHANGES).await?;
        let top = match self.engagement.get(&key, version) {
            Some(top) => top,
            None => {
                // A missing answer is computed once for every request that missed it at
                // the same version or an older one: they join one flight, which computes
                // in a read of its own opened after all of them read their versions (after
                // a burst of chats, every dashboard polling the window would otherwise sum
                // the same rows beside the others). A request with a newer version starts
                // a flight of its own. Nobody holds a connection while it waits, and the
                // names are read afresh after it, so they are at least as new as the answer.
                drop(tx);
                let flight = self.engagement.flight(key, version);
                let mut computed_here = false;
                let answer = flight
                    .answer
                    .get_or_try_init(|| async {
                        computed_here = true;
                        let mut tx = self.store.read_each(p.tenant_id).await?;
                        let at = tx.counter(ENGAGEMENT_CHANGES).await?;
                        let top = Arc::new(tx.top_engaged(key.from_day, key.to_day, key.limit).await?);
                        self.engagement.put(key, at, top.clone());
                        AppResult::Ok(top)
                    })
                    .await
                    .cloned();
                self.engagement.landed(key, &flight, computed_here && answer.is_ok());
                let top = answer?;
                tx = self.store.read_each(p.tenant_id).await?;
                top
            }
        };
        let ids: Vec<uuid::Uuid> = top.iter().map(|(id, _, _)| *id).collect();
        let mut rows: std::collections::HashMap<uuid::Uuid, rapport_store::CustomerRow> =
            tx.get_customers(&ids).await?.into_iter().map(|c| (c.id, c)).collect();
        Ok(top
            .iter()
            .filter_map(|&(id, conversations, interactions)| {
                rows.remove(&id).map(|customer| Engaged { customer, conversations, interactions })
            })
            .collect())
    }

    /// How "top engaged" was answered since this server started (`/metrics`).
    pub fn engagement_counts(&self) -> EngagementCounts {
        self.engagement.counts()
    }

    /// Recomputes every customer's metrics from its conversations and reports how many were
    /// wrong. Metrics are kept in step with every change, so a healthy database shows none.
    pub async fn rebuild_metrics(&self, tenant: Uuid) -> AppResult<Drift> {
        let mut tx = self.store.begin(tenant).await?;
        let mut drift = Drift::default();
        for id in tx.customers_with_metrics().await? {
            let before: Option<MetricsRow> = tx.get_metrics(id).await?;
            let after = tx.refresh_metrics(id).await?;
            drift.customers_checked += 1;
            let unchanged = match &before {
                Some(b) => *b == after,
                None => after.total_conversations == 0,
            };
            if !unchanged {
                drift.customers_corrected += 1;
            }
        }
        tx.commit().await?;
        Ok(drift)
    }
}

/// Which "top engaged" answer: a tenant, a window of whole UTC days and a length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct EngagementKey {
    tenant: Uuid,
    from_day: i64,
    to_day: i64,
    limit: u32,
}

type TopEngaged = Arc<Vec<(Uuid, i64, i64)>>;

/// The last "top engaged" answers, each with the tenant's engagement version it was
/// computed at (the `engagement_changes` counter, which every transaction that rewrites
/// engagement rows moves): an answer is served again only while that version holds, so it
/// is exact, on every node reading the same database. Summing a week of a large tenant's
/// engagement rows takes milliseconds; dashboards ask for the same window again and again.
#[derive(Default)]
pub(crate) struct EngagementCache {
    answers: std::sync::Mutex<HashMap<EngagementKey, (i64, TopEngaged)>>,
    /// The answer being computed for each key, if any.
    flights: std::sync::Mutex<HashMap<EngagementKey, Arc<Flight>>>,
    /// Answers served from those kept (or computed by another request), and computed.
    kept: AtomicU64,
    computed: AtomicU64,
}

/// One computation of an answer, shared by the requests that join it.
#[derive(Default)]
pub(crate) struct Flight {
    /// The newest version among the requests that may join: the computation reads the
    /// version again once it starts, so its answer counts every change theirs do.
    version: i64,
    answer: tokio::sync::OnceCell<TopEngaged>,
}

/// How "top engaged" was answered since the server started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngagementCounts {
    /// From an answer kept (computed at the tenant's current engagement version or later).
    pub kept: u64,
    /// Computed from the engagement rows.
    pub computed: u64,
}

impl EngagementCache {
    /// Answers kept at most; past that the cache starts afresh (a new day changes every key).
    const CAPACITY: usize = 1024;

    /// The answer kept for `key` if it was computed at exactly `version`: a request's names
    /// are read in the same read as its version (on PostgreSQL one snapshot), so an answer
    /// of a newer version could name a customer that read does not hold yet.
    fn get(&self, key: &EngagementKey, version: i64) -> Option<TopEngaged> {
        let answers = self.answers.lock().ok()?;
        let top = answers.get(key).filter(|(v, _)| *v == version).map(|(_, top)| top.clone());
        if top.is_some() {
            self.kept.fetch_add(1, Relaxed);
        }
        top
    }

    /// The flight a request that read `version` joins: the one under way for `key` if it
    /// was started at that version or a newer one (its answer is then new enough), else a
    /// new one (which later requests of older versions join).
    fn flight(&self, key: EngagementKey, version: i64) -> Arc<Flight> {
        let Ok(mut flights) = self.flights.lock() else {
            // Poisoned: this request computes on its own, as without flights.
            return Arc::new(Flight { version, ..Flight::default() });
        };
        if let Some(f) = flights.get(&key).filter(|f| f.version >= version) {
            return f.clone();
        }
        // Flights whose requests are all gone (cancelled, or done before landing).
        if flights.len() >= Self::CAPACITY {
            flights.retain(|_, f| Arc::strong_count(f) > 1);
        }
        let f = Arc::new(Flight { version, ..Flight::default() });
        flights.insert(key, f.clone());
        f
    }

    /// A request is done with `flight`: once it has its answer the flight is no longer
    /// needed (a request arriving later finds the answer kept). Counts the answer as kept
    /// unless this request computed it.
    fn landed(&self, key: EngagementKey, flight: &Arc<Flight>, computed_here: bool) {
        if !computed_here && flight.answer.initialized() {
            self.kept.fetch_add(1, Relaxed);
        }
        if let Ok(mut flights) = self.flights.lock() {
            if flight.answer.initialized() && flights.get(&key).is_some_and(|f| Arc::ptr_eq(f, flight)) {
                flights.remove(&key);
            }
        }
    }

    pub(crate) fn counts(&self) -> EngagementCounts {
        EngagementCounts { kept: self.kept.load(Relaxed), computed: self.computed.load(Relaxed) }
    }

    fn put(&self, key: EngagementKey, version: i64, top: TopEngaged) {
        self.computed.fetch_add(1, Relaxed);
        if let Ok(mut answers) = self.answers.lock() {
            if answers.len() >= Self::CAPACITY && !answers.contains_key(&key) {
                answers.clear();
            }
            // An answer computed at an older version than the one kept (a slow request)
            // does not replace it.
            if answers.get(&key).is_none_or(|(kept, _)| *kept <= version) {
                answers.insert(key, (version, top));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> EngagementKey {
        EngagementKey { tenant: Uuid::nil(), from_day: 1, to_day: 7, limit: 10 }
    }

    #[test]
    fn an_answer_serves_its_version_only_and_an_older_one_never_replaces_it() {
        let c = EngagementCache::default();
        c.put(key(), 5, Arc::new(vec![(Uuid::nil(), 1, 2)]));
        assert!(c.get(&key(), 5).is_some());
        assert!(c.get(&key(), 4).is_none(), "a request's names are read at its own version");
        assert!(c.get(&key(), 6).is_none());
        c.put(key(), 3, Arc::new(Vec::new()));
        assert_eq!(c.get(&key(), 5).map(|t| t.len()), Some(1), "the slower request's older answer");
        assert_eq!(c.counts(), EngagementCounts { kept: 2, computed: 2 });
    }

    #[test]
    fn requests_join_a_flight_of_their_version_or_a_newer_one() {
        let c = EngagementCache::default();
        let first = c.flight(key(), 5);
        assert!(Arc::ptr_eq(&first, &c.flight(key(), 5)));
        assert!(Arc::ptr_eq(&first, &c.flight(key(), 3)), "an older version joins");
        let newer = c.flight(key(), 6);
        assert!(!Arc::ptr_eq(&first, &newer), "a newer version may count changes the flight does not");
        assert!(Arc::ptr_eq(&newer, &c.flight(key(), 5)), "the newest flight serves the older versions too");
        // Landed with its answer, a flight is forgotten; one without an answer (its computation
        // failed) stays for the next request to try.
        c.landed(key(), &newer, false);
        assert!(Arc::ptr_eq(&newer, &c.flight(key(), 6)));
        newer.answer.set(Arc::new(Vec::new())).expect("empty");
        c.landed(key(), &newer, true);
        assert!(!Arc::ptr_eq(&newer, &c.flight(key(), 6)));
    }
}
