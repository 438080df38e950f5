//! Sign-in and token refresh.

use axum::extract::State;
use axum::Json;
use rapport_app::AppError;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::extract::{JsonInput, Meta};
use crate::problem::ApiResult;
use crate::views::TokenView;
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshInput {
    pub refresh_token: String,
}

fn view(p: rapport_app::auth::TokenPair) -> Json<TokenView> {
    Json(TokenView {
        access_token: p.access_token,
        refresh_token: p.refresh_token,
        token_type: p.token_type.into(),
        expires_in: p.expires_in,
    })
}

/// Sign in with email and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginInput,
    responses((status = 200, body = TokenView), (status = 401, body = crate::views::Problem, content_type = "application/problem+json"), (status = 429, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn login(
    State(s): State<AppState>,
    Meta(meta): Meta,
    JsonInput(input): JsonInput<LoginInput>,
) -> ApiResult<Json<TokenView>> {
    let ip = meta.ip.as_deref().and_then(|i| i.parse().ok());
    let attempt =
        s.login_limiter.begin(ip, &input.email).await.map_err(|retry_after| AppError::RateLimited { retry_after })?;
    match s.app.login(&input.email, &input.password).await {
        Err(AppError::InvalidCredentials) => {
            attempt.failed();
            Err(AppError::InvalidCredentials.into())
        }
        answer => Ok(view(answer?)),
    }
}

/// Exchange a refresh token for a new pair.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshInput,
    responses((status = 200, body = TokenView), (status = 401, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn refresh(
    State(s): State<AppState>,
    JsonInput(input): JsonInput<RefreshInput>,
) -> ApiResult<Json<TokenView>> {
    Ok(view(s.app.refresh(&input.refresh_token).await?))
}
