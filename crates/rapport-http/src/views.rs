//! What the API answers: records as JSON, with their OpenAPI schemas.

use rapport_core::audit::format_time;
use rapport_core::customer::{Address, Bant, Preferences};
use rapport_store::{ApiKeyRow, AuditRow, CustomerRow, EventRow, UserRow};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

pub(crate) fn t(v: OffsetDateTime) -> String {
    format_time(v)
}

pub(crate) fn ot(v: Option<OffsetDateTime>) -> Option<String> {
    v.map(format_time)
}

/// An amount of money in minor units of a currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AddressView {
    pub street: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BantView {
    /// unknown, yes or no
    pub budget: String,
    pub authority: String,
    pub need: String,
    pub timeline: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreferencesView {
    pub email: bool,
    pub sms: bool,
    pub phone: bool,
    pub chat: bool,
    pub do_not_contact: bool,
}

/// A customer record.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerView {
    pub id: Uuid,
    pub name: String,
    pub company_name: Option<String>,
    pub job_title: Option<String>,
    pub industry: Option<String>,
    /// individual, business, enterprise, non_profit or government
    #[serde(rename = "type")]
    pub customer_type: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The phone in E.164 form, in the tenant's default region.
    pub phone_e164: Option<String>,
    /// Whether the phone number is assigned in its country's numbering plan.
    pub phone_verified: bool,
    pub website: Option<String>,
    pub address: AddressView,
    /// active, inactive or archived
    pub status: String,
    /// prospect, lead, customer or churned
    pub lifecycle_stage: String,
    pub lifecycle_updated_at: String,
    pub tags: Vec<String>,
    pub source: String,
    pub source_detail: Option<String>,
    pub assigned_to: Option<Uuid>,
    pub portal_user_id: Option<Uuid>,
    pub currency: Option<String>,
    pub language: Option<String>,
    pub timezone: Option<String>,
    pub bant: BantView,
    pub preferences: PreferencesView,
    pub notes: Option<String>,
    #[schema(value_type = Object)]
    pub custom_fields: Value,
    pub last_contact_at: Option<String>,
    pub next_follow_up_at: Option<String>,
    pub total_revenue: Money,
    pub total_invoices: i64,
    pub lifetime_value: Money,
    pub lead_score: Option<i32>,
    pub churn_risk: Option<String>,
    pub deleted_at: Option<String>,
    pub deleted_by: Option<Uuid>,
    pub merged_into_customer_id: Option<Uuid>,
    pub created_at: String,
    pub created_by: Option<Uuid>,
    pub updated_at: String,
    pub updated_by: Option<Uuid>,
    pub version: i64,
    /// With `expand=metrics`: the engagement figures of its conversations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsView>,
}

fn address(a: &Address) -> AddressView {
    AddressView {
        street: a.street.clone(),
        city: a.city.clone(),
        state: a.state.clone(),
        postal_code: a.postal_code.clone(),
        country: a.country.clone(),
    }
}

fn bant(b: &Bant) -> BantView {
    BantView {
        budget: b.budget.as_str().into(),
        authority: b.authority.as_str().into(),
        need: b.need.as_str().into(),
        timeline: b.timeline.as_str().into(),
    }
}

fn prefs(p: &Preferences) -> PreferencesView {
    PreferencesView { email: p.email, sms: p.sms, phone: p.phone, chat: p.chat, do_not_contact: p.do_not_contact }
}

impl CustomerView {
    pub fn new(c: &CustomerRow, base_currency: &str) -> Self {
        let d = &c.data;
        let currency = d.currency.clone().unwrap_or_else(|| base_currency.to_string());
        Self {
            id: c.id,
            name: d.name.clone(),
            company_name: d.company_name.clone(),
            job_title: d.job_title.clone(),
            industry: d.industry.clone(),
            customer_type: d.customer_type.as_str().into(),
            email: d.email.as_ref().map(|e| e.as_str().to_string()),
            phone: d.phone.as_ref().map(|p| p.as_str().to_string()),
            phone_e164: d.phone.as_ref().map(|p| p.e164().to_string()),
            phone_verified: d.phone.as_ref().is_some_and(|p| p.verified()),
            website: d.website.clone(),
            address: address(&d.address),
            status: d.status.as_str().into(),
            lifecycle_stage: d.lifecycle_stage.as_str().into(),
            lifecycle_updated_at: t(c.lifecycle_updated_at),
            tags: d.tags.clone(),
            source: d.source.as_str().into(),
            source_detail: d.source_detail.clone(),
            assigned_to: d.assigned_to,
            portal_user_id: d.portal_user_id,
            currency: d.currency.clone(),
            language: d.language.clone(),
            timezone: d.timezone.clone(),
            bant: bant(&d.bant),
            preferences: prefs(&d.preferences),
            notes: d.notes.clone(),
            custom_fields: Value::Object(d.custom_fields.clone()),
            last_contact_at: ot(d.last_contact_at),
            next_follow_up_at: ot(d.next_follow_up_at),
            total_revenue: Money { amount_minor: c.derived.total_revenue, currency: currency.clone() },
            total_invoices: c.derived.total_invoices,
            lifetime_value: Money { amount_minor: c.derived.lifetime_value, currency },
            lead_score: c.derived.lead_score,
            churn_risk: c.derived.churn_risk.clone(),
            deleted_at: ot(c.deleted_at),
            deleted_by: c.deleted_by,
            merged_into_customer_id: c.merged_into_customer_id,
            created_at: t(c.created_at),
            created_by: c.created_by,
            updated_at: t(c.updated_at),
            updated_by: c.updated_by,
            version: c.version,
            metrics: None,
        }
    }
}

/// One page of customers.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerList {
    #[schema(value_type = Vec<CustomerView>)]
    pub data: Vec<crate::rendered::RenderedCustomer>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A timeline event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: Uuid,
    pub customer_id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    #[schema(value_type = Object)]
    pub data: Value,
    pub actor_type: String,
    pub actor_id: Option<Uuid>,
    pub at: String,
}

impl From<&EventRow> for EventView {
    fn from(e: &EventRow) -> Self {
        Self {
            id: e.id,
            customer_id: e.customer_id,
            event_type: e.event_type.clone(),
            data: e.data.clone(),
            actor_type: e.actor_type.clone(),
            actor_id: e.actor_id,
            at: t(e.at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    pub data: Vec<EventView>,
    pub next_cursor: Option<String>,
}

/// An audit log entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub seq: i64,
    pub table_name: String,
    pub record_id: Uuid,
    /// insert, update, delete or restore
    pub action: String,
    #[schema(value_type = Object)]
    pub old_values: Value,
    #[schema(value_type = Object)]
    pub new_values: Value,
    pub actor_type: String,
    pub actor_id: Option<Uuid>,
    pub conversation_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub at: String,
    pub prev_hash: String,
    pub hash: String,
}

impl From<&AuditRow> for AuditView {
    fn from(a: &AuditRow) -> Self {
        Self {
            seq: a.seq,
            table_name: a.table_name.clone(),
            record_id: a.record_id,
            action: a.action.clone(),
            old_values: a.old_values.clone(),
            new_values: a.new_values.clone(),
            actor_type: a.actor_type.clone(),
            actor_id: a.actor_id,
            conversation_id: a.conversation_id.clone(),
            ip: a.ip.clone(),
            user_agent: a.user_agent.clone(),
            request_id: a.request_id.clone(),
            at: t(a.at),
            prev_hash: a.prev_hash.clone(),
            hash: a.hash.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList {
    pub data: Vec<AuditView>,
    pub next_cursor: Option<String>,
}

/// A user of the tenant; never its password.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub active: bool,
    pub last_login_at: Option<String>,
    pub created_at: String,
    pub version: i64,
    /// Only in the answer to an invitation without a password: shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_password: Option<String>,
}

impl From<&UserRow> for UserView {
    fn from(u: &UserRow) -> Self {
        Self {
            id: u.id,
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role.clone(),
            active: u.active,
            last_login_at: ot(u.last_login_at),
            created_at: t(u.created_at),
            version: u.version,
            initial_password: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub data: Vec<UserView>,
}

/// An API key; its secret appears only in the answer that creates it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    /// The first characters of the secret, to recognize it.
    pub prefix: String,
    pub created_by: Option<Uuid>,
    pub created_at: String,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl From<&ApiKeyRow> for ApiKeyView {
    fn from(k: &ApiKeyRow) -> Self {
        Self {
            id: k.id,
            name: k.name.clone(),
            role: k.role.clone(),
            prefix: k.prefix.clone(),
            created_by: k.created_by,
            created_at: t(k.created_at),
            revoked_at: ot(k.revoked_at),
            last_used_at: ot(k.last_used_at),
            secret: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    pub data: Vec<ApiKeyView>,
}

/// Tokens answered by sign-in and refresh.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub access_token: String,
    pub refresh_token: String,
    /// Always "Bearer".
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

/// The result of verifying the audit chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationView {
    pub tenant_id: Uuid,
    pub ok: bool,
    pub entries: i64,
    pub first_broken_seq: Option<i64>,
    pub reason: Option<String>,
}

/// An RFC 9457 problem.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable, snake_case: what a client branches on.
    pub code: String,
    pub errors: Vec<FieldErrorView>,
    pub request_id: Option<String>,
    /// With `customer_duplicate`: the existing customers, each with `customer_id`, `name`,
    /// `confidence` and `reasons`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub matches: Option<Vec<Value>>,
    /// With `version_mismatch`: the version the record has now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldErrorView {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// Why a customer is thought to be the person.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReasonView {
    /// email, phone, name, company, city or postal_code
    pub signal: String,
    pub detail: String,
}

/// A customer that may be the person asked about.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchView {
    pub customer_id: Uuid,
    pub name: String,
    /// 0..100: email 100, phone 90, name similarity up to 89.
    pub confidence: u8,
    pub reasons: Vec<ReasonView>,
    /// A name match contradicted by a differing email or phone; never linked automatically.
    pub vetoed: bool,
}

impl From<&rapport_app::customers::matching::RankedMatch> for MatchView {
    fn from(r: &rapport_app::customers::matching::RankedMatch) -> Self {
        Self {
            customer_id: r.id,
            name: r.name.clone(),
            confidence: r.m.confidence,
            reasons: r
                .m
                .reasons
                .iter()
                .map(|x| ReasonView { signal: x.signal.to_string(), detail: x.detail.clone() })
                .collect(),
            vetoed: r.m.vetoed,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MatchList {
    pub data: Vec<MatchView>,
}

/// How an ingest found the conversation's customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchOutcomeView {
    pub customer_id: Uuid,
    /// True when no existing customer matched and a new one was made.
    pub created: bool,
    pub confidence: Option<u8>,
    pub reasons: Vec<ReasonView>,
}

/// A chat conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationView {
    pub id: Uuid,
    pub session_id: String,
    pub customer_id: Option<Uuid>,
    /// web_chat, whatsapp, sms, email, phone or other
    pub channel: String,
    #[schema(value_type = Object)]
    pub contact: Value,
    #[schema(value_type = Vec<Object>)]
    pub messages: Value,
    pub interaction_count: i64,
    pub view_count: i64,
    pub duration_seconds: i64,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub summary: Option<String>,
    pub topics: Vec<String>,
    #[schema(value_type = Object)]
    pub metadata: Value,
    pub created_at: String,
    pub updated_at: String,
    pub version: i64,
    /// Present when this request decided the customer (on create or a change of contact).
    #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
    pub match_outcome: Option<MatchOutcomeView>,
}

impl ConversationView {
    pub fn new(c: &rapport_store::ConversationRow, outcome: Option<&rapport_app::conversations::MatchOutcome>) -> Self {
        Self {
            id: c.id,
            session_id: c.session_id.clone(),
            customer_id: c.customer_id,
            channel: c.channel.clone(),
            contact: c.contact.clone(),
            messages: c.messages.clone(),
            interaction_count: c.interaction_count,
            view_count: c.view_count,
            duration_seconds: c.duration_seconds,
            started_at: ot(c.started_at),
            ended_at: ot(c.ended_at),
            summary: c.summary.clone(),
            topics: c.topics.clone(),
            metadata: c.metadata.clone(),
            created_at: t(c.created_at),
            updated_at: t(c.updated_at),
            version: c.version,
            match_outcome: outcome.map(|o| MatchOutcomeView {
                customer_id: o.customer_id,
                created: o.created,
                confidence: o.confidence,
                reasons: o
                    .reasons
                    .iter()
                    .map(|x| ReasonView { signal: x.signal.to_string(), detail: x.detail.clone() })
                    .collect(),
            }),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationList {
    pub data: Vec<ConversationView>,
    pub next_cursor: Option<String>,
}

/// A customer's engagement figures, current with every conversation change.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricsView {
    pub customer_id: Uuid,
    pub total_conversations: i64,
    pub total_interactions: i64,
    pub total_views: i64,
    pub first_interaction_at: Option<String>,
    pub last_interaction_at: Option<String>,
    pub avg_interaction_length_seconds: f64,
}

impl From<&rapport_store::MetricsRow> for MetricsView {
    fn from(m: &rapport_store::MetricsRow) -> Self {
        Self {
            customer_id: m.customer_id,
            total_conversations: m.total_conversations,
            total_interactions: m.total_interactions,
            total_views: m.total_views,
            first_interaction_at: ot(m.first_interaction_at),
            last_interaction_at: ot(m.last_interaction_at),
            avg_interaction_length_seconds: if m.total_conversations > 0 {
                m.total_duration_seconds as f64 / m.total_conversations as f64
            } else {
                0.0
            },
        }
    }
}

/// One merge: the survivor, the merged-away customers, and what moved.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergeView {
    /// What `POST /merges/{id}/undo` takes.
    pub id: Uuid,
    pub target_id: Uuid,
    pub source_ids: Vec<Uuid>,
    pub reason: String,
    pub actor_type: String,
    pub actor_id: Option<Uuid>,
    /// Every record as it was before.
    #[schema(value_type = Object)]
    pub snapshot: Value,
    /// Exactly what moved.
    #[schema(value_type = Object)]
    pub moved: Value,
    /// Target fields the merge changed, each with before and after.
    #[schema(value_type = Object)]
    pub target_changes: Value,
    pub created_at: String,
    pub undone_at: Option<String>,
    pub undone_by: Option<Uuid>,
    /// After an undo: target fields left as they were because they changed since.
    pub kept_fields: Option<Vec<String>>,
}

impl From<&rapport_store::MergeLogRow> for MergeView {
    fn from(m: &rapport_store::MergeLogRow) -> Self {
        Self {
            id: m.id,
            target_id: m.target_id,
            source_ids: m.source_ids.clone(),
            reason: m.reason.clone(),
            actor_type: m.actor_type.clone(),
            actor_id: m.actor_id,
            snapshot: m.snapshot.clone(),
            moved: m.moved.clone(),
            target_changes: m.target_changes.clone(),
            created_at: t(m.created_at),
            undone_at: ot(m.undone_at),
            undone_by: m.undone_by,
            kept_fields: m.undo_report.as_ref().and_then(|r| serde_json::from_value(r["kept"].clone()).ok()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MergeList {
    pub data: Vec<MergeView>,
    pub next_cursor: Option<String>,
}

/// The tenant and its settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub base_currency: String,
    pub phone_region: String,
    pub timezone: String,
    /// match_thresholds {link, review, block}, topic_vocabulary, merge_undo_days.
    #[schema(value_type = Object)]
    pub settings: Value,
    pub created_at: String,
}

impl From<&rapport_store::TenantRow> for TenantView {
    fn from(t: &rapport_store::TenantRow) -> Self {
        Self {
            id: t.id,
            name: t.name.clone(),
            slug: t.slug.clone(),
            base_currency: t.base_currency.clone(),
            phone_region: t.phone_region.clone(),
            timezone: t.timezone.clone(),
            settings: t.settings.clone(),
            created_at: format_time(t.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TopicCount {
    pub topic: String,
    pub conversations: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TopicPeriodView {
    pub from: String,
    pub to: String,
    pub topics: Vec<TopicCount>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TopicTrends {
    pub data: Vec<TopicPeriodView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EngagedView {
    pub customer_id: Uuid,
    pub name: String,
    pub conversations: i64,
    pub interactions: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EngagementView {
    /// The window, e.g. "7d".
    pub window: String,
    pub data: Vec<EngagedView>,
}

/// Two customers that may be one person.
#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicatePairView {
    pub customer_a: Uuid,
    pub name_a: String,
    pub customer_b: Uuid,
    pub name_b: String,
    pub confidence: i32,
    pub reasons: Vec<ReasonView>,
    pub vetoed: bool,
    /// From the duplicate scan: the probability that the two are one person.
    pub probability: Option<f64>,
    /// From the duplicate scan: the weight of each field's agreement.
    #[schema(value_type = Option<Object>)]
    pub evidence: Option<Value>,
    /// ingest, create or scan
    pub origin: String,
    pub created_at: String,
}

impl From<&rapport_app::duplicates::QueuedPair> for DuplicatePairView {
    fn from(q: &rapport_app::duplicates::QueuedPair) -> Self {
        Self {
            customer_a: q.a.id,
            name_a: q.a.data.name.clone(),
            customer_b: q.b.id,
            name_b: q.b.data.name.clone(),
            confidence: q.pair.confidence,
            reasons: serde_json::from_value::<Vec<Value>>(q.pair.reasons.clone())
                .unwrap_or_default()
                .iter()
                .map(|r| ReasonView {
                    signal: r["signal"].as_str().unwrap_or("").into(),
                    detail: r["detail"].as_str().unwrap_or("").into(),
                })
                .collect(),
            vetoed: q.pair.vetoed,
            probability: q.pair.probability,
            evidence: q.pair.evidence.clone(),
            origin: q.pair.origin.clone(),
            created_at: t(q.pair.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicateList {
    pub data: Vec<DuplicatePairView>,
    /// The next page's `cursor`; none after the last page.
    pub next_cursor: Option<String>,
}

/// Live customers per type.
#[derive(Debug, Serialize, ToSchema)]
pub struct TypeCounts {
    pub individual: i64,
    pub business: i64,
    pub enterprise: i64,
    pub non_profit: i64,
    pub government: i64,
}

/// Live customers per lifecycle stage.
#[derive(Debug, Serialize, ToSchema)]
pub struct LifecycleCounts {
    pub prospect: i64,
    pub lead: i64,
    pub customer: i64,
    pub churned: i64,
}

/// Live customers per status.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusCounts {
    pub active: i64,
    pub inactive: i64,
    pub archived: i64,
}

/// The tenant's customer figures (002's totals), over live (not deleted) customers.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerStatsView {
    pub total_customers: i64,
    /// Live customers whose status is active.
    pub active_customers: i64,
    pub by_type: TypeCounts,
    pub by_lifecycle_stage: LifecycleCounts,
    pub by_status: StatusCounts,
    /// The sum of every live customer's total revenue, in the tenant's base currency.
    pub total_revenue: Money,
    /// Total revenue per live customer, rounded to the nearest minor unit.
    pub average_value: Money,
}

impl CustomerStatsView {
    pub fn new(s: &rapport_store::stats::CustomerStats, base_currency: &str) -> Self {
        let n = |m: &std::collections::BTreeMap<&'static str, i64>, k: &str| m.get(k).copied().unwrap_or(0);
        let money = |amount_minor| Money { amount_minor, currency: base_currency.to_string() };
        Self {
            total_customers: s.total,
            active_customers: n(&s.by_status, "active"),
            by_type: TypeCounts {
                individual: n(&s.by_type, "individual"),
                business: n(&s.by_type, "business"),
                enterprise: n(&s.by_type, "enterprise"),
                non_profit: n(&s.by_type, "non_profit"),
                government: n(&s.by_type, "government"),
            },
            by_lifecycle_stage: LifecycleCounts {
                prospect: n(&s.by_lifecycle_stage, "prospect"),
                lead: n(&s.by_lifecycle_stage, "lead"),
                customer: n(&s.by_lifecycle_stage, "customer"),
                churned: n(&s.by_lifecycle_stage, "churned"),
            },
            by_status: StatusCounts {
                active: n(&s.by_status, "active"),
                inactive: n(&s.by_status, "inactive"),
                archived: n(&s.by_status, "archived"),
            },
            total_revenue: money(s.total_revenue),
            average_value: money(s.average_value()),
        }
    }
}
