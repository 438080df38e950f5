//! Conversations of the chat feed (SPEC section 5): parsing what a chat system sends, and
//! the extractive summary and topics made when it sends none.

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::identity::fold_name;
use crate::{FieldError, Invalid};

pub const CHANNELS: &[&str] = &["web_chat", "whatsapp", "sms", "email", "phone", "other"];
pub const ROLES: &[&str] = &["customer", "assistant", "agent"];
const MAX_MESSAGES: usize = 1000;
const MAX_TEXT: usize = 10_000;

/// A session id: 1..200 visible ASCII characters, no slash.
pub fn parse_session_id(s: &str) -> Result<String, FieldError> {
    let ok = !s.is_empty() && s.len() <= 200 && s.chars().all(|c| c.is_ascii_graphic() && c != '/');
    if ok {
        Ok(s.to_string())
    } else {
        Err(FieldError::new("session_id", "invalid_session_id", "session_id has 1 to 200 visible ASCII characters"))
    }
}

/// One message, checked: role, text, optional time.
pub fn parse_messages(field: &str, v: &Value, errs: &mut Invalid) -> Vec<Value> {
    let Value::Array(list) = v else {
        errs.push(FieldError::new(field, "invalid_type", format!("{field} must be an array")));
        return Vec::new();
    };
    if list.len() > MAX_MESSAGES {
        errs.push(FieldError::new(field, "too_many", format!("at most {MAX_MESSAGES} messages per request")));
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, m) in list.iter().enumerate() {
        let f = format!("{field}[{i}]");
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        if !ROLES.contains(&role) {
            errs.push(FieldError::new(
                format!("{f}.role"),
                "invalid_value",
                "role must be customer, assistant or agent",
            ));
            continue;
        }
        let Some(text) = m.get("text").and_then(Value::as_str) else {
            errs.push(FieldError::new(format!("{f}.text"), "required", "text is required"));
            continue;
        };
        if text.chars().count() > MAX_TEXT || text.contains('\0') {
            errs.push(FieldError::new(format!("{f}.text"), "too_long", "text has at most 10000 characters and no NUL"));
            continue;
        }
        let mut msg = Map::new();
        msg.insert("role".into(), role.into());
        msg.insert("text".into(), text.into());
        match m.get("at") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if OffsetDateTime::parse(s, &Rfc3339).is_ok() => {
                msg.insert("at".into(), s.clone().into());
            }
            Some(_) => {
                errs.push(FieldError::new(format!("{f}.at"), "invalid_time", "at must be an RFC 3339 time"));
                continue;
            }
        }
        out.push(Value::Object(msg));
    }
    out
}

/// An extractive summary: the customer's first sentences, at most about 300 characters.
pub fn extractive_summary(messages: &[Value]) -> Option<String> {
    let mut out = String::new();
    for m in messages.iter().filter(|m| m["role"] == "customer") {
        for sentence in m["text"].as_str().unwrap_or("").split_inclusive(['.', '?', '!', '\n']) {
            let s = sentence.trim();
            if s.chars().count() < 3 {
                continue;
            }
            if out.chars().count() + s.chars().count() > 300 {
                return (!out.is_empty()).then_some(out);
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(s);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A topic in its normal form: folded, each word singular ("Outdoor Kitchens" = "outdoor kitchen").
pub fn normalize_topic(s: &str) -> String {
    fold_name(s).split(' ').filter(|w| !w.is_empty()).map(singular).collect::<Vec<_>>().join(" ")
}

fn singular(w: &str) -> String {
    if w.len() > 4 && w.ends_with("ies") {
        format!("{}y", &w[..w.len() - 3])
    } else if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        w[..w.len() - 1].to_string()
    } else {
        w.to_string()
    }
}

const STOPWORDS: &[&str] = &[
    "about", "after", "again", "also", "been", "before", "being", "could", "does", "doing", "from", "have", "hello",
    "just", "know", "like", "looking", "make", "maybe", "more", "much", "need", "please", "really", "some", "thank",
    "thanks", "that", "their", "them", "then", "there", "these", "they", "this", "those", "want", "what", "when",
    "where", "which", "will", "with", "would", "your", "yours", "here", "into", "over", "very", "well", "were",
    "while", "should", "hi",
];

/// Topics of a conversation: phrases of the tenant's vocabulary that occur in what the
/// customer said, then words the customer repeated, normalized; at most eight.
pub fn extract_topics(messages: &[Value], vocabulary: &[String]) -> Vec<String> {
    let text: String = messages
        .iter()
        .filter(|m| m["role"] == "customer")
        .filter_map(|m| m["text"].as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let normalized = format!(" {} ", normalize_topic(&text));
    let mut topics: Vec<String> = Vec::new();
    for phrase in vocabulary.iter().map(|v| normalize_topic(v)).filter(|p| !p.is_empty()) {
        if normalized.contains(&format!(" {phrase} ")) && !topics.contains(&phrase) {
            topics.push(phrase);
        }
    }
    let mut counts: Vec<(String, usize)> = Vec::new();
    for w in normalized
        .split(' ')
        .filter(|w| w.chars().count() >= 4 && !STOPWORDS.contains(w) && !w.chars().all(|c| c.is_ascii_digit()))
    {
        match counts.iter_mut().find(|(x, _)| x == w) {
            Some((_, n)) => *n += 1,
            None => counts.push((w.to_string(), 1)),
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    for (w, n) in counts {
        if n < 2 || topics.len() >= 8 {
            break;
        }
        if !topics.iter().any(|t| t.split(' ').any(|x| x == w)) {
            topics.push(w);
        }
    }
    topics.truncate(8);
    topics
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn topics_come_from_the_vocabulary_and_repetition() {
        let msgs = vec![
            json!({"role": "customer", "text": "Hi! I want a quote for Outdoor Kitchens and a retaining wall."}),
            json!({"role": "assistant", "text": "Sure, pergolas pergolas pergolas?"}),
            json!({"role": "customer", "text": "The quote should include lighting. Lighting matters."}),
        ];
        let vocab = vec!["outdoor kitchen".to_string(), "Retaining Walls".to_string(), "excavation".to_string()];
        let t = extract_topics(&msgs, &vocab);
        assert_eq!(t[..2], ["outdoor kitchen".to_string(), "retaining wall".to_string()]);
        assert!(t.contains(&"quote".to_string()) && t.contains(&"lighting".to_string()), "{t:?}");
        assert!(!t.contains(&"pergola".to_string()), "only what the customer said counts");
        assert_eq!(normalize_topic("Paver Patios"), "paver patio");
        assert_eq!(normalize_topic("Companies"), "company");
    }

    #[test]
    fn summary_is_the_customers_first_sentences() {
        let msgs = vec![
            json!({"role": "assistant", "text": "Welcome."}),
            json!({"role": "customer", "text": "I need a patio. Next month. Budget is tight!"}),
        ];
        assert_eq!(extractive_summary(&msgs).as_deref(), Some("I need a patio. Next month. Budget is tight!"));
        assert_eq!(extractive_summary(&[]), None);
    }

    #[test]
    fn session_ids_and_messages_are_checked() {
        assert!(parse_session_id("web-123:abc").is_ok());
        assert!(parse_session_id("a/b").is_err());
        assert!(parse_session_id("").is_err());
        let mut e = Invalid::default();
        let ok = parse_messages(
            "messages",
            &json!([{"role": "customer", "text": "hi", "at": "2026-01-01T00:00:00Z"}, {"role": "bot", "text": "x"}]),
            &mut e,
        );
        assert_eq!(ok.len(), 1);
        assert_eq!(e.0[0].field, "messages[1].role");
    }
}
