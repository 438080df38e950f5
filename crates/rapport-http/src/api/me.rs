//! The portal user's own customer record.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::customers::respond;
use crate::extract::{Auth, IfMatch, JsonBody, Meta};
use crate::problem::ApiResult;
use crate::AppState;

/// The caller's own customer record (portal users).
#[utoipa::path(get, path = "/api/v1/me", tag = "portal", responses((status = 200, body = crate::views::CustomerView), (status = 404, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn get(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<impl IntoResponse> {
    let c = s.app.get_me(&p).await?;
    respond(&s, &p, StatusCode::OK, &c).await
}

/// Change the contact details of one's own record.
#[utoipa::path(patch, path = "/api/v1/me", tag = "portal", request_body = super::customers::CustomerInput,
    responses((status = 200, body = crate::views::CustomerView), (status = 404, body = crate::views::Problem, content_type = "application/problem+json"), (status = 422, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn update(
    State(s): State<AppState>,
    Auth(p): Auth,
    Meta(meta): Meta,
    IfMatch(v): IfMatch,
    JsonBody(body): JsonBody,
) -> ApiResult<impl IntoResponse> {
    let c = s.app.update_me(&p, &meta, &body, v).await?;
    respond(&s, &p, StatusCode::OK, &c).await
}

/// Delete (softly) one's own record.
#[utoipa::path(delete, path = "/api/v1/me", tag = "portal", responses((status = 204), (status = 404, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn delete(State(s): State<AppState>, Auth(p): Auth, Meta(meta): Meta) -> ApiResult<StatusCode> {
    s.app.delete_me(&p, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
