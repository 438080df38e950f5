//! What PostgreSQL does its own way: native timestamps, advisory locks that serialize
//! writers deciding on the same identity keys, and search through pg_trgm.

use rapport_core::search::{Document, Query};
use rapport_store::StoreResult;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, QueryBuilder, Type};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::sql::{map_err, Ts};

/// The `n`th placeholder.
pub fn push_placeholder(s: &mut String, n: usize) {
    s.push('$');
    s.push_str(&n.to_string());
}

pub type Db = sqlx::Postgres;

impl Type<Db> for Ts {
    fn type_info() -> PgTypeInfo {
        <OffsetDateTime as Type<Db>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <OffsetDateTime as Type<Db>>::compatible(ty)
    }
}

impl Encode<'_, Db> for Ts {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <OffsetDateTime as Encode<'_, Db>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Db> for Ts {
    fn decode(v: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Ts(<OffsetDateTime as Decode<'r, Db>>::decode(v)?))
    }
}

/// The UTC day (days since 1970-01-01) of a conversation's activity, as SQL over its row.
pub const ACTIVITY_DAY: &str = "CAST(floor(extract(epoch FROM COALESCE(started_at, created_at)) / 86400) AS BIGINT)";

/// Takes a transaction-scoped advisory lock per key, in sorted order so that two writers
/// never wait on each other in a cycle; all in one statement.
pub async fn lock_identity(tx: &mut sqlx::Transaction<'static, Db>, keys: &[String]) -> StoreResult<()> {
    if keys.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "SELECT pg_advisory_xact_lock(h) FROM (SELECT hashtextextended(k, 0) AS h FROM unnest($1::text[]) AS k \
         ORDER BY k) s",
    )
    .bind(keys)
    .execute(&mut **tx)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Matching keys one look-up statement takes at most.
pub const KEYS_PER_STATEMENT: usize = 20_000;

/// `(probe, customer_id)` rows: for each key of each set, the newest `per_key` customers
/// holding it, the set's index (from `first`) as `probe`. The keys go in as three arrays
/// and a lateral join seeks each one, so the statement's text is always the same (a union
/// of one branch per key took PostgreSQL most of a second to plan).
pub fn push_key_hits(
    qb: &mut QueryBuilder<'_, Db>,
    tenant: Uuid,
    first: usize,
    sets: &[Vec<(&'static str, String)>],
    per_key: i64,
) {
    let (mut probes, mut kinds, mut values) = (Vec::new(), Vec::new(), Vec::new());
    for (i, keys) in sets.iter().enumerate() {
        for (kind, value) in keys {
            probes.push((first + i) as i64);
            kinds.push(kind.to_string());
            values.push(value.clone());
        }
    }
    qb.push("SELECT q.probe, k.customer_id FROM unnest(").push_bind(probes);
    qb.push("::bigint[], ").push_bind(kinds).push("::text[], ").push_bind(values);
    qb.push("::text[]) AS q(probe, key_type, key_value) CROSS JOIN LATERAL (SELECT k.customer_id FROM customer_matching_keys k WHERE k.tenant_id = ");
    qb.push_bind(tenant);
    qb.push(" AND k.key_type = q.key_type AND k.key_value = q.key_value ORDER BY k.customer_id DESC LIMIT ");
    qb.push_bind(per_key).push(") k");
}

// ---- Search: pg_trgm ------------------------------------------------------------------------
//
// `customer_search` holds one document per live customer, every field in one folded text
// (`Document::flat`), under a GIN trigram index: candidates are documents with enough of the
// query's trigrams in some stretch of the text (`%>`, word similarity), then the tenant's.

/// How much of the query's trigrams a document must hold (pg_trgm's default is 0.6).
const WORD_SIMILARITY_THRESHOLD: &str = "0.5";

/// One look-up of search candidates: texts the document must resemble, with a weight.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPlan {
    terms: Vec<(String, f64)>,
}

impl SearchPlan {
    /// Candidates come ordered by `s.score`, the weighted word similarity (lower is better).
    pub fn ranked(&self) -> bool {
        true
    }

    /// The one look-up always runs.
    pub fn below(&self) -> Option<usize> {
        None
    }
}

/// One look-up: the query's words, or their sorted-letters keys (transpositions), or their
/// phonetic keys (sound-alikes), each weighing less in the index's order; or the digits of a
/// phone number.
pub fn search_plans(q: &Query) -> Vec<SearchPlan> {
    let mut terms: Vec<(String, f64)> = Vec::new();
    if q.phones.is_empty() {
        terms.push((q.text(), 1.0));
        terms.push((q.sorted_keys(), 0.5));
        terms.push((q.phonetic_keys(), 0.3));
    } else {
        terms.extend(q.phones.iter().map(|p| (p.clone(), 1.0)));
    }
    terms.retain(|(t, _)| !t.is_empty());
    if terms.is_empty() {
        return Vec::new();
    }
    vec![SearchPlan { terms }]
}

/// Pushes the candidates of `plan` as `(…) s` with the columns `customer_id` and `score`.
pub fn push_search_plan(qb: &mut QueryBuilder<'_, Db>, tenant: Uuid, plan: &SearchPlan) {
    qb.push("(SELECT customer_id, -(0");
    for (t, w) in &plan.terms {
        qb.push(" + ").push_bind(*w).push(" * word_similarity(").push_bind(t.clone()).push(", doc)");
    }
    qb.push(") AS score FROM customer_search WHERE tenant_id = ").push_bind(tenant).push(" AND (");
    for (i, (t, _)) in plan.terms.iter().enumerate() {
        if i > 0 {
            qb.push(" OR ");
        }
        qb.push("doc %> ").push_bind(t.clone());
    }
    qb.push(")) s");
}

/// Sets the word similarity threshold of `%>` for the rest of the transaction.
pub async fn before_search(tx: &mut sqlx::Transaction<'static, Db>) -> StoreResult<()> {
    sqlx::query("SELECT set_config('pg_trgm.word_similarity_threshold', $1, true)")
        .bind(WORD_SIMILARITY_THRESHOLD)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    Ok(())
}

/// Writes (or, with `None`, removes) a customer's search document.
pub async fn write_search(
    tx: &mut sqlx::Transaction<'static, Db>,
    tenant: Uuid,
    customer: Uuid,
    doc: &Document,
) -> StoreResult<()> {
    insert_search(tx, tenant, &[(customer, doc.clone())]).await
}

/// Writes the search documents of these customers, many to a statement.
pub async fn insert_search(
    tx: &mut sqlx::Transaction<'static, Db>,
    tenant: Uuid,
    docs: &[(Uuid, Document)],
) -> StoreResult<()> {
    for chunk in docs.chunks(crate::sql::MAX_BINDS / 3) {
        let mut qb = QueryBuilder::<Db>::new("INSERT INTO customer_search (tenant_id, customer_id, doc) ");
        qb.push_values(chunk, |mut b, (customer, d)| {
            b.push_bind(tenant).push_bind(*customer).push_bind(d.flat());
        });
        qb.push(" ON CONFLICT (tenant_id, customer_id) DO UPDATE SET doc = excluded.doc");
        qb.build().execute(&mut **tx).await.map_err(map_err)?;
    }
    Ok(())
}
