//! Errors as RFC 9457 problem+json, with the stable codes of `AppError`.

use std::any::Any;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rapport_app::AppError;
use serde_json::{json, Value};

use crate::context::request_id;

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

impl From<rapport_store::StoreError> for ApiError {
    fn from(e: rapport_store::StoreError) -> Self {
        ApiError(e.into())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

fn title(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

/// A problem+json response with a code that is not an `AppError` (framework rejections).
pub fn problem(status: StatusCode, code: &str, detail: &str) -> Response {
    let body = json!({
        "type": format!("https://rapport.dev/problems/{code}"),
        "title": title(status),
        "status": status.as_u16(),
        "detail": detail,
        "code": code,
        "errors": [],
        "request_id": request_id(),
    });
    respond(status, body)
}

fn respond(status: StatusCode, body: Value) -> Response {
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    res
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let (code, status) = e.code_and_status();
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let detail = if status.is_server_error() {
            // The real cause is logged once, inside the request's span; the client gets
            // the request id to quote.
            tracing::error!(error = %e, ?e, "request failed");
            "The server could not complete the request.".to_string()
        } else {
            e.to_string()
        };
        let mut body = json!({
            "type": format!("https://rapport.dev/problems/{code}"),
            "title": title(status),
            "status": status.as_u16(),
            "detail": detail,
            "code": code,
            "errors": e.field_errors(),
            "request_id": request_id(),
        });
        match &e {
            AppError::CustomerDuplicate { matches, .. } => body["matches"] = matches.clone(),
            AppError::VersionMismatch { current } if *current > 0 => body["current_version"] = json!(current),
            _ => {}
        }
        let mut res = respond(status, body);
        if let AppError::Moved { to } = e {
            if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/customers/{to}")) {
                res.headers_mut().insert(header::LOCATION, v);
            }
        }
        if let AppError::RateLimited { retry_after } = e {
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res
    }
}

pub async fn not_found_route() -> Response {
    problem(StatusCode::NOT_FOUND, "route_not_found", "No such route.")
}

pub async fn method_not_allowed() -> Response {
    problem(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "This route does not answer this method.")
}

pub fn panic_response(_err: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a handler panicked");
    problem(StatusCode::INTERNAL_SERVER_ERROR, "internal", "The server could not complete the request.")
}
