//! The tamper-evident audit chain (SPEC section 6).
//!
//! Entries are numbered per tenant. Each entry's hash is SHA-256 over the previous entry's
//! hash and the canonical form of the entry, in which the old and new values enter only as
//! their own digest: erasure may redact values and keep the digest, and the chain still holds.

use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

/// The hash that precedes a tenant's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields of an entry that its hash covers.
#[derive(Debug, Clone)]
pub struct ChainedFields<'a> {
    pub tenant_id: Uuid,
    pub seq: i64,
    pub table_name: &'a str,
    pub record_id: Uuid,
    pub action: &'a str,
    pub actor_type: &'a str,
    pub actor_id: Option<Uuid>,
    pub conversation_id: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub at: OffsetDateTime,
    pub values_digest: &'a str,
}

/// Now, truncated to the microsecond both databases keep.
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}

/// RFC 3339 in UTC with exactly six fractional digits: one spelling per instant.
///
/// Written digit by digit: a page of customers spells some 250 times, and `format!` with
/// its padded fields was about a twentieth of a list request's time.
pub fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let year = t.year();
    if !(0..=9999).contains(&year) {
        return spelled_by_fields(t);
    }
    let mut b = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year as u32);
    put(5, 2, u32::from(u8::from(t.month())));
    put(8, 2, u32::from(t.day()));
    put(11, 2, u32::from(t.hour()));
    put(14, 2, u32::from(t.minute()));
    put(17, 2, u32::from(t.second()));
    put(20, 6, t.microsecond());
    // Every byte is an ASCII digit or one of `-T:.Z`.
    std::str::from_utf8(&b).unwrap_or_default().to_owned()
}

/// The spelling `format_time` writes, by `format!` (years outside 0-9999, and its test).
fn spelled_by_fields(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// JSON with object keys sorted at every level, so a value read back from either
/// database (PostgreSQL's jsonb reorders keys) hashes the same as when it was written.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Digest of an entry's old and new values.
pub fn values_digest(old: &Value, new: &Value) -> String {
    sha256_hex(format!("{}\n{}", canonical_json(old), canonical_json(new)).as_bytes())
}

/// The hash of an entry, chained to the previous one.
pub fn chain_hash(prev_hash: &str, e: &ChainedFields<'_>) -> String {
    let opt = |s: Option<&str>| s.unwrap_or("").replace(['\\', '\n'], " ");
    let line = [
        e.tenant_id.to_string(),
        e.seq.to_string(),
        e.table_name.to_string(),
        e.record_id.to_string(),
        e.action.to_string(),
        e.actor_type.to_string(),
        e.actor_id.map(|u| u.to_string()).unwrap_or_default(),
        opt(e.conversation_id),
        opt(e.ip),
        opt(e.user_agent),
        opt(e.request_id),
        format_time(e.at),
        e.values_digest.to_string(),
    ]
    .join("\n");
    sha256_hex(format!("{prev_hash}\n{line}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(digest: &str) -> ChainedFields<'_> {
        ChainedFields {
            tenant_id: Uuid::nil(),
            seq: 1,
            table_name: "customers",
            record_id: Uuid::nil(),
            action: "insert",
            actor_type: "user",
            actor_id: None,
            conversation_id: None,
            ip: Some("127.0.0.1"),
            user_agent: None,
            request_id: None,
            at: OffsetDateTime::UNIX_EPOCH,
            values_digest: digest,
        }
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a = json!({"b": 1, "a": {"y": [1, {"d": 2, "c": 3}], "x": null}});
        assert_eq!(canonical_json(&a), r#"{"a":{"x":null,"y":[1,{"c":3,"d":2}]},"b":1}"#);
    }

    #[test]
    fn any_change_changes_the_hash() {
        let d = values_digest(&json!({}), &json!({"name": "Ann"}));
        let h = chain_hash(GENESIS, &fields(&d));
        let d2 = values_digest(&json!({}), &json!({"name": "Anne"}));
        assert_ne!(h, chain_hash(GENESIS, &fields(&d2)));
        assert_ne!(h, chain_hash(&h, &fields(&d)));
        let mut f = fields(&d);
        f.seq = 2;
        assert_ne!(h, chain_hash(GENESIS, &f));
    }

    #[test]
    fn time_has_one_spelling() {
        assert_eq!(format_time(OffsetDateTime::UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        let t = time::macros::datetime!(2026-12-06 09:05:03.000042 +02:00);
        assert_eq!(format_time(t), "2026-12-06T07:05:03.000042Z");
        let t = time::macros::datetime!(0009-01-02 23:59:59.999999 UTC);
        assert_eq!(format_time(t), "0009-01-02T23:59:59.999999Z");
    }

    proptest::proptest! {
        #[test]
        fn time_is_spelled_as_its_fields_say(secs in -62_167_219_200i64..253_402_300_799, micros in 0u32..1_000_000) {
            let t = OffsetDateTime::from_unix_timestamp(secs).unwrap().replace_microsecond(micros).unwrap();
            proptest::prop_assert_eq!(format_time(t), spelled_by_fields(t));
        }
    }
}
