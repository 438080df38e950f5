//! Merging duplicate customers, and undoing a merge.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::cursor;
use crate::extract::{Auth, JsonInput, Meta, PathId, QueryParams};
use crate::problem::ApiResult;
use crate::views::{MergeList, MergeView};
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// 1 to 10 customers to merge into the target.
    pub source_ids: Vec<Uuid>,
    pub reason: String,
}

/// Merge customers into this one. Every record of the sources moves to it; the sources are
/// soft-deleted and answer 308 to it from then on.
#[utoipa::path(post, path = "/api/v1/customers/{id}/merge", tag = "merges", request_body = MergeInput, params(("id" = Uuid, Path)),
    responses((status = 201, body = MergeView), (status = 403, body = crate::views::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::views::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn merge(
    State(s): State<AppState>,
    Auth(p): Auth,
    Meta(meta): Meta,
    PathId(id): PathId,
    JsonInput(i): JsonInput<MergeInput>,
) -> ApiResult<(StatusCode, Json<MergeView>)> {
    let log = s.app.merge_customers(&p, &meta, id, &i.source_ids, &i.reason).await?;
    Ok((StatusCode::CREATED, Json(MergeView::from(&log))))
}

/// The tenant's merges, newest first.
#[utoipa::path(get, path = "/api/v1/merges", tag = "merges", params(super::customers::PageParams),
    responses((status = 200, body = MergeList), (status = 403, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(s): State<AppState>,
    Auth(p): Auth,
    QueryParams(q): QueryParams<super::customers::PageParams>,
) -> ApiResult<Json<MergeList>> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let before = cursor::before_id(&q.cursor)?;
    let rows = s.app.list_merges(&p, before, limit).await?;
    let next_cursor = cursor::next_id(rows.len(), limit, rows.last().map(|r| r.id));
    Ok(Json(MergeList { data: rows.iter().map(MergeView::from).collect(), next_cursor }))
}

/// One merge.
#[utoipa::path(get, path = "/api/v1/merges/{id}", tag = "merges", params(("id" = Uuid, Path)),
    responses((status = 200, body = MergeView), (status = 404, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn get(State(s): State<AppState>, Auth(p): Auth, PathId(id): PathId) -> ApiResult<Json<MergeView>> {
    Ok(Json(MergeView::from(&s.app.get_merge(&p, id).await?)))
}

/// Undo a merge within the tenant's window (default 30 days).
#[utoipa::path(post, path = "/api/v1/merges/{id}/undo", tag = "merges", params(("id" = Uuid, Path)),
    responses((status = 200, body = MergeView), (status = 404, body = crate::views::Problem, content_type = "application/problem+json"),
        (status = 409, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn undo(
    State(s): State<AppState>,
    Auth(p): Auth,
    Meta(meta): Meta,
    PathId(id): PathId,
) -> ApiResult<Json<MergeView>> {
    let u = s.app.undo_merge(&p, &meta, id).await?;
    Ok(Json(MergeView::from(&u.log)))
}
