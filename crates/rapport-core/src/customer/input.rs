//! How a JSON input (create, PATCH or PUT) becomes a validated customer record.
//!
//! Create and update share one path: a create applies its input to a blank record. Every
//! bad field is reported at once, each with a stable code.

use std::str::FromStr;

use serde_json::{Map, Value};

use super::data::{Address, Bant, CustomerData, Preferences};
use super::enums::{Answer, CustomerType, LifecycleStage, Source, Status};
use super::limits as lim;
use super::reader::Reader;
use crate::contact::{Email, Phone};
use crate::text::{bounded, optional};
use crate::{FieldError, Invalid, Patch};

/// What the input is applied to, and how.
pub struct InputContext<'a> {
    /// The tenant's default phone region (ISO 3166 alpha-2).
    pub region: &'a str,
    /// Source of a new record when the input names none.
    pub default_source: Source,
    /// Whether the record needs an email or a phone: always, except for records the chat
    /// feed creates, where any one of name, email or phone is enough (SPEC section 1).
    pub require_contact_point: bool,
}

/// The result of applying an input: the new record and the requests that are not fields.
#[derive(Debug, Clone)]
pub struct Applied {
    pub data: CustomerData,
    /// The input asked for a soft delete (`status: "deleted"`, SPEC section 1).
    pub delete_requested: bool,
    /// Optional reason for a status or lifecycle change, kept on its event.
    pub status_reason: Option<String>,
    /// Create despite a likely duplicate (needs `customers:force_duplicate`).
    pub force: bool,
}

const WRITABLE: &[&str] = &[
    "name",
    "company_name",
    "job_title",
    "industry",
    "type",
    "email",
    "phone",
    "website",
    "address",
    "status",
    "lifecycle_stage",
    "tags",
    "source",
    "source_detail",
    "assigned_to",
    "portal_user_id",
    "currency",
    "language",
    "timezone",
    "bant",
    "preferences",
    "notes",
    "custom_fields",
    "last_contact_at",
    "next_follow_up_at",
    "status_reason",
    "force",
];

/// Fields a client may send back unchanged from a read; they are ignored, never written.
const READ_ONLY: &[&str] = &[
    "id",
    "tenant_id",
    "version",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "deleted_at",
    "deleted_by",
    "merged_into_customer_id",
    "lifecycle_updated_at",
    "total_revenue",
    "total_invoices",
    "lifetime_value",
    "lead_score",
    "churn_risk",
    "phone_e164",
    "phone_verified",
    "metrics",
];

/// Applies `input` to `current` (or to a blank record for a create).
pub fn apply_input(current: Option<&CustomerData>, input: &Value, ctx: &InputContext<'_>) -> Result<Applied, Invalid> {
    let Value::Object(obj) = input else {
        return Err(Invalid::one("", "invalid_type", "the body must be a JSON object"));
    };
    let creating = current.is_none();
    let mut d = current.cloned().unwrap_or_else(|| CustomerData::blank(ctx.default_source));
    let mut r = Reader::new(obj, "");
    let known: Vec<&str> = WRITABLE.iter().chain(READ_ONLY).copied().collect();
    r.reject_unknown(&known);

    if let Some(name) = required_text(&mut r, "name", lim::NAME) {
        d.name = name;
    }
    set_opt(&mut r, "company_name", lim::COMPANY_NAME, &mut d.company_name);
    set_opt(&mut r, "job_title", lim::JOB_TITLE, &mut d.job_title);
    set_opt(&mut r, "industry", lim::INDUSTRY, &mut d.industry);
    set_opt(&mut r, "source_detail", lim::SOURCE_DETAIL, &mut d.source_detail);
    set_opt(&mut r, "notes", lim::NOTES, &mut d.notes);

    if let Patch::Value(t) = r.parsed("type", |f, s| vocab(f, s, CustomerType::parse, CustomerType::expected)) {
        d.customer_type = t;
    }
    if let Patch::Value(s) = r.parsed("source", |f, s| vocab(f, s, Source::parse, Source::expected)) {
        d.source = s;
    }
    let mut delete_requested = false;
    match r.string("status") {
        Patch::Value(s) => match s.trim().to_ascii_lowercase().as_str() {
            "deleted" => delete_requested = true,
            "lead" => d.lifecycle_stage = LifecycleStage::Lead,
            "prospect" => d.lifecycle_stage = LifecycleStage::Prospect,
            other => match Status::parse(other) {
                Some(st) => d.status = st,
                None => r.errs.push(FieldError::new(
                    "status",
                    "invalid_value",
                    format!("status must be one of {} (or lead, prospect, deleted)", Status::expected()),
                )),
            },
        },
        Patch::Null => r.errs.push(FieldError::new("status", "required", "status cannot be null")),
        Patch::Absent => {}
    }
    match r.parsed("lifecycle_stage", |f, s| vocab(f, s, LifecycleStage::parse, LifecycleStage::expected)) {
        Patch::Value(l) => d.lifecycle_stage = l,
        Patch::Null => r.errs.push(FieldError::new("lifecycle_stage", "required", "lifecycle_stage cannot be null")),
        Patch::Absent => {}
    }

    d.email = r.parsed("email", Email::parse).apply_to(d.email.take());
    d.phone = r.parsed("phone", |f, s| Phone::parse(f, s, ctx.region)).apply_to(d.phone.take());
    d.website = r.parsed("website", parse_website).apply_to(d.website.take());
    d.currency = r.parsed("currency", parse_currency).apply_to(d.currency.take());
    d.language = r.parsed("language", parse_language).apply_to(d.language.take());
    d.timezone = r.parsed("timezone", parse_timezone).apply_to(d.timezone.take());
    d.assigned_to = r.uuid("assigned_to").apply_to(d.assigned_to.take());
    d.portal_user_id = r.uuid("portal_user_id").apply_to(d.portal_user_id.take());
    d.last_contact_at = r.time("last_contact_at").apply_to(d.last_contact_at.take());
    d.next_follow_up_at = r.time("next_follow_up_at").apply_to(d.next_follow_up_at.take());

    apply_address(&mut r, &mut d.address);
    apply_tags(&mut r, &mut d.tags);
    apply_bant(&mut r, &mut d.bant);
    apply_preferences(&mut r, &mut d.preferences);
    match r.object("custom_fields") {
        Patch::Value(m) => {
            if serde_json::to_string(m).map(|s| s.len()).unwrap_or(usize::MAX) > lim::CUSTOM_FIELDS_BYTES {
                r.errs.push(FieldError::new("custom_fields", "too_large", "custom_fields must be at most 16 KiB"));
            } else {
                d.custom_fields = m.clone();
            }
        }
        Patch::Null => d.custom_fields = Map::new(),
        Patch::Absent => {}
    }
    let status_reason = match r.string("status_reason") {
        Patch::Value(s) => r.errs.take(optional("status_reason", s, lim::STATUS_REASON)).flatten(),
        _ => None,
    };
    let force = r.boolean("force").unwrap_or(false);

    let mut errs = r.errs;
    check_required(&d, creating, ctx.require_contact_point, &mut errs);
    errs.into_result()?;
    Ok(Applied { data: d, delete_requested, status_reason, force })
}

/// The rules that hold for the record as a whole, after every field is applied.
fn check_required(d: &CustomerData, creating: bool, require_contact_point: bool, errs: &mut Invalid) {
    let reported = |errs: &Invalid, f: &str| errs.0.iter().any(|e| e.field == f);
    if d.name.is_empty() && !reported(errs, "name") {
        errs.push(FieldError::new("name", "required", "name is required"));
    }
    if require_contact_point
        && d.email.is_none()
        && d.phone.is_none()
        && !reported(errs, "email")
        && !reported(errs, "phone")
    {
        let msg =
            if creating { "a customer needs an email or a phone" } else { "a customer must keep an email or a phone" };
        errs.push(FieldError::new("email", "email_or_phone_required", msg));
    }
    if d.customer_type != CustomerType::Individual && d.company_name.is_none() && !reported(errs, "company_name") {
        errs.push(FieldError::new(
            "company_name",
            "required",
            "company_name is required for every type but individual",
        ));
    }
}

fn required_text(r: &mut Reader<'_>, key: &str, max: usize) -> Option<String> {
    match r.string(key) {
        Patch::Value(s) => r.errs.take(bounded(key, s, 1, max)),
        Patch::Null => {
            r.errs.push(FieldError::new(key, "required", format!("{key} cannot be null")));
            None
        }
        Patch::Absent => None,
    }
}

fn set_opt(r: &mut Reader<'_>, key: &str, max: usize, slot: &mut Option<String>) {
    let field = r.name(key);
    match r.string(key) {
        Patch::Value(s) => {
            if let Some(v) = r.errs.take(optional(&field, s, max)) {
                *slot = v;
            }
        }
        Patch::Null => *slot = None,
        Patch::Absent => {}
    }
}

fn vocab<T>(field: &str, s: &str, parse: fn(&str) -> Option<T>, expected: fn() -> String) -> Result<T, FieldError> {
    parse(s).ok_or_else(|| FieldError::new(field, "invalid_value", format!("{field} must be one of {}", expected())))
}

fn parse_website(field: &str, s: &str) -> Result<String, FieldError> {
    let t = bounded(field, s, 1, lim::WEBSITE)?;
    let with_scheme = if t.contains("://") { t.clone() } else { format!("https://{t}") };
    match url::Url::parse(&with_scheme) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| h.contains('.')) => Ok(t),
        _ => Err(FieldError::new(field, "invalid_url", format!("{field} must be an http(s) URL"))),
    }
}

/// Whether `code` (upper case) is an ISO 4217 currency.
pub fn is_currency(code: &str) -> bool {
    iso_currency::Currency::from_code(code).is_some()
}

/// Whether `name` is an IANA time zone.
pub fn is_timezone(name: &str) -> bool {
    chrono_tz::Tz::from_str(name.trim()).is_ok()
}

fn parse_currency(field: &str, s: &str) -> Result<String, FieldError> {
    let up = s.trim().to_ascii_uppercase();
    iso_currency::Currency::from_code(&up)
        .map(|_| up)
        .ok_or_else(|| FieldError::new(field, "invalid_currency", format!("{field} must be an ISO 4217 code")))
}

fn parse_language(field: &str, s: &str) -> Result<String, FieldError> {
    language_tags::LanguageTag::parse(s.trim())
        .map(|t| t.to_string())
        .map_err(|_| FieldError::new(field, "invalid_language", format!("{field} must be a BCP 47 language tag")))
}

fn parse_timezone(field: &str, s: &str) -> Result<String, FieldError> {
    chrono_tz::Tz::from_str(s.trim())
        .map(|tz| tz.name().to_string())
        .map_err(|_| FieldError::new(field, "invalid_timezone", format!("{field} must be an IANA time zone")))
}

/// ISO 3166-1 alpha-2 country code, upper case.
pub fn parse_country(field: &str, s: &str) -> Result<String, FieldError> {
    let up = s.trim().to_ascii_uppercase();
    match celes::Country::from_alpha2(&up) {
        Ok(_) => Ok(up),
        Err(_) => Err(FieldError::new(field, "invalid_country", format!("{field} must be an ISO 3166 alpha-2 code"))),
    }
}

fn apply_address(r: &mut Reader<'_>, a: &mut Address) {
    match r.raw("address") {
        // A single free-text address (000's customer_address) is kept as the street.
        Patch::Value(Value::String(s)) => {
            if let Some(v) = r.errs.take(optional("address", s, lim::STREET)) {
                a.street = v;
            }
        }
        Patch::Value(Value::Object(m)) => {
            let mut sub = Reader::new(m, "address");
            sub.reject_unknown(&["street", "city", "state", "postal_code", "country"]);
            set_opt(&mut sub, "street", lim::STREET, &mut a.street);
            set_opt(&mut sub, "city", lim::CITY, &mut a.city);
            set_opt(&mut sub, "state", lim::STATE, &mut a.state);
            set_opt(&mut sub, "postal_code", lim::POSTAL_CODE, &mut a.postal_code);
            a.country = sub.parsed("country", parse_country).apply_to(a.country.take());
            r.errs.0.extend(sub.errs.0);
        }
        Patch::Value(_) => {
            r.errs.push(FieldError::new("address", "invalid_type", "address must be a string or an object"))
        }
        Patch::Null => *a = Address::default(),
        Patch::Absent => {}
    }
}

fn apply_tags(r: &mut Reader<'_>, tags: &mut Vec<String>) {
    let list = match r.array("tags") {
        Patch::Value(list) => list,
        Patch::Null => {
            tags.clear();
            return;
        }
        Patch::Absent => return,
    };
    let mut out: Vec<String> = Vec::new();
    let mut errs = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let field = format!("tags[{i}]");
        match v.as_str().map(|s| bounded(&field, s, 1, lim::TAG)) {
            Some(Ok(t)) => {
                // Unique case-insensitively, kept as first written.
                if !out.iter().any(|o| o.to_lowercase() == t.to_lowercase()) {
                    out.push(t);
                }
            }
            Some(Err(e)) => errs.push(e),
            None => errs.push(FieldError::new(field.clone(), "invalid_type", format!("{field} must be a string"))),
        }
    }
    if out.len() > lim::TAGS {
        errs.push(FieldError::new("tags", "too_many", "a customer has at most 50 tags"));
    }
    if errs.is_empty() {
        *tags = out;
    } else {
        r.errs.0.extend(errs);
    }
}

fn apply_bant(r: &mut Reader<'_>, b: &mut Bant) {
    let m = match r.object("bant") {
        Patch::Value(m) => m,
        Patch::Null => {
            *b = Bant::default();
            return;
        }
        Patch::Absent => return,
    };
    let mut sub = Reader::new(m, "bant");
    sub.reject_unknown(&["budget", "authority", "need", "timeline"]);
    for (key, slot) in [
        ("budget", &mut b.budget),
        ("authority", &mut b.authority),
        ("need", &mut b.need),
        ("timeline", &mut b.timeline),
    ] {
        match sub.parsed(key, |f, s| vocab(f, s, Answer::parse, Answer::expected)) {
            Patch::Value(a) => *slot = a,
            Patch::Null => *slot = Answer::Unknown,
            Patch::Absent => {}
        }
    }
    r.errs.0.extend(sub.errs.0);
}

fn apply_preferences(r: &mut Reader<'_>, p: &mut Preferences) {
    let m = match r.object("preferences") {
        Patch::Value(m) => m,
        Patch::Null => {
            *p = Preferences::default();
            return;
        }
        Patch::Absent => return,
    };
    let mut sub = Reader::new(m, "preferences");
    sub.reject_unknown(&["email", "sms", "phone", "chat", "do_not_contact"]);
    for (key, slot) in [
        ("email", &mut p.email),
        ("sms", &mut p.sms),
        ("phone", &mut p.phone),
        ("chat", &mut p.chat),
        ("do_not_contact", &mut p.do_not_contact),
    ] {
        if let Some(v) = sub.boolean(key) {
            *slot = v;
        }
    }
    r.errs.0.extend(sub.errs.0);
}
