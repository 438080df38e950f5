//! The merge journal.

use rapport_store::*;
use sqlx::types::Json;
use sqlx::FromRow;
use uuid::Uuid;

use super::{map_err, ts, un_ts, SqlTx, Ts};

#[derive(FromRow)]
struct MergeRecord {
    tenant_id: Uuid,
    id: Uuid,
    target_id: Uuid,
    source_ids: Json<Vec<Uuid>>,
    reason: String,
    actor_type: String,
    actor_id: Option<Uuid>,
    snapshot: Json<serde_json::Value>,
    moved: Json<serde_json::Value>,
    target_changes: Json<serde_json::Value>,
    created_at: Ts,
    undone_at: Option<Ts>,
    undone_by: Option<Uuid>,
    undo_report: Option<Json<serde_json::Value>>,
}

impl From<MergeRecord> for MergeLogRow {
    fn from(r: MergeRecord) -> Self {
        MergeLogRow {
            id: r.id,
            tenant_id: r.tenant_id,
            target_id: r.target_id,
            source_ids: r.source_ids.0,
            reason: r.reason,
            actor_type: r.actor_type,
            actor_id: r.actor_id,
            snapshot: r.snapshot.0,
            moved: r.moved.0,
            target_changes: r.target_changes.0,
            created_at: r.created_at.0,
            undone_at: un_ts(r.undone_at),
            undone_by: r.undone_by,
            undo_report: r.undo_report.map(|j| j.0),
        }
    }
}

pub(super) async fn insert(tx: &mut SqlTx, m: &MergeLogRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO customer_merge_log (tenant_id, id, target_id, source_ids, reason, actor_type, actor_id, snapshot, moved, \
         target_changes, created_at, undone_at, undone_by, undo_report) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(tx.tenant)
    .bind(m.id)
    .bind(m.target_id)
    .bind(Json(&m.source_ids))
    .bind(&m.reason)
    .bind(&m.actor_type)
    .bind(m.actor_id)
    .bind(Json(&m.snapshot))
    .bind(Json(&m.moved))
    .bind(Json(&m.target_changes))
    .bind(Ts(m.created_at))
    .bind(ts(m.undone_at))
    .bind(m.undone_by)
    .bind(m.undo_report.as_ref().map(Json))
    .execute(&mut *tx.tx)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(super) async fn get(tx: &mut SqlTx, id: Uuid) -> StoreResult<Option<MergeLogRow>> {
    let r: Option<MergeRecord> = sqlx::query_as("SELECT * FROM customer_merge_log WHERE tenant_id = $1 AND id = $2")
        .bind(tx.tenant)
        .bind(id)
        .fetch_optional(&mut *tx.tx)
        .await
        .map_err(map_err)?;
    Ok(r.map(MergeLogRow::from))
}

pub(super) async fn list(tx: &mut SqlTx, before: Option<Uuid>, limit: u32) -> StoreResult<Vec<MergeLogRow>> {
    let rs: Vec<MergeRecord> = sqlx::query_as(
        "SELECT * FROM customer_merge_log WHERE tenant_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
    )
    .bind(tx.tenant)
    .bind(before)
    .bind(i64::from(limit))
    .fetch_all(&mut *tx.tx)
    .await
    .map_err(map_err)?;
    Ok(rs.into_iter().map(MergeLogRow::from).collect())
}

pub(super) async fn mark_undone(tx: &mut SqlTx, m: &MergeLogRow) -> StoreResult<()> {
    sqlx::query("UPDATE customer_merge_log SET undone_at = $3, undone_by = $4, undo_report = $5 WHERE tenant_id = $1 AND id = $2")
        .bind(tx.tenant)
        .bind(m.id)
        .bind(ts(m.undone_at))
        .bind(m.undone_by)
        .bind(m.undo_report.as_ref().map(Json))
        .execute(&mut *tx.tx)
        .await
        .map_err(map_err)?;
    Ok(())
}
