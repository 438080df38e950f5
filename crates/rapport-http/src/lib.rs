//! Rapport's HTTP API: routes, extractors, problem+json errors and the OpenAPI document.
#![forbid(unsafe_code)]

mod api;
mod context;
mod extract;
mod health;
mod idempotency;
mod json_body;
mod limiter;
mod metrics;
pub mod openapi;
mod problem;
mod rendered;
mod views;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use uuid::Uuid;

use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::Router;
use rapport_app::App;
use tower_http::catch_panic::CatchPanicLayer;

pub use limiter::LoginLimiter;
pub use metrics::Metrics;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub login_limiter: LoginLimiter,
    pub metrics: Metrics,
    /// Base currency per tenant: every money figure needs it and it seldom changes.
    currencies: Arc<RwLock<HashMap<Uuid, String>>>,
    /// Customers' JSON texts by version, for list and search pages.
    pub(crate) rendered: Arc<rendered::RenderedCustomers>,
}

impl AppState {
    pub fn new(app: App) -> Self {
        Self {
            app,
            login_limiter: LoginLimiter::new(10),
            metrics: Metrics::default(),
            currencies: Arc::default(),
            rendered: Arc::default(),
        }
    }

    pub(crate) fn forget_currency(&self, tenant: Uuid) {
        if let Ok(mut m) = self.currencies.write() {
            m.remove(&tenant);
        }
    }

    pub(crate) async fn base_currency(&self, tenant: Uuid) -> Result<String, rapport_app::AppError> {
        if let Some(c) = self.currencies.read().ok().and_then(|m| m.get(&tenant).cloned()) {
            return Ok(c);
        }
        let c = self.app.tenant(tenant).await?.base_currency;
        if let Ok(mut m) = self.currencies.write() {
            m.insert(tenant, c.clone());
        }
        Ok(c)
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let api = api::routes(state.clone());
    Router::new()
        .merge(health::routes())
        .nest("/api/v1", api)
        .fallback(problem::not_found_route)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(deadline))
        .layer(middleware::from_fn_with_state(state.clone(), context::request_context))
        .layer(CatchPanicLayer::custom(problem::panic_response))
        .with_state(state)
}

/// How long a request may take before it answers 503 `timeout`: 30 s; 10 minutes for
/// imports and their reverts, which carry on in their own task even then; 5 minutes for the
/// duplicate scan, a batch job that takes about 20 s for a tenant of 100,000 customers on
/// two cores (one of the three scans of a full-size benchmark run was cut at 30 s).
async fn deadline(req: axum::extract::Request, next: middleware::Next) -> axum::response::Response {
    let import = req.uri().path().starts_with("/api/v1/imports");
    let limit = Duration::from_secs(match req.uri().path() {
        _ if import => 600,
        "/api/v1/duplicates/scan" => 300,
        _ => 30,
    });
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => problem::problem(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            if import {
                "The import takes longer than a request may; it carries on, and GET /api/v1/imports shows it."
            } else {
                "The request took longer than the server allows."
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    use super::*;

    /// Routes that take two minutes, behind the deadline.
    fn slow() -> Router {
        let two_minutes = || async {
            tokio::time::sleep(Duration::from_secs(120)).await;
            "done"
        };
        Router::new()
            .route("/api/v1/customers", axum::routing::get(two_minutes))
            .route("/api/v1/imports", axum::routing::post(two_minutes))
            .layer(middleware::from_fn(deadline))
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_past_its_deadline_answers_timeout_and_an_import_may_take_longer() {
        let res = slow().oneshot(Request::get("/api/v1/customers").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["code"], "timeout");

        let res = slow().oneshot(Request::post("/api/v1/imports").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "an import has ten minutes");
    }
}
