//! The tenant's audit log and the verification of its chain.

use axum::extract::State;
use axum::Json;
use rapport_app::AppError;
use rapport_core::Invalid;
use rapport_store::{AuditQuery, AuditRow};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::cursor;
use crate::extract::{Auth, QueryParams};
use crate::problem::ApiResult;
use crate::views::{AuditList, AuditView, VerificationView};
use crate::AppState;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// customers, users or api_keys
    pub table: Option<String>,
    pub record_id: Option<Uuid>,
    /// insert, update, delete, restore
    pub action: Option<String>,
    pub actor_id: Option<Uuid>,
    /// RFC 3339; entries at or after.
    pub from: Option<String>,
    /// RFC 3339; entries before.
    pub to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

pub(crate) fn seq_cursor(c: &Option<String>) -> Result<Option<i64>, AppError> {
    match c {
        None => Ok(None),
        Some(c) => cursor::decode_plain(c)
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Some)
            .ok_or_else(|| AppError::invalid("cursor", "invalid_cursor", "cursor is not one this list gave out")),
    }
}

pub(crate) fn page(rows: &[AuditRow], limit: u32) -> AuditList {
    let next_cursor =
        (rows.len() == limit as usize).then(|| rows.last().map(|a| cursor::encode_plain(&a.seq.to_string()))).flatten();
    AuditList { data: rows.iter().map(AuditView::from).collect(), next_cursor }
}

/// The audit log, newest first, filterable.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditParams),
    responses((status = 200, body = AuditList), (status = 403, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(s): State<AppState>,
    Auth(p): Auth,
    QueryParams(a): QueryParams<AuditParams>,
) -> ApiResult<Json<AuditList>> {
    let limit = a.limit.unwrap_or(50).clamp(1, 200);
    let mut e = Invalid::default();
    let from = super::customers::parse_time(&mut e, "from", &a.from);
    let to = super::customers::parse_time(&mut e, "to", &a.to);
    e.into_result().map_err(AppError::from)?;
    let q = AuditQuery {
        table_name: a.table,
        record_id: a.record_id,
        action: a.action,
        actor_id: a.actor_id,
        from,
        to,
        before_seq: seq_cursor(&a.cursor)?,
        limit,
    };
    let rows = s.app.list_audit(&p, &q).await?;
    Ok(Json(page(&rows, limit)))
}

/// Walks the tenant's chain and names the first broken link, if any.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, body = VerificationView), (status = 403, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn verify(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<VerificationView>> {
    let v = s.app.verify_audit_for(&p).await?;
    Ok(Json(VerificationView {
        tenant_id: v.tenant_id,
        ok: v.ok,
        entries: v.entries,
        first_broken_seq: v.first_broken_seq,
        reason: v.reason,
    }))
}
