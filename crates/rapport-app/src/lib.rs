//! Rapport's use cases, shared by the HTTP API and the command line.
//!
//! Each use case checks the caller's permission and row scope, opens one transaction, asks
//! rapport-core to decide, and writes the records, events and audit entries of the change
//! through the store before it commits. Nothing here knows which database is underneath.
#![forbid(unsafe_code)]

pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod auth;
mod auth_cache;
pub mod bulk;
mod conversation_input;
pub mod conversations;
pub mod customers;
pub mod duplicate_scan;
pub mod duplicates;
mod error;
pub mod idempotency;
pub mod imports;
mod ingest_queue;
mod ingest_together;
mod principal;
pub mod record;
pub mod tenant_settings;
pub mod tenants;
pub mod users;

use std::sync::Arc;

pub use error::{AppError, AppResult};
pub use principal::{Actor, Principal, PrincipalKind, RequestMeta};
use rapport_store::Store;

/// Settings of the use cases that come from configuration.
#[derive(Clone)]
pub struct AppSettings {
    /// Key that signs access tokens (HS256).
    pub jwt_secret: secrecy::SecretString,
    pub access_ttl_seconds: i64,
    pub refresh_ttl_seconds: i64,
    /// argon2id cost: memory in KiB and iterations.
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
}

impl std::fmt::Debug for AppSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSettings")
            .field("jwt_secret", &"[redacted]")
            .field("access_ttl_seconds", &self.access_ttl_seconds)
            .field("refresh_ttl_seconds", &self.refresh_ttl_seconds)
            .finish_non_exhaustive()
    }
}

impl AppSettings {
    /// The defaults for a server: OWASP's argon2id minimum, 15-minute access tokens.
    pub fn new(jwt_secret: secrecy::SecretString) -> Self {
        Self {
            jwt_secret,
            access_ttl_seconds: 900,
            refresh_ttl_seconds: 30 * 24 * 3600,
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
        }
    }
}

/// The application: a store and its settings. Cheap to clone.
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub settings: Arc<AppSettings>,
    /// Answers of "top engaged" kept while the tenant's engagement has not changed.
    engagement: Arc<analytics::EngagementCache>,
    /// Ingests waiting to be written together, per tenant.
    ingests: Arc<ingest_queue::IngestQueue>,
    /// The users and API keys requests were authenticated by, kept for a moment.
    auth_users: Arc<auth_cache::AuthCache<rapport_store::UserRow>>,
    auth_keys: Arc<auth_cache::AuthCache<rapport_store::ApiKeyRow>>,
}

impl App {
    pub fn new(store: Arc<dyn Store>, settings: AppSettings) -> Self {
        Self {
            store,
            settings: Arc::new(settings),
            engagement: Default::default(),
            ingests: Default::default(),
            auth_users: Default::default(),
            auth_keys: Default::default(),
        }
    }
}
