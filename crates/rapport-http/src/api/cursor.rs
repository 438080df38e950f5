//! Opaque keyset cursors: the sort they belong to, the last sort value and id, base64url.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rapport_app::AppError;
use rapport_store::{Cursor, SortValue};
use serde_json::{json, Value};
use time::OffsetDateTime;
use uuid::Uuid;

pub fn encode(sort: &str, c: &Cursor) -> String {
    let v = match &c.value {
        SortValue::Text(s) => json!({"t": s}),
        SortValue::Int(i) => json!({"i": i}),
        SortValue::Time(t) => json!({"u": (t.unix_timestamp_nanos() / 1000) as i64}),
        SortValue::Missing => json!({}),
    };
    URL_SAFE_NO_PAD.encode(json!({"s": sort, "v": v, "id": c.id}).to_string())
}

fn bad() -> AppError {
    AppError::invalid("cursor", "invalid_cursor", "cursor is not one this list gave out")
}

/// Decodes a cursor made for the same sort.
pub fn decode(sort: &str, raw: &str) -> Result<Cursor, AppError> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if v["s"].as_str() != Some(sort) {
        return Err(AppError::invalid("cursor", "invalid_cursor", "cursor belongs to another sort order"));
    }
    let id = v["id"].as_str().and_then(|s| Uuid::parse_str(s).ok()).ok_or_else(bad)?;
    let val = &v["v"];
    let value = if let Some(s) = val["t"].as_str() {
        SortValue::Text(s.to_string())
    } else if let Some(i) = val["i"].as_i64() {
        SortValue::Int(i)
    } else if let Some(u) = val["u"].as_i64() {
        SortValue::Time(OffsetDateTime::from_unix_timestamp_nanos(i128::from(u) * 1000).map_err(|_| bad())?)
    } else {
        SortValue::Missing
    };
    Ok(Cursor { value, id })
}

/// The review queue's cursor after `c`.
pub fn encode_pair(c: &rapport_store::PairCursor) -> String {
    let u = (c.updated_at.unix_timestamp_nanos() / 1000) as i64;
    let v = json!({"s": "pairs", "c": c.confidence, "p": c.probability, "u": u, "a": c.customer_a, "b": c.customer_b});
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// Decodes a cursor of the review queue.
pub fn decode_pair(raw: &str) -> Result<rapport_store::PairCursor, AppError> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if v["s"].as_str() != Some("pairs") {
        return Err(bad());
    }
    let id = |k: &str| v[k].as_str().and_then(|s| Uuid::parse_str(s).ok()).ok_or_else(bad);
    let u = v["u"].as_i64().ok_or_else(bad)?;
    Ok(rapport_store::PairCursor {
        confidence: v["c"].as_i64().and_then(|c| i32::try_from(c).ok()).ok_or_else(bad)?,
        probability: v["p"].as_f64().ok_or_else(bad)?,
        updated_at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(u) * 1000).map_err(|_| bad())?,
        customer_a: id("a")?,
        customer_b: id("b")?,
    })
}

/// A simple cursor over ids or sequence numbers.
pub fn encode_plain(v: &str) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

pub fn decode_plain(raw: &str) -> Result<String, AppError> {
    URL_SAFE_NO_PAD.decode(raw).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(bad)
}

/// The id a plain cursor holds, for lists ordered by id, newest first.
pub fn before_id(raw: &Option<String>) -> Result<Option<Uuid>, AppError> {
    match raw {
        None => Ok(None),
        Some(c) => decode_plain(c).ok().and_then(|s| Uuid::parse_str(&s).ok()).map(Some).ok_or_else(bad),
    }
}

/// The cursor of the page after one of `len` rows ending at `last`: none when it was not full.
pub fn next_id(len: usize, limit: u32, last: Option<Uuid>) -> Option<String> {
    (len == limit as usize).then(|| last.map(|id| encode_plain(&id.to_string()))).flatten()
}
