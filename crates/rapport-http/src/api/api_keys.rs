//! API keys: create (secret shown once), list, revoke.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use rapport_app::AppError;
use rapport_core::role::Role;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::extract::{Auth, JsonInput, Meta, PathId};
use crate::problem::ApiResult;
use crate::views::{ApiKeyList, ApiKeyView};
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    pub name: String,
    /// Defaults to integration.
    pub role: Option<String>,
}

/// Create an API key. Its `secret` is in this answer only.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api-keys", request_body = NewApiKey,
    responses((status = 201, body = ApiKeyView), (status = 403, body = crate::views::Problem, content_type = "application/problem+json"), (status = 422, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(s): State<AppState>,
    Auth(p): Auth,
    Meta(meta): Meta,
    JsonInput(input): JsonInput<NewApiKey>,
) -> ApiResult<(StatusCode, Json<ApiKeyView>)> {
    let role = match input.role.as_deref() {
        None => Role::Integration,
        Some(r) => {
            Role::parse(r).ok_or_else(|| AppError::invalid("role", "invalid_value", "role is not a known role"))?
        }
    };
    let (key, secret) = s.app.create_api_key(&p, &meta, &input.name, role).await?;
    let mut v = ApiKeyView::from(&key);
    v.secret = Some(secret);
    Ok((StatusCode::CREATED, Json(v)))
}

/// List the tenant's API keys.
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api-keys", responses((status = 200, body = ApiKeyList)))]
pub async fn list(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<ApiKeyList>> {
    let keys = s.app.list_api_keys(&p).await?;
    Ok(Json(ApiKeyList { data: keys.iter().map(ApiKeyView::from).collect() }))
}

/// Revoke an API key.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api-keys", params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 404, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn delete(
    State(s): State<AppState>,
    Auth(p): Auth,
    Meta(meta): Meta,
    PathId(id): PathId,
) -> ApiResult<StatusCode> {
    s.app.revoke_api_key(&p, &meta, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
