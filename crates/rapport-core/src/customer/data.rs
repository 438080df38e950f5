//! The validated state of a customer record: what the store keeps and the audit diffs.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use super::enums::{Answer, CustomerType, LifecycleStage, Source, Status};
use crate::contact::{Email, Phone};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub street: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: Option<String>,
}

/// Lead qualification (004): budget, authority, need, timeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bant {
    pub budget: Answer,
    pub authority: Answer,
    pub need: Answer,
    pub timeline: Answer,
}

/// Contact channel opt-ins and the do-not-contact flag (004; consent for GDPR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    pub email: bool,
    pub sms: bool,
    pub phone: bool,
    pub chat: bool,
    pub do_not_contact: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Self { email: true, sms: false, phone: true, chat: true, do_not_contact: false }
    }
}

/// Every writable field of a customer, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerData {
    pub name: String,
    pub company_name: Option<String>,
    pub job_title: Option<String>,
    pub industry: Option<String>,
    pub customer_type: CustomerType,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub website: Option<String>,
    pub address: Address,
    pub status: Status,
    pub lifecycle_stage: LifecycleStage,
    pub tags: Vec<String>,
    pub source: Source,
    pub source_detail: Option<String>,
    pub assigned_to: Option<Uuid>,
    pub portal_user_id: Option<Uuid>,
    pub currency: Option<String>,
    pub language: Option<String>,
    pub timezone: Option<String>,
    pub bant: Bant,
    pub preferences: Preferences,
    pub notes: Option<String>,
    pub custom_fields: Map<String, Value>,
    pub last_contact_at: Option<OffsetDateTime>,
    pub next_follow_up_at: Option<OffsetDateTime>,
}

impl CustomerData {
    /// An empty record to which a create applies its input.
    pub fn blank(source: Source) -> Self {
        Self {
            name: String::new(),
            company_name: None,
            job_title: None,
            industry: None,
            customer_type: CustomerType::Individual,
            email: None,
            phone: None,
            website: None,
            address: Address::default(),
            status: Status::Active,
            lifecycle_stage: LifecycleStage::Prospect,
            tags: Vec::new(),
            source,
            source_detail: None,
            assigned_to: None,
            portal_user_id: None,
            currency: None,
            language: None,
            timezone: None,
            bant: Bant::default(),
            preferences: Preferences::default(),
            notes: None,
            custom_fields: Map::new(),
            last_contact_at: None,
            next_follow_up_at: None,
        }
    }

    /// The record as a flat JSON object of its writable fields: what the audit log diffs.
    pub fn to_audit_map(&self) -> Map<String, Value> {
        let ts = |t: &Option<OffsetDateTime>| match t {
            Some(t) => Value::String(crate::audit::format_time(*t)),
            None => Value::Null,
        };
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        put("name", self.name.clone().into());
        put("company_name", self.company_name.clone().into());
        put("job_title", self.job_title.clone().into());
        put("industry", self.industry.clone().into());
        put("type", self.customer_type.as_str().into());
        put("email", self.email.as_ref().map(|e| e.as_str().to_string()).into());
        put("phone", self.phone.as_ref().map(|p| p.as_str().to_string()).into());
        put("website", self.website.clone().into());
        put("address", serde_json::to_value(&self.address).unwrap_or(Value::Null));
        put("status", self.status.as_str().into());
        put("lifecycle_stage", self.lifecycle_stage.as_str().into());
        put("tags", self.tags.clone().into());
        put("source", self.source.as_str().into());
        put("source_detail", self.source_detail.clone().into());
        put("assigned_to", self.assigned_to.map(|u| u.to_string()).into());
        put("portal_user_id", self.portal_user_id.map(|u| u.to_string()).into());
        put("currency", self.currency.clone().into());
        put("language", self.language.clone().into());
        put("timezone", self.timezone.clone().into());
        put("bant", serde_json::to_value(self.bant).unwrap_or(Value::Null));
        put("preferences", serde_json::to_value(self.preferences).unwrap_or(Value::Null));
        put("notes", self.notes.clone().into());
        put("custom_fields", Value::Object(self.custom_fields.clone()));
        put("last_contact_at", ts(&self.last_contact_at));
        put("next_follow_up_at", ts(&self.next_follow_up_at));
        m
    }
}

/// The fields whose values differ between two records, with old and new values.
pub fn diff(old: &Map<String, Value>, new: &Map<String, Value>) -> (Map<String, Value>, Map<String, Value>) {
    let mut before = Map::new();
    let mut after = Map::new();
    for (k, v) in new {
        let o = old.get(k).unwrap_or(&Value::Null);
        if o != v {
            before.insert(k.clone(), o.clone());
            after.insert(k.clone(), v.clone());
        }
    }
    (before, after)
}
