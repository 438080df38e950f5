//! The matching keys of customers (SPEC section 4): written with every change to what they
//! are made of, and the candidate look-ups of identity resolution that read them.

use std::collections::HashMap;

use rapport_core::customer::CustomerData;
use rapport_store::*;
use sqlx::{FromRow, QueryBuilder};
use uuid::Uuid;

use super::customers::{live_by_ids, merged_into};
use super::dialect::{self, Db};
use super::{keep_prepared, map_err, SqlTx, Ts, MAX_BINDS};

/// Inserts the keys of new customers: nothing is merged into a customer being inserted, so
/// its keys are its own.
pub(super) async fn insert_own_keys(tx: &mut SqlTx, rows: &[CustomerRow]) -> StoreResult<()> {
    let mut keys = Vec::new();
    for c in rows.iter().filter(|c| c.deleted_at.is_none()) {
        keys.extend(own_keys(&c.data).into_iter().map(|(kind, value)| (c.id, kind, value)));
    }
    insert_keys(tx, &keys).await
}

/// A customer's own matching keys, sorted and without repeats.
fn own_keys(d: &CustomerData) -> Vec<(&'static str, String)> {
    let mut keys = rapport_core::identity::matching_keys(d);
    keys.sort();
    keys.dedup();
    keys
}

/// Rewrites the matching keys of a stored customer: only live customers have keys, and the
/// contact points of customers merged into it still find it (SPEC section 4).
pub(super) async fn rewrite_keys(tx: &mut SqlTx, c: &CustomerRow) -> StoreResult<()> {
    sqlx::query("DELETE FROM customer_matching_keys WHERE tenant_id = $1 AND customer_id = $2")
        .bind(tx.tenant)
        .bind(c.id)
        .execute(&mut *tx.tx)
        .await
        .map_err(map_err)?;
    if c.deleted_at.is_some() {
        return Ok(());
    }
    let mut keys = rapport_core::identity::matching_keys(&c.data);
    for m in merged_into(tx, c.id).await? {
        keys.extend(
            rapport_core::identity::matching_keys(&m.data)
                .into_iter()
                .filter(|(k, _)| *k == rapport_core::identity::key::EMAIL || *k == rapport_core::identity::key::PHONE),
        );
    }
    keys.sort();
    keys.dedup();
    let keys: Vec<_> = keys.into_iter().map(|(kind, value)| (c.id, kind, value)).collect();
    insert_keys(tx, &keys).await
}

/// Inserts `(customer, key type, key value)` rows, many to a statement.
async fn insert_keys(tx: &mut SqlTx, keys: &[(Uuid, &'static str, String)]) -> StoreResult<()> {
    for chunk in keys.chunks(MAX_BINDS / 4) {
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO customer_matching_keys (tenant_id, key_type, key_value, customer_id) ",
        );
        qb.push_values(chunk, |mut b, (id, kind, value)| {
            b.push_bind(tx.tenant).push_bind(*kind).push_bind(value.clone()).push_bind(*id);
        });
        qb.build().persistent(keep_prepared(chunk.len() * 4)).execute(&mut *tx.tx).await.map_err(map_err)?;
    }
    Ok(())
}

pub(super) async fn contact_keys_of(tx: &mut SqlTx, ids: &[Uuid]) -> StoreResult<Vec<(Uuid, String, String)>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(MAX_BINDS - 2) {
        // Only customers others were merged into have contact keys beyond their row's: found
        // first in the small partial index of merged customers, so the index of contact keys
        // (a million entries) is read for those few only, not for every candidate.
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT customer_id, key_type, key_value FROM customer_matching_keys WHERE tenant_id = ",
        );
        qb.push_bind(tx.tenant).push(
            " AND key_type IN ('email', 'phone') AND customer_id IN (SELECT DISTINCT merged_into_customer_id \
             FROM customers WHERE tenant_id = ",
        );
        qb.push_bind(tx.tenant).push(" AND merged_into_customer_id IN (");
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(*id);
        }
        qb.push("))");
        let rows: Vec<(Uuid, String, String)> = qb
            .build_query_as()
            .persistent(keep_prepared(chunk.len() + 2))
            .fetch_all(&mut *tx.tx)
            .await
            .map_err(map_err)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Per set, the live customers sharing the most of its keys, then the most recently updated,
/// at most `limit`. Each key is a seek for its newest `PER_KEY` holders (a common first name
/// is shared by thousands, while the pair keys that tell them apart are few); the hits are
/// counted here, and a customer picked by several sets (namesakes in one import chunk) is
/// read once. With `keep`, the picked customers' names are read first, from the index of
/// live customers' names (a tenant's fits in the page cache; its rows do not), and only
/// those it keeps are read whole: most customers sharing a first name and an initial are
/// not alike enough to score.
pub(super) async fn find_by_keys(
    tx: &mut SqlTx,
    sets: &[Vec<(&'static str, String)>],
    limit: u32,
    keep: Option<&KeepCandidate<'_>>,
    except: &std::collections::HashSet<Uuid>,
) -> StoreResult<Vec<(usize, MatchCandidateRow)>> {
    const PER_KEY: i64 = 200;
    let mut counted: Vec<HashMap<Uuid, u32>> = vec![HashMap::new(); sets.len()];
    for (set, id) in dialect::key_hits(&mut tx.tx, tx.tenant, sets, PER_KEY, except).await? {
        *counted[set].entry(id).or_default() += 1;
    }
    let mut picked: Vec<Vec<(Uuid, u32)>> = counted
        .into_iter()
        .map(|hits| {
            let mut hits: Vec<(Uuid, u32)> = hits.into_iter().collect();
            hits.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
            hits.truncate(limit as usize);
            hits
        })
        .collect();
    let mut ids: Vec<Uuid> = picked.iter().flatten().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    if let Some(keep) = keep {
        let names: HashMap<Uuid, String> =
            live_by_ids::<(Uuid, String)>(tx, dialect::LIVE_NAMES, "id, name", &ids).await?.into_iter().collect();
        for (set, hits) in picked.iter_mut().enumerate() {
            hits.retain(|(id, _)| names.get(id).is_some_and(|name| keep(set, name)));
        }
        ids = picked.iter().flatten().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
    }
    let columns = "id, name, updated_at, email_normalized, phone_e164, company_name, city, postal_code";
    let rows: HashMap<Uuid, MatchCandidateRow> = live_by_ids::<CandidateRecord>(tx, "customers", columns, &ids)
        .await?
        .into_iter()
        .map(|r| {
            let row = MatchCandidateRow {
                id: r.id,
                name: r.name,
                updated_at: r.updated_at.0,
                email_normalized: r.email_normalized,
                phone_e164: r.phone_e164,
                company_name: r.company_name,
                city: r.city,
                postal_code: r.postal_code,
            };
            (row.id, row)
        })
        .collect();
    let mut out = Vec::new();
    for (set, hits) in picked.into_iter().enumerate() {
        let mut found: Vec<(u32, &MatchCandidateRow)> =
            hits.iter().filter_map(|(id, n)| rows.get(id).map(|r| (*n, r))).collect();
        found.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.updated_at.cmp(&a.1.updated_at)).then(b.1.id.cmp(&a.1.id)));
        out.extend(found.into_iter().map(|(_, r)| (set, r.clone())));
    }
    Ok(out)
}

#[derive(FromRow)]
struct CandidateRecord {
    id: Uuid,
    name: String,
    updated_at: Ts,
    email_normalized: Option<String>,
    phone_e164: Option<String>,
    company_name: Option<String>,
    city: Option<String>,
    postal_code: Option<String>,
}
