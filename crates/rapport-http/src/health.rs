//! Liveness, readiness and metrics.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    let backend = s.app.store.backend().as_str();
    match s.app.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ready", "database": backend}))),
        Err(e) => {
            tracing::warn!(error = %e, "database not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable", "database": backend})))
        }
    }
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let mut out = s.metrics.render();
    let top = s.app.engagement_counts();
    crate::metrics::write_counter(
        &mut out,
        "rapport_top_engaged_answers_total",
        "Answers of top engaged, by whether a kept answer served it or it was computed.",
        "source",
        &[("kept", top.kept), ("computed", top.computed)],
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
