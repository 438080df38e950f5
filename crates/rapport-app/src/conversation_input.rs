//! A conversation body (SPEC section 5), parsed and checked one way for the chat feed's PUT
//! and for bulk loading: channel, contact, messages, counts, times, summary, topics, metadata.

use rapport_core::contact::Email;
use rapport_core::conversation::{
    extract_topics, extractive_summary, normalize_topic, parse_messages, parse_session_id, CHANNELS,
};
use rapport_core::{FieldError, Invalid};
use rapport_store::ConversationRow;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{AppError, AppResult};

/// The contact details a person gave in a chat.
#[derive(Debug, Clone, Default)]
pub(crate) struct Contact {
    pub name: Option<String>,
    pub email: Option<Email>,
    pub phone_raw: Option<String>,
    pub address: Option<String>,
}

fn text(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn parse_contact(v: &Value, errs: &mut Invalid) -> (Contact, Value) {
    if !v.is_object() {
        errs.push(FieldError::new("contact", "invalid_type", "contact must be an object"));
        return (Contact::default(), json!({}));
    }
    let email = text(v, "email").and_then(|e| errs.take(Email::parse("contact.email", &e)));
    let c = Contact {
        name: text(v, "name").map(|n| n.chars().take(200).collect()),
        email,
        phone_raw: text(v, "phone").map(|p| p.chars().take(50).collect()),
        address: text(v, "address"),
    };
    let stored = json!({"name": c.name, "email": c.email.as_ref().map(Email::as_str), "phone": c.phone_raw, "address": c.address});
    (c, stored)
}

fn contact_of(stored: &Value) -> Contact {
    Contact {
        name: text(stored, "name"),
        email: text(stored, "email").and_then(|e| Email::parse("email", &e).ok()),
        phone_raw: text(stored, "phone"),
        address: text(stored, "address"),
    }
}

fn count(v: &Value, k: &str, errs: &mut Invalid) -> Option<i64> {
    match v.get(k) {
        None | Some(Value::Null) => None,
        Some(x) => match x.as_i64().filter(|n| (0..=1_000_000_000).contains(n)) {
            Some(n) => Some(n),
            None => {
                errs.push(FieldError::new(k, "invalid_value", format!("{k} must be a whole number from 0")));
                None
            }
        },
    }
}

fn time(v: &Value, k: &str, errs: &mut Invalid) -> Option<Option<time::OffsetDateTime>> {
    match v.get(k) {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => {
            match time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
                Ok(t) => Some(Some(t)),
                Err(_) => {
                    errs.push(FieldError::new(k, "invalid_time", format!("{k} must be an RFC 3339 time")));
                    None
                }
            }
        }
        Some(_) => {
            errs.push(FieldError::new(k, "invalid_time", format!("{k} must be an RFC 3339 time")));
            None
        }
    }
}

const FIELDS: &[&str] = &[
    "channel",
    "contact",
    "messages",
    "interaction_count",
    "view_count",
    "duration_seconds",
    "started_at",
    "ended_at",
    "summary",
    "topics",
    "metadata",
];

/// A session id as the chat feed names a conversation.
pub(crate) fn session(raw: &str) -> AppResult<String> {
    parse_session_id(raw).map_err(|e| AppError::Validation(Invalid(vec![e])))
}

/// The body as an object, with one error already for each field a conversation does not have.
pub(crate) fn checked_fields(body: &Value) -> AppResult<(&Map<String, Value>, Invalid)> {
    let Value::Object(obj) = body else {
        return Err(AppError::invalid("", "invalid_type", "the body must be a JSON object"));
    };
    let mut errs = Invalid::default();
    for k in obj.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
        errs.push(FieldError::new(k.clone(), "unknown_field", format!("{k} is not a field of a conversation")));
    }
    Ok((obj, errs))
}

/// A new conversation of `session`, before its body is applied.
pub(crate) fn new_row(tenant: Uuid, session: &str, at: OffsetDateTime) -> ConversationRow {
    ConversationRow {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        session_id: session.to_string(),
        customer_id: None,
        channel: "web_chat".into(),
        contact: json!({}),
        messages: json!([]),
        interaction_count: 0,
        view_count: 0,
        duration_seconds: 0,
        started_at: None,
        ended_at: None,
        summary: None,
        topics: Vec::new(),
        metadata: json!({}),
        deleted_at: None,
        created_at: at,
        updated_at: at,
        version: 0,
    }
}

/// Applies the fields `body` gives to `c`, collecting what is wrong in `errs`; answers the
/// person's contact details (as given, else as stored) and the topics the caller gave.
pub(crate) fn apply_body(c: &mut ConversationRow, body: &Value, errs: &mut Invalid) -> (Contact, Option<Vec<String>>) {
    let empty = Map::new();
    let obj = body.as_object().unwrap_or(&empty);
    if let Some(ch) = obj.get("channel") {
        match ch.as_str().filter(|s| CHANNELS.contains(s)) {
            Some(s) => c.channel = s.to_string(),
            None => errs.push(FieldError::new(
                "channel",
                "invalid_value",
                format!("channel must be one of {}", CHANNELS.join(", ")),
            )),
        }
    }
    let mut contact = contact_of(&c.contact);
    if let Some(v) = obj.get("contact") {
        let (parsed, stored) = parse_contact(v, errs);
        contact = parsed;
        c.contact = stored;
    }
    if let Some(v) = obj.get("messages") {
        c.messages = Value::Array(parse_messages("messages", v, errs));
    }
    c.interaction_count = count(body, "interaction_count", errs).unwrap_or(c.interaction_count);
    c.view_count = count(body, "view_count", errs).unwrap_or(c.view_count);
    c.duration_seconds = count(body, "duration_seconds", errs).unwrap_or(c.duration_seconds);
    if let Some(t) = time(body, "started_at", errs) {
        c.started_at = t;
    }
    if let Some(t) = time(body, "ended_at", errs) {
        c.ended_at = t;
    }
    match obj.get("summary") {
        Some(Value::String(s)) if s.chars().count() <= 2000 => {
            c.summary = Some(s.trim().to_string()).filter(|s| !s.is_empty())
        }
        Some(Value::Null) | None => {}
        Some(_) => errs.push(FieldError::new("summary", "invalid_value", "summary is text of at most 2000 characters")),
    }
    let given_topics = match obj.get("topics") {
        Some(Value::Array(ts))
            if ts.iter().all(|t| t.as_str().is_some_and(|s| s.chars().count() <= 100)) && ts.len() <= 50 =>
        {
            Some(ts.iter().filter_map(Value::as_str).map(normalize_topic).filter(|t| !t.is_empty()).collect::<Vec<_>>())
        }
        Some(Value::Null) | None => None,
        Some(_) => {
            errs.push(FieldError::new(
                "topics",
                "invalid_value",
                "topics is a list of at most 50 texts of 100 characters",
            ));
            None
        }
    };
    match obj.get("metadata") {
        Some(Value::Object(m))
            if serde_json::to_string(m).map(|s| s.len() <= 16 * 1024 && !s.contains("\\u0000")).unwrap_or(false) =>
        {
            c.metadata = Value::Object(m.clone())
        }
        Some(Value::Null) | None => {}
        Some(_) => errs.push(FieldError::new("metadata", "invalid_value", "metadata is an object of at most 16 KiB")),
    }
    if contact.name.is_none() && contact.email.is_none() && contact.phone_raw.is_none() && errs.is_empty() {
        errs.push(FieldError::new(
            "contact",
            "identifier_required",
            "a conversation needs a name, an email or a phone of the person",
        ));
    }
    (contact, given_topics)
}

/// A new conversation of `session` made from `body` as the chat feed makes one (fields
/// checked, summary and topics made when not given), with its person's contact details.
pub(crate) fn new_conversation(
    tenant: Uuid,
    session: &str,
    body: &Value,
    at: OffsetDateTime,
    vocab: &[String],
) -> AppResult<(ConversationRow, Contact)> {
    let (obj, mut errs) = checked_fields(body)?;
    let mut c = new_row(tenant, session, at);
    let (contact, topics) = apply_body(&mut c, body, &mut errs);
    errs.into_result()?;
    summarize(&mut c, obj.contains_key("summary"), topics, vocab);
    c.version = 1;
    Ok((c, contact))
}

/// Makes the summary and topics the caller did not give: an extractive summary, and the
/// tenant's vocabulary plus key phrases found in the messages.
pub(crate) fn summarize(
    c: &mut ConversationRow,
    summary_given: bool,
    given_topics: Option<Vec<String>>,
    vocab: &[String],
) {
    let messages: Vec<Value> = c.messages.as_array().cloned().unwrap_or_default();
    if !summary_given && c.summary.is_none() {
        c.summary = extractive_summary(&messages);
    }
    c.topics = match given_topics {
        Some(t) => t,
        None => extract_topics(&messages, vocab),
    };
}

/// The tenant's topic vocabulary, from its settings.
pub(crate) fn vocabulary(settings: &Value) -> Vec<String> {
    serde_json::from_value(settings["topic_vocabulary"].clone()).unwrap_or_default()
}
