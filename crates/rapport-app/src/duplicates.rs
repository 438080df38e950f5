//! The review queue (SPEC section 4): pairs that may be one person, below the certainty at
//! which Rapport links them by itself, for a person to merge or dismiss.

use rapport_core::audit::now;
use rapport_core::role::Permission;
use rapport_store::{CustomerRow, DuplicatePairRow, MergeLogRow, Tx};
use serde_json::json;
use uuid::Uuid;

use crate::customers::matching::RankedMatch;
use crate::{App, AppError, AppResult, Principal, RequestMeta};

/// A queued pair with both customers.
#[derive(Debug, Clone)]
pub struct QueuedPair {
    pub pair: DuplicatePairRow,
    pub a: CustomerRow,
    pub b: CustomerRow,
}

fn ordered(x: Uuid, y: Uuid) -> (Uuid, Uuid) {
    if x < y {
        (x, y)
    } else {
        (y, x)
    }
}

/// Queues every match of `customer` at or above `review` (or vetoed) that was not linked.
pub(crate) async fn queue(
    tx: &mut dyn Tx,
    customer: Uuid,
    ranked: &[RankedMatch],
    review: u8,
    origin: &str,
) -> AppResult<()> {
    let rows = pairs_to_queue(tx.tenant_id(), customer, ranked, review, origin);
    tx.upsert_duplicate_pairs(&rows).await?;
    Ok(())
}

/// The review-queue pairs `queue` writes for `customer`: an import gathers those of a whole
/// chunk and writes them in a few statements.
pub(crate) fn pairs_to_queue(
    tenant: Uuid,
    customer: Uuid,
    ranked: &[RankedMatch],
    review: u8,
    origin: &str,
) -> Vec<DuplicatePairRow> {
    let at = now();
    ranked
        .iter()
        .filter(|r| r.id != customer && (r.m.confidence >= review || r.m.vetoed))
        .map(|r| {
            let (a, b) = ordered(customer, r.id);
            DuplicatePairRow {
                tenant_id: tenant,
                customer_a: a,
                customer_b: b,
                confidence: i32::from(r.m.confidence),
                reasons: json!(r.m.reasons),
                vetoed: r.m.vetoed,
                probability: None,
                evidence: None,
                origin: origin.to_string(),
                status: "open".into(),
                created_at: at,
                updated_at: at,
            }
        })
        .collect()
}

impl App {
    /// A page of the review queue, most likely first, after `after`.
    pub async fn list_duplicates(
        &self,
        p: &Principal,
        after: Option<&rapport_store::PairCursor>,
        limit: u32,
    ) -> AppResult<Vec<QueuedPair>> {
        p.require(Permission::CustomersMerge, "review duplicates")?;
        let mut tx = self.store.read(p.tenant_id).await?;
        let pairs = tx.list_duplicate_pairs(after, limit.clamp(1, 200)).await?;
        // Both sides of every pair in one read, not two statements a pair.
        let mut ids: Vec<Uuid> = pairs.iter().flat_map(|p| [p.customer_a, p.customer_b]).collect();
        ids.sort_unstable();
        ids.dedup();
        let customers: std::collections::HashMap<Uuid, rapport_store::CustomerRow> =
            tx.get_customers(&ids).await?.into_iter().map(|c| (c.id, c)).collect();
        Ok(pairs
            .into_iter()
            .filter_map(|pair| {
                let a = customers.get(&pair.customer_a)?.clone();
                let b = customers.get(&pair.customer_b)?.clone();
                Some(QueuedPair { pair, a, b })
            })
            .collect())
    }

    async fn open_pair(&self, tx: &mut dyn Tx, x: Uuid, y: Uuid) -> AppResult<DuplicatePairRow> {
        let (a, b) = ordered(x, y);
        tx.get_duplicate_pair(a, b).await?.filter(|p| p.status == "open").ok_or(AppError::NotFound("duplicate pair"))
    }

    /// Dismisses a pair: it is never proposed again.
    pub async fn dismiss_duplicate(&self, p: &Principal, x: Uuid, y: Uuid) -> AppResult<()> {
        p.require(Permission::CustomersMerge, "review duplicates")?;
        let mut tx = self.store.begin(p.tenant_id).await?;
        let pair = self.open_pair(tx.as_mut(), x, y).await?;
        tx.set_duplicate_status(pair.customer_a, pair.customer_b, "dismissed", now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Merges a pair: the older customer survives.
    pub async fn merge_duplicate(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        x: Uuid,
        y: Uuid,
        reason: &str,
    ) -> AppResult<MergeLogRow> {
        p.require(Permission::CustomersMerge, "review duplicates")?;
        let pair = {
            let mut tx = self.store.read(p.tenant_id).await?;
            self.open_pair(tx.as_mut(), x, y).await?
        };
        // UUIDv7 ids grow with time: the smaller id is the older record.
        let log = self.merge_customers(p, meta, pair.customer_a, &[pair.customer_b], reason).await?;
        let mut tx = self.store.begin(p.tenant_id).await?;
        tx.set_duplicate_status(pair.customer_a, pair.customer_b, "merged", now()).await?;
        tx.commit().await?;
        Ok(log)
    }
}
