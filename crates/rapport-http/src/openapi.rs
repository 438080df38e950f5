//! The OpenAPI 3.1 document, generated from the handlers' own annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api;

#[derive(OpenApi)]
#[openapi(
    info(title = "Rapport", description = "Self-hosted, multi-tenant customer management."),
    paths(
        api::auth::login, api::auth::refresh,
        api::api_keys::create, api::api_keys::list, api::api_keys::delete,
        api::users::create, api::users::list, api::users::get, api::users::update,
        api::customers::create, api::customers::get, api::customers::update, api::customers::replace,
        api::customers::delete, api::customers::restore, api::customers::list, api::customers::find_matches,
        api::customers::stats, api::customers::timeline, api::customers::audit,
        api::conversations::put, api::conversations::append, api::conversations::get, api::conversations::delete,
        api::conversations::list, api::conversations::of_customer, api::conversations::metrics,
        api::merges::merge, api::merges::list, api::merges::get, api::merges::undo,
        api::tenant::get, api::tenant::update, api::tenant::topics, api::tenant::engagement,
        api::duplicates::list, api::duplicates::scan, api::duplicates::dismiss, api::duplicates::merge,
        api::imports::create, api::imports::list, api::imports::get, api::imports::revert,
        api::audit::list, api::audit::verify,
        api::me::get, api::me::update, api::me::delete,
    ),
    modifiers(&Bearer),
    security(("bearer" = []))
)]
struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = doc.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT or API key").build(),
                ),
            );
        }
    }
}

/// The document served at `/api/v1/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
