//! The import journal: one row per CSV import, one item per customer it wrote.

use rapport_store::*;
use sqlx::types::Json;
use sqlx::{FromRow, QueryBuilder};
use uuid::Uuid;

use super::dialect::Db;
use super::{keep_prepared, map_err, ts, un_ts, values_rows, SqlTx, Ts, MAX_BINDS};

#[derive(FromRow)]
struct ImportRecord {
    tenant_id: Uuid,
    id: Uuid,
    file_name: Option<String>,
    actor_type: String,
    actor_id: Option<Uuid>,
    options: Json<serde_json::Value>,
    counts: Json<serde_json::Value>,
    status: String,
    created_at: Ts,
    updated_at: Ts,
    finished_at: Option<Ts>,
    reverted_at: Option<Ts>,
    reverted_by: Option<Uuid>,
    revert_report: Option<Json<serde_json::Value>>,
}

impl From<ImportRecord> for ImportRow {
    fn from(r: ImportRecord) -> Self {
        ImportRow {
            id: r.id,
            tenant_id: r.tenant_id,
            file_name: r.file_name,
            actor_type: r.actor_type,
            actor_id: r.actor_id,
            options: r.options.0,
            counts: r.counts.0,
            status: r.status,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
            finished_at: un_ts(r.finished_at),
            reverted_at: un_ts(r.reverted_at),
            reverted_by: r.reverted_by,
            revert_report: r.revert_report.map(|j| j.0),
        }
    }
}

pub(super) async fn insert(tx: &mut SqlTx, i: &ImportRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO customer_imports (tenant_id, id, file_name, actor_type, actor_id, options, counts, status, created_at, \
         updated_at, finished_at, reverted_at, reverted_by, revert_report) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(tx.tenant)
    .bind(i.id)
    .bind(&i.file_name)
    .bind(&i.actor_type)
    .bind(i.actor_id)
    .bind(Json(&i.options))
    .bind(Json(&i.counts))
    .bind(&i.status)
    .bind(Ts(i.created_at))
    .bind(Ts(i.updated_at))
    .bind(ts(i.finished_at))
    .bind(ts(i.reverted_at))
    .bind(i.reverted_by)
    .bind(i.revert_report.as_ref().map(Json))
    .execute(&mut *tx.tx)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(super) async fn update(tx: &mut SqlTx, i: &ImportRow) -> StoreResult<()> {
    sqlx::query(
        "UPDATE customer_imports SET counts = $3, status = $4, finished_at = $5, reverted_at = $6, reverted_by = $7, \
         revert_report = $8, updated_at = $9 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant)
    .bind(i.id)
    .bind(Json(&i.counts))
    .bind(&i.status)
    .bind(ts(i.finished_at))
    .bind(ts(i.reverted_at))
    .bind(i.reverted_by)
    .bind(i.revert_report.as_ref().map(Json))
    .bind(Ts(i.updated_at))
    .execute(&mut *tx.tx)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(super) async fn get(tx: &mut SqlTx, id: Uuid) -> StoreResult<Option<ImportRow>> {
    let r: Option<ImportRecord> = sqlx::query_as("SELECT * FROM customer_imports WHERE tenant_id = $1 AND id = $2")
        .bind(tx.tenant)
        .bind(id)
        .fetch_optional(&mut *tx.tx)
        .await
        .map_err(map_err)?;
    Ok(r.map(ImportRow::from))
}

pub(super) async fn list(tx: &mut SqlTx, before: Option<Uuid>, limit: u32) -> StoreResult<Vec<ImportRow>> {
    let rs: Vec<ImportRecord> = sqlx::query_as(
        "SELECT * FROM customer_imports WHERE tenant_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
    )
    .bind(tx.tenant)
    .bind(before)
    .bind(i64::from(limit))
    .fetch_all(&mut *tx.tx)
    .await
    .map_err(map_err)?;
    Ok(rs.into_iter().map(ImportRow::from).collect())
}

pub(super) async fn insert_items(tx: &mut SqlTx, items: &[ImportItemRow]) -> StoreResult<()> {
    const COLS: usize = 6;
    for chunk in items.chunks(MAX_BINDS / COLS) {
        let sql = format!(
            "INSERT INTO customer_import_items (tenant_id, import_id, line, action, customer_id, changes) VALUES {}",
            values_rows(chunk.len(), COLS)
        );
        let mut q = sqlx::query::<Db>(&sql);
        for i in chunk {
            q = q
                .bind(tx.tenant)
                .bind(i.import_id)
                .bind(i.line)
                .bind(&i.action)
                .bind(i.customer_id)
                .bind(Json(&i.changes));
        }
        q.persistent(keep_prepared(chunk.len() * COLS)).execute(&mut *tx.tx).await.map_err(map_err)?;
    }
    Ok(())
}

#[derive(FromRow)]
struct ItemRecord {
    import_id: Uuid,
    line: i64,
    action: String,
    customer_id: Uuid,
    changes: Json<serde_json::Value>,
}

pub(super) async fn items(tx: &mut SqlTx, import_id: Uuid) -> StoreResult<Vec<ImportItemRow>> {
    let mut qb = QueryBuilder::<Db>::new(
        "SELECT import_id, line, action, customer_id, changes FROM customer_import_items WHERE tenant_id = ",
    );
    qb.push_bind(tx.tenant).push(" AND import_id = ").push_bind(import_id).push(" ORDER BY line");
    let rs: Vec<ItemRecord> = qb.build_query_as().fetch_all(&mut *tx.tx).await.map_err(map_err)?;
    Ok(rs
        .into_iter()
        .map(|r| ImportItemRow {
            import_id: r.import_id,
            line: r.line,
            action: r.action,
            customer_id: r.customer_id,
            changes: r.changes.0,
        })
        .collect())
}
