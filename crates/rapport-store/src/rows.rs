//! The records the store keeps, as the use cases see them.

use rapport_core::customer::CustomerData;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub struct TenantRow {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub base_currency: String,
    pub phone_region: String,
    pub timezone: String,
    pub settings: Value,
    pub created_at: OffsetDateTime,
}

#[derive(Clone, PartialEq)]
pub struct UserRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub email: String,
    pub email_normalized: String,
    pub name: String,
    pub role: String,
    pub password_hash: String,
    pub active: bool,
    pub last_login_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub version: i64,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("active", &self.active)
            .field("password_hash", &"[redacted]")
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub role: String,
    /// The public first part of the key, used to find it.
    pub prefix: String,
    /// SHA-256 of the whole secret; the secret itself is never stored.
    pub secret_hash: String,
    pub created_by: Option<Uuid>,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RefreshTokenRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub token_hash: String,
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

/// Figures derived from related records; read-only through the API.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerDerived {
    pub total_revenue: i64,
    pub total_invoices: i64,
    pub lifetime_value: i64,
    pub lead_score: Option<i32>,
    pub churn_risk: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub data: CustomerData,
    pub lifecycle_updated_at: OffsetDateTime,
    pub derived: CustomerDerived,
    pub deleted_at: Option<OffsetDateTime>,
    pub deleted_by: Option<Uuid>,
    pub merged_into_customer_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
    pub created_by: Option<Uuid>,
    pub updated_at: OffsetDateTime,
    pub updated_by: Option<Uuid>,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub customer_id: Uuid,
    pub event_type: String,
    pub data: Value,
    pub actor_type: String,
    pub actor_id: Option<Uuid>,
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    pub tenant_id: Uuid,
    pub seq: i64,
    pub table_name: String,
    pub record_id: Uuid,
    pub action: String,
    pub old_values: Value,
    pub new_values: Value,
    pub values_digest: String,
    pub actor_type: String,
    pub actor_id: Option<Uuid>,
    pub conversation_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub at: OffsetDateTime,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IdempotencyRow {
    pub tenant_id: Uuid,
    pub principal_id: Uuid,
    pub key: String,
    pub request_hash: String,
    pub status: i32,
    pub headers: Value,
    pub body: String,
    pub created_at: OffsetDateTime,
}

/// One chat conversation (000's VC Usage row) and the customer it is linked to.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub session_id: String,
    pub customer_id: Option<Uuid>,
    pub channel: String,
    /// What the person said about themselves: name, email, phone, address.
    pub contact: Value,
    pub messages: Value,
    pub interaction_count: i64,
    pub view_count: i64,
    pub duration_seconds: i64,
    pub started_at: Option<OffsetDateTime>,
    pub ended_at: Option<OffsetDateTime>,
    pub summary: Option<String>,
    pub topics: Vec<String>,
    pub metadata: Value,
    pub deleted_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub version: i64,
}

/// A customer's engagement figures, kept current by every conversation change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsRow {
    pub customer_id: Uuid,
    pub total_conversations: i64,
    pub total_interactions: i64,
    pub total_views: i64,
    pub total_duration_seconds: i64,
    pub first_interaction_at: Option<OffsetDateTime>,
    pub last_interaction_at: Option<OffsetDateTime>,
}

/// One merge, with what is needed to undo it.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeLogRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub target_id: Uuid,
    pub source_ids: Vec<Uuid>,
    pub reason: String,
    pub actor_type: String,
    pub actor_id: Option<Uuid>,
    /// Every record as it was before the merge.
    pub snapshot: Value,
    /// Exactly what moved: `{"conversations": [{"id", "from"}], "portal_user_id": …}`.
    pub moved: Value,
    /// Target fields the merge changed: `{field: {"before", "after"}}`.
    pub target_changes: Value,
    pub created_at: OffsetDateTime,
    pub undone_at: Option<OffsetDateTime>,
    pub undone_by: Option<Uuid>,
    pub undo_report: Option<Value>,
}

/// One CSV import: what it was asked, what it did, and whether it was reverted.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub file_name: Option<String>,
    pub actor_type: String,
    pub actor_id: Option<Uuid>,
    /// The mapping and policies it ran with.
    pub options: Value,
    /// Rows per outcome: `{"create", "update", "duplicate", "error"}`.
    pub counts: Value,
    /// `running`, `completed`, `failed` or `reverted`.
    pub status: String,
    pub created_at: OffsetDateTime,
    /// When its last chunk landed.
    pub updated_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    pub reverted_at: Option<OffsetDateTime>,
    pub reverted_by: Option<Uuid>,
    pub revert_report: Option<Value>,
}

/// A customer an import created or updated, from the row on `line`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportItemRow {
    pub import_id: Uuid,
    pub line: i64,
    /// `create` or `update`.
    pub action: String,
    pub customer_id: Uuid,
    /// For an update, the fields it filled: `{field: {"before", "after"}}`.
    pub changes: Value,
}

/// What matching reads of a candidate customer: the fields the confidence ladder weighs,
/// so that a look-up scores dozens of namesakes without decoding whole records.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchCandidateRow {
    pub id: Uuid,
    pub name: String,
    /// Orders candidates of equal confidence (the most recently updated first).
    pub updated_at: OffsetDateTime,
    pub email_normalized: Option<String>,
    /// E.164, or the digits of a number that did not parse.
    pub phone_e164: Option<String>,
    pub company_name: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
}

/// What the duplicate scan reads of a live customer: the fields it weighs, nothing more, so
/// a tenant of 100,000 customers fits in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanSourceRow {
    pub id: Uuid,
    pub name: String,
    pub email_normalized: Option<String>,
    /// E.164, or the digits of a number that did not parse.
    pub phone_e164: Option<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub company_name: Option<String>,
    pub custom_fields: serde_json::Map<String, Value>,
}

/// A pair of customers that may be one person, in the review queue.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicatePairRow {
    pub tenant_id: Uuid,
    /// The smaller id of the two.
    pub customer_a: Uuid,
    pub customer_b: Uuid,
    pub confidence: i32,
    pub reasons: Value,
    pub vetoed: bool,
    /// From the duplicate scan: the Fellegi-Sunter match probability.
    pub probability: Option<f64>,
    pub evidence: Option<Value>,
    /// `ingest`, `create` or `scan`.
    pub origin: String,
    /// `open`, `merged` or `dismissed`.
    pub status: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}
