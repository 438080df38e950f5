//! Users: invite, list, read, change role or status.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use rapport_app::users::{NewUser, UserPatch};
use rapport_app::AppError;
use rapport_core::role::Role;
use rapport_core::Patch;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::extract::{etag, Auth, IfMatch, JsonInput, Meta, PathId};
use crate::problem::ApiResult;
use crate::views::{UserList, UserView};
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserInput {
    pub email: String,
    #[serde(default)]
    pub name: String,
    pub role: String,
    /// When absent, a one-time password is generated and answered once.
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatchInput {
    pub name: Option<String>,
    pub role: Option<String>,
    pub active: Option<bool>,
    /// On deactivation, who takes over the user's customers; null or absent leaves them unassigned.
    #[serde(default)]
    #[schema(value_type = Option<Uuid>)]
    pub reassign_to: Patch<Uuid>,
    pub password: Option<String>,
}

fn role(s: &str) -> Result<Role, AppError> {
    Role::parse(s).ok_or_else(|| AppError::invalid("role", "invalid_value", "role is not a known role"))
}

fn with_etag(status: StatusCode, v: UserView) -> impl IntoResponse {
    let mut h = HeaderMap::new();
    if let Ok(e) = etag(v.version).parse() {
        h.insert(header::ETAG, e);
    }
    (status, h, Json(v))
}

/// Invite a user (owner and admin).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUserInput,
    responses((status = 201, body = UserView), (status = 403, body = crate::views::Problem, content_type = "application/problem+json"), (status = 409, body = crate::views::Problem, content_type = "application/problem+json"), (status = 422, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(s): State<AppState>,
    Auth(p): Auth,
    Meta(meta): Meta,
    JsonInput(i): JsonInput<NewUserInput>,
) -> ApiResult<impl IntoResponse> {
    let n = NewUser { email: i.email, name: i.name, role: role(&i.role)?, password: i.password };
    let (u, pw) = s.app.create_user(&p, &meta, n).await?;
    let mut v = UserView::from(&u);
    v.initial_password = pw;
    Ok(with_etag(StatusCode::CREATED, v))
}

/// List the tenant's users.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200, body = UserList)))]
pub async fn list(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<UserList>> {
    let users = s.app.list_users(&p).await?;
    Ok(Json(UserList { data: users.iter().map(UserView::from).collect() }))
}

/// Read a user.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 200, body = UserView), (status = 404, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn get(State(s): State<AppState>, Auth(p): Auth, PathId(id): PathId) -> ApiResult<impl IntoResponse> {
    let u = s.app.get_user(&p, id).await?;
    Ok(with_etag(StatusCode::OK, UserView::from(&u)))
}

/// Change a user's name, role, password or active flag. Deactivating reassigns their customers.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)), request_body = UserPatchInput,
    responses((status = 200, body = UserView), (status = 403, body = crate::views::Problem, content_type = "application/problem+json"), (status = 404, body = crate::views::Problem, content_type = "application/problem+json"), (status = 409, body = crate::views::Problem, content_type = "application/problem+json"), (status = 412, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn update(
    State(s): State<AppState>,
    Auth(p): Auth,
    Meta(meta): Meta,
    PathId(id): PathId,
    IfMatch(v): IfMatch,
    JsonInput(i): JsonInput<UserPatchInput>,
) -> ApiResult<impl IntoResponse> {
    let patch = UserPatch {
        name: i.name,
        role: i.role.as_deref().map(role).transpose()?,
        active: i.active,
        reassign_to: i.reassign_to,
        password: i.password,
    };
    let u = s.app.update_user(&p, &meta, id, patch, v).await?;
    Ok(with_etag(StatusCode::OK, UserView::from(&u)))
}
