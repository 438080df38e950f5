//! The review queue of possible duplicates: list, merge or dismiss a pair.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rapport_app::AppError;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::extract::{Auth, JsonInput, Meta, QueryParams};
use crate::problem::ApiResult;
use crate::views::{DuplicateList, DuplicatePairView, MergeView};
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairMergeInput {
    pub reason: Option<String>,
}

fn ids(a: &str, b: &str) -> Result<(Uuid, Uuid), AppError> {
    match (Uuid::parse_str(a), Uuid::parse_str(b)) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        _ => Err(AppError::NotFound("duplicate pair")),
    }
}

/// Open pairs, most likely first, with confidence and reasons.
#[utoipa::path(get, path = "/api/v1/duplicates", tag = "duplicates", params(super::customers::PageParams),
    responses((status = 200, body = DuplicateList), (status = 403, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(s): State<AppState>,
    Auth(p): Auth,
    QueryParams(q): QueryParams<super::customers::PageParams>,
) -> ApiResult<Json<DuplicateList>> {
    let pairs = s.app.list_duplicates(&p, q.limit.unwrap_or(50)).await?;
    Ok(Json(DuplicateList { data: pairs.iter().map(DuplicatePairView::from).collect() }))
}

/// Never propose this pair again.
#[utoipa::path(post, path = "/api/v1/duplicates/{a}/{b}/dismiss", tag = "duplicates", params(("a" = Uuid, Path), ("b" = Uuid, Path)),
    responses((status = 204), (status = 404, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn dismiss(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path((a, b)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (a, b) = ids(&a, &b)?;
    s.app.dismiss_duplicate(&p, a, b).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Merge the pair; the older customer survives.
#[utoipa::path(post, path = "/api/v1/duplicates/{a}/{b}/merge", tag = "duplicates", request_body = PairMergeInput,
    params(("a" = Uuid, Path), ("b" = Uuid, Path)),
    responses((status = 201, body = MergeView), (status = 404, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn merge(
    State(s): State<AppState>,
    Auth(p): Auth,
    Meta(meta): Meta,
    Path((a, b)): Path<(String, String)>,
    JsonInput(i): JsonInput<PairMergeInput>,
) -> ApiResult<(StatusCode, Json<MergeView>)> {
    let (a, b) = ids(&a, &b)?;
    let reason = i.reason.unwrap_or_else(|| "confirmed duplicate from the review queue".into());
    let log = s.app.merge_duplicate(&p, &meta, a, b, &reason).await?;
    Ok((StatusCode::CREATED, Json(MergeView::from(&log))))
}
