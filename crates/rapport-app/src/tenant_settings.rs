//! The tenant's own settings: name, base currency, phone region, time zone, match
//! thresholds, topic vocabulary and merge-undo window (SPEC section 2).

use rapport_core::conversation::normalize_topic;
use rapport_core::identity::Thresholds;
use rapport_core::role::Permission;
use rapport_core::{FieldError, Invalid};
use rapport_store::TenantRow;
use serde_json::{json, Map, Value};

use crate::record::Trail;
use crate::{App, AppError, AppResult, Principal, RequestMeta};

const FIELDS: &[&str] =
    &["name", "base_currency", "phone_region", "timezone", "match_thresholds", "topic_vocabulary", "merge_undo_days"];

fn tenant_values(t: &TenantRow) -> Value {
    json!({"name": t.name, "base_currency": t.base_currency, "phone_region": t.phone_region, "timezone": t.timezone, "settings": t.settings})
}

/// Applies a settings patch to `t`, checking every field.
fn apply(t: &mut TenantRow, input: &Map<String, Value>) -> Result<(), Invalid> {
    let mut e = Invalid::default();
    for k in input.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
        e.push(FieldError::new(k.clone(), "unknown_field", format!("{k} is not a tenant setting")));
    }
    let text = |k: &str| input.get(k).and_then(Value::as_str);
    if let Some(n) = input.get("name") {
        match n.as_str().map(|s| rapport_core::text::bounded("name", s, 1, 200)) {
            Some(Ok(n)) => t.name = n,
            Some(Err(err)) => e.push(err),
            None => e.push(FieldError::new("name", "invalid_type", "name must be a string")),
        }
    }
    if input.contains_key("base_currency") {
        let up = text("base_currency").unwrap_or("").to_ascii_uppercase();
        match iso_code_ok(&up) {
            true => t.base_currency = up,
            false => {
                e.push(FieldError::new("base_currency", "invalid_currency", "base_currency must be an ISO 4217 code"))
            }
        }
    }
    if input.contains_key("phone_region") {
        match rapport_core::contact::parse_region("phone_region", text("phone_region").unwrap_or("")) {
            Ok(r) => t.phone_region = r,
            Err(err) => e.push(err),
        }
    }
    if input.contains_key("timezone") {
        match text("timezone").map(chrono_tz_ok) {
            Some(true) => t.timezone = text("timezone").unwrap_or("UTC").to_string(),
            _ => e.push(FieldError::new("timezone", "invalid_timezone", "timezone must be an IANA time zone")),
        }
    }
    let mut settings = t.settings.as_object().cloned().unwrap_or_default();
    if let Some(v) = input.get("match_thresholds") {
        match serde_json::from_value::<Thresholds>(v.clone()) {
            Ok(th) if th.review <= th.link && th.link <= th.block && th.block <= 100 => {
                settings.insert("match_thresholds".into(), json!(th));
            }
            _ => e.push(FieldError::new(
                "match_thresholds",
                "invalid_value",
                "match_thresholds is {link, review, block} with review ≤ link ≤ block ≤ 100",
            )),
        }
    }
    if let Some(v) = input.get("topic_vocabulary") {
        match v.as_array().filter(|a| {
            a.len() <= 500 && a.iter().all(|x| x.as_str().is_some_and(|s| (1..=100).contains(&s.chars().count())))
        }) {
            Some(list) => {
                let mut topics: Vec<String> =
                    list.iter().filter_map(Value::as_str).map(normalize_topic).filter(|t| !t.is_empty()).collect();
                topics.dedup();
                settings.insert("topic_vocabulary".into(), json!(topics));
            }
            None => e.push(FieldError::new(
                "topic_vocabulary",
                "invalid_value",
                "topic_vocabulary is a list of at most 500 phrases of 1 to 100 characters",
            )),
        }
    }
    if let Some(v) = input.get("merge_undo_days") {
        match v.as_i64().filter(|d| (1..=365).contains(d)) {
            Some(d) => {
                settings.insert("merge_undo_days".into(), json!(d));
            }
            None => e.push(FieldError::new("merge_undo_days", "invalid_value", "merge_undo_days is 1 to 365")),
        }
    }
    t.settings = Value::Object(settings);
    e.into_result()
}

fn iso_code_ok(code: &str) -> bool {
    rapport_core::customer::is_currency(code)
}

fn chrono_tz_ok(s: &str) -> bool {
    rapport_core::customer::is_timezone(s)
}

impl App {
    pub async fn tenant_settings(&self, p: &Principal) -> AppResult<TenantRow> {
        self.tenant(p.tenant_id).await
    }

    pub async fn update_tenant_settings(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        input: &Value,
    ) -> AppResult<TenantRow> {
        p.require(Permission::TenantSettings, "change tenant settings")?;
        let Value::Object(m) = input else {
            return Err(AppError::invalid("", "invalid_type", "the body must be a JSON object"));
        };
        let mut tx = self.store.begin(p.tenant_id).await?;
        let old = tx.get_tenant().await?.ok_or(AppError::NotFound("tenant"))?;
        let mut t = old.clone();
        apply(&mut t, m)?;
        if t == old {
            return Ok(old);
        }
        tx.update_tenant(&t).await?;
        let actor = p.actor();
        Trail { actor: &actor, meta }
            .audit(tx.as_mut(), "tenants", t.id, "update", tenant_values(&old), tenant_values(&t))
            .await?;
        tx.commit().await?;
        Ok(t)
    }
}
