//! The review queue of possible duplicates: list, merge or dismiss a pair.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rapport_app::duplicate_scan::ScanRequest;
use rapport_app::AppError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::extract::{Auth, JsonInput, Meta, QueryParams};
use crate::problem::ApiResult;
use crate::views::{DuplicateList, DuplicatePairView, MergeView};
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanInput {
    /// Match probability a pair needs to be queued: 0.5 to 1, default 0.9.
    pub threshold: Option<f64>,
    /// At most this many pairs are queued, the most probable first: 1 to 50000, default 10000.
    pub max_pairs: Option<usize>,
}

/// What a scan compared, found and queued, and the model it learnt from the tenant's data.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScanView {
    /// Live customers scanned.
    pub records: u64,
    /// Candidate pairs compared (pairs sharing a blocking key).
    pub compared: u64,
    /// Blocks too large to compare pair by pair, left out.
    pub skipped_blocks: u64,
    /// Pairs at or above the threshold.
    pub found: u64,
    /// Pairs written to the review queue.
    pub queued: u64,
    pub threshold: f64,
    pub elapsed_ms: u64,
    /// Per field and agreement level: m, u and the weight log2(m/u) that EM estimated.
    #[schema(value_type = Object)]
    pub model: rapport_core::identity::scan::Model,
}

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
    let after = q.cursor.as_deref().map(super::cursor::decode_pair).transpose()?;
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let pairs = s.app.list_duplicates(&p, after.as_ref(), limit).await?;
    // A full page may have more after it.
    let next_cursor = (pairs.len() == limit as usize)
        .then(|| pairs.last().map(|q| super::cursor::encode_pair(&rapport_store::PairCursor::after(&q.pair))))
        .flatten();
    Ok(Json(DuplicateList { data: pairs.iter().map(DuplicatePairView::from).collect(), next_cursor }))
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

/// Scan every live customer of the tenant for duplicates (Fellegi-Sunter, weights learnt from
/// the tenant's own data) and queue the pairs found, with probability and per-field evidence.
#[utoipa::path(post, path = "/api/v1/duplicates/scan", tag = "duplicates", request_body = ScanInput,
    responses((status = 200, body = ScanView),
        (status = 403, body = crate::views::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn scan(
    State(s): State<AppState>,
    Auth(p): Auth,
    JsonInput(i): JsonInput<ScanInput>,
) -> ApiResult<Json<ScanView>> {
    let o = s.app.scan_duplicates(&p, ScanRequest { threshold: i.threshold, max_pairs: i.max_pairs }).await?;
    Ok(Json(ScanView {
        records: o.records,
        compared: o.compared,
        skipped_blocks: o.skipped_blocks,
        found: o.found,
        queued: o.queued,
        threshold: o.threshold,
        elapsed_ms: o.elapsed_ms,
        model: o.model,
    }))
}
