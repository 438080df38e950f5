//! Engagement and topic figures, and rebuilding metrics from their source rows.

use rapport_core::audit::now;
use rapport_core::role::{Permission, Scope};
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
        let mut tx = self.store.read(p.tenant_id).await?;
        let top = tx.top_engaged(day(to - window), day(to), limit.clamp(1, 100)).await?;
        let ids: Vec<uuid::Uuid> = top.iter().map(|(id, _, _)| *id).collect();
        let mut rows: std::collections::HashMap<uuid::Uuid, rapport_store::CustomerRow> =
            tx.get_customers(&ids).await?.into_iter().map(|c| (c.id, c)).collect();
        Ok(top
            .into_iter()
            .filter_map(|(id, conversations, interactions)| {
                rows.remove(&id).map(|customer| Engaged { customer, conversations, interactions })
            })
            .collect())
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
