//! The routes of `/api/v1`, one module per resource.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod conversations;
mod cursor;
pub mod customers;
pub mod duplicates;
pub mod imports;
pub mod me;
pub mod merges;
pub mod tenant;
pub mod users;

use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::AppState;

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(|| async { Json(crate::openapi::document()) }))
        .route("/auth/login", post(auth::login))
        .route("/auth/refresh", post(auth::refresh))
        .route("/api-keys", get(api_keys::list).post(api_keys::create))
        .route("/api-keys/{id}", axum::routing::delete(api_keys::delete))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{id}", get(users::get).patch(users::update))
        .route("/customers", get(customers::list).post(customers::create))
        .route("/customers/match", post(customers::find_matches))
        .route("/customers/stats", get(customers::stats))
        .route(
            "/customers/{id}",
            get(customers::get).patch(customers::update).put(customers::replace).delete(customers::delete),
        )
        .route("/customers/{id}/restore", post(customers::restore))
        .route("/customers/{id}/timeline", get(customers::timeline))
        .route("/customers/{id}/audit", get(customers::audit))
        .route("/customers/{id}/conversations", get(conversations::of_customer))
        .route("/customers/{id}/metrics", get(conversations::metrics))
        .route("/conversations", get(conversations::list))
        .route(
            "/conversations/{session_id}",
            get(conversations::get).put(conversations::put).delete(conversations::delete),
        )
        .route("/conversations/{session_id}/messages", post(conversations::append))
        .route("/customers/{id}/merge", post(merges::merge))
        .route("/merges", get(merges::list))
        .route("/merges/{id}", get(merges::get))
        .route("/merges/{id}/undo", post(merges::undo))
        .route("/tenant", get(tenant::get).patch(tenant::update))
        .route("/analytics/topics", get(tenant::topics))
        .route("/analytics/engagement", get(tenant::engagement))
        .route("/duplicates", get(duplicates::list))
        .route("/duplicates/scan", post(duplicates::scan))
        .route("/duplicates/{a}/{b}/dismiss", post(duplicates::dismiss))
        .route("/duplicates/{a}/{b}/merge", post(duplicates::merge))
        .route("/imports", get(imports::list).post(imports::create).layer(DefaultBodyLimit::max(imports::IMPORT_LIMIT)))
        .route("/imports/{id}", get(imports::get))
        .route("/imports/{id}/revert", post(imports::revert))
        .route("/audit", get(audit::list))
        .route("/audit/verify", get(audit::verify))
        .route("/me", get(me::get).patch(me::update).delete(me::delete))
        .layer(middleware::from_fn_with_state(state, crate::idempotency::idempotency))
}
