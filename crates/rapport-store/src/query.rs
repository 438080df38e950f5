//! Typed list queries: filters, sort and keyset cursors.

use rapport_core::customer::{CustomerType, LifecycleStage, Source, Status};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    Name,
    CreatedAt,
    UpdatedAt,
    LastContactAt,
    NextFollowUpAt,
    TotalRevenue,
    LifetimeValue,
    LeadScore,
    /// How well a customer answers the search `q` (only with `q`; see `rapport_core::search`).
    Relevance,
}

impl SortField {
    pub const ALL: [SortField; 9] = [
        SortField::Name,
        SortField::CreatedAt,
        SortField::UpdatedAt,
        SortField::LastContactAt,
        SortField::NextFollowUpAt,
        SortField::TotalRevenue,
        SortField::LifetimeValue,
        SortField::LeadScore,
        SortField::Relevance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortField::Name => "name",
            SortField::CreatedAt => "created_at",
            SortField::UpdatedAt => "updated_at",
            SortField::LastContactAt => "last_contact_at",
            SortField::NextFollowUpAt => "next_follow_up_at",
            SortField::TotalRevenue => "total_revenue",
            SortField::LifetimeValue => "lifetime_value",
            SortField::LeadScore => "lead_score",
            SortField::Relevance => "relevance",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerSort {
    pub field: SortField,
    pub descending: bool,
}

impl Default for CustomerSort {
    fn default() -> Self {
        Self { field: SortField::UpdatedAt, descending: true }
    }
}

/// The sort key of the last row of a page. Missing values sort last in either direction.
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    Text(String),
    Int(i64),
    Time(OffsetDateTime),
    Missing,
}

/// Where the next page starts: after this sort value and id.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub value: SortValue,
    pub id: Uuid,
}

/// Where the next page of the review queue starts: after the pair with these sort values
/// (confidence, probability or 0, last update, then the pair's ids, all descending).
#[derive(Debug, Clone, PartialEq)]
pub struct PairCursor {
    pub confidence: i32,
    pub probability: f64,
    pub updated_at: time::OffsetDateTime,
    pub customer_a: Uuid,
    pub customer_b: Uuid,
}

impl PairCursor {
    /// The cursor after `p`.
    pub fn after(p: &crate::DuplicatePairRow) -> Self {
        Self {
            confidence: p.confidence,
            probability: p.probability.unwrap_or(0.0),
            updated_at: p.updated_at,
            customer_a: p.customer_a,
            customer_b: p.customer_b,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum AssignedFilter {
    User(Uuid),
    Unassigned,
}

/// Filters of a conversation list, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConversationQuery {
    pub customer_id: Option<Uuid>,
    pub channel: Option<String>,
    /// A normalized topic (`conversation::normalize_topic`).
    pub topic: Option<String>,
    pub started_after: Option<OffsetDateTime>,
    pub started_before: Option<OffsetDateTime>,
    /// The id of the last conversation of the previous page.
    pub before: Option<Uuid>,
    pub limit: u32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerQuery {
    pub limit: u32,
    /// The search text of SPEC section 10, trimmed and not empty. The store does not read
    /// it: the use case parses it (`rapport_core::search::Query`) for `Tx::search_customers`.
    pub q: Option<String>,
    pub after: Option<Cursor>,
    pub sort: CustomerSort,
    pub status: Option<Status>,
    pub lifecycle_stage: Option<LifecycleStage>,
    pub customer_type: Option<CustomerType>,
    /// Every one of these tags (case-insensitive).
    pub tags_all: Vec<String>,
    /// At least one of these tags.
    pub tags_any: Vec<String>,
    pub source: Option<Source>,
    pub source_detail: Option<String>,
    pub assigned_to: Option<AssignedFilter>,
    pub company: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
    pub industry: Option<String>,
    pub created_after: Option<OffsetDateTime>,
    pub created_before: Option<OffsetDateTime>,
    pub updated_after: Option<OffsetDateTime>,
    pub updated_before: Option<OffsetDateTime>,
    pub last_contact_after: Option<OffsetDateTime>,
    pub last_contact_before: Option<OffsetDateTime>,
    /// Only customers whose next follow-up is at or before this time.
    pub follow_up_due_by: Option<OffsetDateTime>,
    pub include_deleted: bool,
    /// Row scope of a sales user: assigned to this user, or unassigned prospects and leads.
    pub sales_scope: Option<Uuid>,
    /// Only the customer owned by this portal user.
    pub portal_user: Option<Uuid>,
    /// Only customers with a conversation about this (normalized) topic...
    pub topic: Option<String>,
    /// ...at or after this time.
    pub discussed_after: Option<OffsetDateTime>,
}

/// A customer found by a search, with what ranking it needs (`rapport_core::search`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    pub id: Uuid,
    /// Its name, company, email and phone as ranking reads them (folded; no `alt` keys).
    pub document: rapport_core::search::Document,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditQuery {
    pub table_name: Option<String>,
    pub record_id: Option<Uuid>,
    pub action: Option<String>,
    pub actor_id: Option<Uuid>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    /// Newest first: entries with `seq < before`.
    pub before_seq: Option<i64>,
    pub limit: u32,
}
