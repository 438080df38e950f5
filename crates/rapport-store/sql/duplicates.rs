//! The review queue of possible duplicates.

use rapport_store::*;
use sqlx::types::Json;
use sqlx::FromRow;
use time::OffsetDateTime;
use uuid::Uuid;

use super::dialect::Db;
use super::{keep_prepared, map_err, values_rows, SqlTx, Ts, MAX_BINDS};

#[derive(FromRow)]
struct PairRecord {
    tenant_id: Uuid,
    customer_a: Uuid,
    customer_b: Uuid,
    confidence: i32,
    reasons: Json<serde_json::Value>,
    vetoed: bool,
    probability: Option<f64>,
    evidence: Option<Json<serde_json::Value>>,
    origin: String,
    status: String,
    created_at: Ts,
    updated_at: Ts,
}

impl From<PairRecord> for DuplicatePairRow {
    fn from(r: PairRecord) -> Self {
        DuplicatePairRow {
            tenant_id: r.tenant_id,
            customer_a: r.customer_a,
            customer_b: r.customer_b,
            confidence: r.confidence,
            reasons: r.reasons.0,
            vetoed: r.vetoed,
            probability: r.probability,
            evidence: r.evidence.map(|e| e.0),
            origin: r.origin,
            status: r.status,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
        }
    }
}

pub(super) async fn upsert(tx: &mut SqlTx, rows: &[DuplicatePairRow]) -> StoreResult<()> {
    // One row per pair, the last given: a statement may not update a row twice.
    let mut last = std::collections::HashMap::with_capacity(rows.len());
    for (i, d) in rows.iter().enumerate() {
        last.insert((d.customer_a, d.customer_b), i);
    }
    let rows: Vec<&DuplicatePairRow> =
        rows.iter().enumerate().filter(|(i, d)| last[&(d.customer_a, d.customer_b)] == *i).map(|(_, d)| d).collect();
    for chunk in rows.chunks(MAX_BINDS / 12) {
        let sql = format!(
            "INSERT INTO duplicate_pairs (tenant_id, customer_a, customer_b, confidence, reasons, vetoed, probability, \
             evidence, origin, status, created_at, updated_at) VALUES {} \
             ON CONFLICT (tenant_id, customer_a, customer_b) DO UPDATE SET confidence = excluded.confidence, \
             reasons = excluded.reasons, vetoed = excluded.vetoed, \
             probability = COALESCE(excluded.probability, duplicate_pairs.probability), \
             evidence = COALESCE(excluded.evidence, duplicate_pairs.evidence), updated_at = excluded.updated_at \
             WHERE duplicate_pairs.status = 'open'",
            values_rows(chunk.len(), 12)
        );
        let mut q = sqlx::query(&sql);
        for d in chunk {
            q = q
                .bind(tx.tenant)
                .bind(d.customer_a)
                .bind(d.customer_b)
                .bind(d.confidence)
                .bind(Json(&d.reasons))
                .bind(d.vetoed)
                .bind(d.probability)
                .bind(d.evidence.as_ref().map(Json))
                .bind(&d.origin)
                .bind(&d.status)
                .bind(Ts(d.created_at))
                .bind(Ts(d.updated_at));
        }
        q.persistent(keep_prepared(chunk.len() * 12)).execute(&mut *tx.tx).await.map_err(map_err)?;
    }
    Ok(())
}

pub(super) async fn get(tx: &mut SqlTx, a: Uuid, b: Uuid) -> StoreResult<Option<DuplicatePairRow>> {
    let r: Option<PairRecord> =
        sqlx::query_as("SELECT * FROM duplicate_pairs WHERE tenant_id = $1 AND customer_a = $2 AND customer_b = $3")
            .bind(tx.tenant)
            .bind(a)
            .bind(b)
            .fetch_optional(&mut *tx.tx)
            .await
            .map_err(map_err)?;
    Ok(r.map(DuplicatePairRow::from))
}

pub(super) async fn set_status(tx: &mut SqlTx, a: Uuid, b: Uuid, status: &str, at: OffsetDateTime) -> StoreResult<()> {
    sqlx::query("UPDATE duplicate_pairs SET status = $4, updated_at = $5 WHERE tenant_id = $1 AND customer_a = $2 AND customer_b = $3")
        .bind(tx.tenant)
        .bind(a)
        .bind(b)
        .bind(status)
        .bind(Ts(at))
        .execute(&mut *tx.tx)
        .await
        .map_err(map_err)?;
    Ok(())
}

/// A page of the open pairs, by confidence, probability (0 when none) and last update, then
/// the pair's ids, all descending; after `after` (a keyset: one row value comparison).
pub(super) async fn list(tx: &mut SqlTx, after: Option<&PairCursor>, limit: u32) -> StoreResult<Vec<DuplicatePairRow>> {
    let mut qb = sqlx::QueryBuilder::<Db>::new(
        "SELECT p.* FROM duplicate_pairs p \
         JOIN customers a ON a.tenant_id = p.tenant_id AND a.id = p.customer_a AND a.deleted_at IS NULL \
         JOIN customers b ON b.tenant_id = p.tenant_id AND b.id = p.customer_b AND b.deleted_at IS NULL \
         WHERE p.tenant_id = ",
    );
    qb.push_bind(tx.tenant).push(" AND p.status = 'open'");
    if let Some(c) = after {
        qb.push(" AND (p.confidence, COALESCE(p.probability, 0), p.updated_at, p.customer_a, p.customer_b) < (")
            .push_bind(c.confidence)
            .push(", ")
            .push_bind(c.probability)
            .push(", ")
            .push_bind(Ts(c.updated_at))
            .push(", ")
            .push_bind(c.customer_a)
            .push(", ")
            .push_bind(c.customer_b)
            .push(")");
    }
    qb.push(
        " ORDER BY p.confidence DESC, COALESCE(p.probability, 0) DESC, p.updated_at DESC, p.customer_a DESC, \
         p.customer_b DESC LIMIT ",
    )
    .push_bind(i64::from(limit));
    let rs: Vec<PairRecord> = qb.build_query_as().fetch_all(&mut *tx.tx).await.map_err(map_err)?;
    Ok(rs.into_iter().map(DuplicatePairRow::from).collect())
}

#[derive(FromRow)]
struct ScanSourceRecord {
    id: Uuid,
    name: String,
    email_normalized: Option<String>,
    phone_e164: Option<String>,
    street: Option<String>,
    city: Option<String>,
    postal_code: Option<String>,
    company_name: Option<String>,
    custom_fields: Json<serde_json::Map<String, serde_json::Value>>,
}

/// The columns the duplicate scan reads of a customer.
const SCAN_COLUMNS: &str =
    "id, name, email_normalized, phone_e164, street, city, postal_code, company_name, custom_fields";

pub(super) async fn scan_sources(tx: &mut SqlTx, after: Option<Uuid>, limit: u32) -> StoreResult<Vec<ScanSourceRow>> {
    // The primary key (tenant_id, id) serves the order and the keyset, so each page is a range.
    let rs: Vec<ScanSourceRecord> = sqlx::query_as(&format!(
        "SELECT {SCAN_COLUMNS} FROM customers WHERE tenant_id = $1 AND deleted_at IS NULL AND ($2 IS NULL OR id > $2) \
         ORDER BY id LIMIT $3"
    ))
    .bind(tx.tenant)
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(&mut *tx.tx)
    .await
    .map_err(map_err)?;
    Ok(rs.into_iter().map(ScanSourceRow::from).collect())
}

pub(super) async fn scan_sources_of(tx: &mut SqlTx, ids: &[Uuid]) -> StoreResult<Vec<ScanSourceRow>> {
    let rs: Vec<ScanSourceRecord> = super::customers::live_by_ids(tx, "customers", SCAN_COLUMNS, ids).await?;
    Ok(rs.into_iter().map(ScanSourceRow::from).collect())
}

impl From<ScanSourceRecord> for ScanSourceRow {
    fn from(r: ScanSourceRecord) -> Self {
        Self {
            id: r.id,
            name: r.name,
            email_normalized: r.email_normalized,
            phone_e164: r.phone_e164,
            street: r.street,
            city: r.city,
            postal_code: r.postal_code,
            company_name: r.company_name,
            custom_fields: r.custom_fields.0,
        }
    }
}
