//! `q` on the customer list (SPEC section 10): candidates from the store's search index,
//! ranked here by `rapport_core::search::Ranker`, the same way on both databases.
//!
//! A search answers at most [`CANDIDATES`] customers: the store's look-ups bring that many
//! at most (exact matches first, then typos, then sound-alikes), and those scoring at least
//! `MIN_SCORE` are ranked. Pages of a search are cut from that ranked set with the usual
//! keyset cursor: by default the sort is `-relevance` and the cursor holds the score (in
//! millionths) and the id; any other sort orders the same set.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use rapport_core::search::{Query, Ranker, MIN_SCORE};
use rapport_store::{Cursor, CustomerQuery, CustomerRow, SortField, SortValue, Tx};
use uuid::Uuid;

use super::{sort_value, CustomerPage};
use crate::{App, AppError, AppResult};

/// The most customers one search answers.
pub const CANDIDATES: u32 = 300;

/// A relevance as a sort value: the score in millionths.
fn relevance(s: f64) -> SortValue {
    SortValue::Int((s * 1_000_000.0).round() as i64)
}

/// The order of the list: by value, missing values last either way, then by id; both in
/// the direction of the sort, as the SQL of the list orders.
fn compare(a: (&SortValue, Uuid), b: (&SortValue, Uuid), descending: bool) -> Ordering {
    use SortValue::*;
    let by_value = match (a.0, b.0) {
        (Missing, Missing) => Ordering::Equal,
        (Missing, _) => return Ordering::Greater,
        (_, Missing) => return Ordering::Less,
        (Text(x), Text(y)) => x.cmp(y),
        (Int(x), Int(y)) => x.cmp(y),
        (Time(x), Time(y)) => x.cmp(y),
        _ => Ordering::Equal,
    };
    let o = by_value.then(a.1.cmp(&b.1));
    if descending {
        o.reverse()
    } else {
        o
    }
}

impl App {
    /// One page of the customers answering `raw` within `q`'s filters (scope included).
    /// Candidates come light (what ranking needs); whole records are read for the page only,
    /// or for every match when another sort than relevance needs their fields.
    pub(super) async fn search_page(
        &self,
        tx: &mut dyn Tx,
        raw: &str,
        q: &CustomerQuery,
        limit: u32,
    ) -> AppResult<CustomerPage> {
        // The tenant's region reads national phone numbers; other queries need no read of it.
        let region = if Query::is_phone(raw) { self.region(tx).await? } else { String::new() };
        let search = Query::parse(raw, &region).map_err(|e| AppError::invalid(&e.field, e.code, e.message))?;
        let hits = tx.search_customers(q, &search, CANDIDATES).await?;
        let ranker = Ranker::new(&search);
        let matched: Vec<(f64, Uuid)> =
            hits.iter().map(|h| (ranker.score(&h.document), h.id)).filter(|(s, _)| *s >= MIN_SCORE).collect();
        let mut rows: HashMap<Uuid, CustomerRow> = HashMap::new();
        let mut keyed: Vec<(SortValue, Uuid)> = if q.sort.field == SortField::Relevance {
            matched.iter().map(|(s, id)| (relevance(*s), *id)).collect()
        } else {
            let ids: Vec<Uuid> = matched.iter().map(|(_, id)| *id).collect();
            rows = tx.get_customers(&ids).await?.into_iter().map(|c| (c.id, c)).collect();
            rows.values().map(|c| (sort_value(c, q.sort.field), c.id)).collect()
        };
        let desc = q.sort.descending;
        keyed.sort_by(|a, b| compare((&a.0, a.1), (&b.0, b.1), desc));
        if let Some(cur) = &q.after {
            keyed.retain(|(v, id)| compare((v, *id), (&cur.value, cur.id), desc) == Ordering::Greater);
        }
        let more = keyed.len() > limit as usize;
        keyed.truncate(limit as usize);
        let next = more.then(|| keyed.last().map(|(v, id)| Cursor { value: v.clone(), id: *id })).flatten();
        let missing: Vec<Uuid> = keyed.iter().map(|(_, id)| *id).filter(|id| !rows.contains_key(id)).collect();
        rows.extend(tx.get_customers(&missing).await?.into_iter().map(|c| (c.id, c)));
        // A customer deleted is left out: one deleted by a write transaction this search
        // runs in, or (SQLite reads a search statement by statement, `read_each`) one
        // deleted after the look-ups found it.
        let page = keyed
            .iter()
            .filter_map(|(_, id)| rows.remove(id))
            .filter(|c| c.deleted_at.is_none())
            .map(Arc::new)
            .collect();
        Ok(CustomerPage { rows: page, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_values_sort_last_both_ways() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let (one, none) = (SortValue::Int(1), SortValue::Missing);
        for desc in [false, true] {
            assert_eq!(compare((&one, b), (&none, a), desc), Ordering::Less);
            assert_eq!(compare((&none, a), (&one, b), desc), Ordering::Greater);
        }
        assert_eq!(compare((&one, a), (&one, b), true), Ordering::Greater);
        assert_eq!(compare((&SortValue::Int(2), a), (&one, b), true), Ordering::Less);
    }
}
