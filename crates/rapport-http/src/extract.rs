//! Extractors whose rejections speak problem+json like every other error.

use std::net::SocketAddr;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use rapport_app::{AppError, Principal, RequestMeta};
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::context::request_id;
use crate::problem::{problem, ApiError};
use crate::AppState;

fn json_rejection(r: JsonRejection) -> Response {
    match r {
        JsonRejection::MissingJsonContentType(_) => {
            problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "Send the body as application/json.")
        }
        JsonRejection::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "The request body is larger than the server accepts.",
        ),
        JsonRejection::JsonDataError(e) => {
            problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", &e.body_text())
        }
        other => problem(StatusCode::BAD_REQUEST, "malformed_json", &other.body_text()),
    }
}

/// A JSON body of any shape; the use case validates it field by field.
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<Value>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(r) => Err(json_rejection(r)),
        }
    }
}

/// A typed JSON body.
pub struct JsonInput<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonInput<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonInput(v)),
            Err(r) => Err(json_rejection(r)),
        }
    }
}

/// Query parameters; unknown or malformed ones answer 400.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(q) => Ok(QueryParams(q.0)),
            Err(r) => Err(problem(StatusCode::BAD_REQUEST, "invalid_query", &query_detail(&r))),
        }
    }
}

fn query_detail(r: &QueryRejection) -> String {
    r.body_text()
}

/// A record id in the path; one that is not a UUID names nothing, so it is 404.
pub struct PathId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<Uuid>::from_request_parts(parts, state).await {
            Ok(p) => Ok(PathId(p.0)),
            Err(PathRejection::FailedToDeserializePathParams(_)) => {
                Err(problem(StatusCode::NOT_FOUND, "not_found", "No record has this id."))
            }
            Err(r) => Err(problem(StatusCode::BAD_REQUEST, "bad_request", &r.body_text())),
        }
    }
}

/// The authenticated caller.
pub struct Auth(pub Principal);

/// Resolves the bearer credential of a request, once per request.
pub async fn authenticate(parts: &mut Parts, state: &AppState) -> Result<Principal, ApiError> {
    if let Some(p) = parts.extensions.get::<Principal>() {
        return Ok(p.clone());
    }
    let header =
        parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or(AppError::Unauthenticated)?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(AppError::Unauthenticated)?;
    let p = state.app.authenticate(token).await?;
    parts.extensions.insert(p.clone());
    Ok(p)
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match authenticate(parts, state).await {
            Ok(p) => Ok(Auth(p)),
            Err(e) => {
                let mut res = e.into_response();
                if res.status() == StatusCode::UNAUTHORIZED {
                    res.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
                }
                Err(res)
            }
        }
    }
}

/// Where the request came from, for the audit log.
pub struct Meta(pub RequestMeta);

impl<S: Send + Sync> FromRequestParts<S> for Meta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
        let user_agent =
            parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(500).collect());
        Ok(Meta(RequestMeta { ip, user_agent, request_id: request_id() }))
    }
}

/// The version named by `If-Match` (`"3"` or `W/"3"`); `*` matches any.
pub struct IfMatch(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(v) = parts.headers.get(header::IF_MATCH) else { return Ok(IfMatch(None)) };
        let s = v.to_str().unwrap_or("").trim();
        if s == "*" {
            return Ok(IfMatch(None));
        }
        let bare = s.trim_start_matches("W/").trim_matches('"');
        match bare.parse::<i64>() {
            Ok(n) => Ok(IfMatch(Some(n))),
            // An entity tag we never issued cannot match the current one.
            Err(_) => Err(ApiError(AppError::VersionMismatch { current: -1 }).into_response()),
        }
    }
}

/// The ETag of a record version.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}
