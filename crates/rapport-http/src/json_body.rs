//! A JSON response written into a buffer sized for it up front. axum's `Json` starts at 128
//! bytes and grows by doubling; a page of 50 customers is about 64 KB, and under perf the
//! copies and fills of that growth were a tenth of a list request.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::problem::problem;

/// `value` as `application/json`, written into a buffer of `capacity` bytes to begin with.
pub struct SizedJson<T> {
    pub value: T,
    pub capacity: usize,
}

impl<T: Serialize> IntoResponse for SizedJson<T> {
    fn into_response(self) -> Response {
        let mut buf = Vec::with_capacity(self.capacity);
        match serde_json::to_writer(&mut buf, &self.value) {
            Ok(()) => ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], buf).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "a response could not be written as JSON");
                problem(StatusCode::INTERNAL_SERVER_ERROR, "internal", "The server could not complete the request.")
            }
        }
    }
}
