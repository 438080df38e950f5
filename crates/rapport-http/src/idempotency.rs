//! `Idempotency-Key` on POST: a repeat with the same body replays the first answer; with a
//! different body it is refused (422).

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rapport_app::idempotency::StoredAnswer;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::extract::authenticate;
use crate::problem::{problem, ApiError};
use crate::{AppState, BODY_LIMIT};

/// Headers of an answer worth replaying.
const KEPT: [header::HeaderName; 3] = [header::LOCATION, header::ETAG, header::CONTENT_TYPE];

pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let key = match req.headers().get("idempotency-key").map(|v| v.to_str().map(str::to_string)) {
        None => return next.run(req).await,
        Some(Ok(k)) if !k.is_empty() && k.len() <= 255 => k,
        Some(_) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 255 visible characters.",
            )
        }
    };
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let Ok(principal) = authenticate(&mut parts, &state).await else {
        // Not signed in: the handler answers 401 as usual.
        return next.run(Request::from_parts(parts, body)).await;
    };
    // An import's file may be larger than any other body.
    let limit = if parts.uri.path().ends_with("/imports") { crate::api::imports::IMPORT_LIMIT } else { BODY_LIMIT };
    let Ok(bytes) = to_bytes(body, limit).await else {
        return problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "The request body is larger than the server accepts.",
        );
    };
    let mut h = Sha256::new();
    h.update(parts.uri.path().as_bytes());
    h.update([0]);
    h.update(parts.uri.query().unwrap_or("").as_bytes());
    h.update([0]);
    h.update(&bytes);
    let request_hash = hex::encode(h.finalize());
    match state.app.idempotent_answer(&principal, &key, &request_hash).await {
        Ok(Some(a)) => return replay(a),
        Ok(None) => {}
        Err(e) => return ApiError(e).into_response(),
    }
    let res = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    if res.status().is_server_error() {
        return res;
    }
    let (rparts, rbody) = res.into_parts();
    // The body is the server's own answer, so it is read whole; one too large to keep is
    // answered and not remembered (an import's report of many rows).
    let Ok(out) = to_bytes(rbody, usize::MAX).await else {
        return problem(StatusCode::INTERNAL_SERVER_ERROR, "internal", "The server could not complete the request.");
    };
    if out.len() > 8 * BODY_LIMIT {
        tracing::warn!(bytes = out.len(), "an answer too large to remember for its Idempotency-Key");
        return Response::from_parts(rparts, Body::from(out));
    }
    let answer = StoredAnswer {
        status: rparts.status.as_u16(),
        headers: kept_headers(&rparts.headers),
        body: String::from_utf8_lossy(&out).into_owned(),
    };
    if let Err(e) = state.app.remember_answer(&principal, &key, &request_hash, &answer).await {
        tracing::warn!(error = %e, "could not store an idempotent answer");
    }
    Response::from_parts(rparts, Body::from(out))
}

fn kept_headers(h: &HeaderMap) -> Value {
    let mut m = Map::new();
    for name in KEPT {
        if let Some(v) = h.get(&name).and_then(|v| v.to_str().ok()) {
            m.insert(name.as_str().to_string(), json!(v));
        }
    }
    Value::Object(m)
}

fn replay(a: StoredAnswer) -> Response {
    let mut res = (StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK), a.body).into_response();
    if let Value::Object(m) = a.headers {
        for (k, v) in m {
            if let (Ok(name), Some(Ok(val))) =
                (header::HeaderName::from_bytes(k.as_bytes()), v.as_str().map(HeaderValue::from_str))
            {
                res.headers_mut().insert(name, val);
            }
        }
    }
    res.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    res
}
