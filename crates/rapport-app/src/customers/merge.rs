//! Merging duplicates into one survivor, and undoing it (SPEC section 7).

use std::collections::HashMap;

use rapport_core::audit::now;
use rapport_core::customer::{apply_input, diff, plan_merge, undo_plan, InputContext};
use rapport_core::role::Permission;
use rapport_store::{CustomerRow, MergeLogRow};
use serde_json::{json, Map, Value};
use time::Duration;
use uuid::Uuid;

use super::{audit_values, reach_by_id};
use crate::record::Trail;
use crate::{App, AppError, AppResult, Principal, RequestMeta};

/// What an undo could not revert because it changed since the merge.
#[derive(Debug, Clone)]
pub struct Undone {
    pub log: MergeLogRow,
    /// Target fields left as they are now.
    pub kept: Vec<String>,
}

fn snapshot(c: &CustomerRow) -> Value {
    json!({"id": c.id, "version": c.version, "fields": Value::Object(audit_values(c))})
}

impl App {
    /// Merges `sources` into `target` in one transaction. Answers the merge log entry.
    pub async fn merge_customers(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        target_id: Uuid,
        source_ids: &[Uuid],
        reason: &str,
    ) -> AppResult<MergeLogRow> {
        reach_by_id(p)?;
        p.require(Permission::CustomersMerge, "merge customers")?;
        let reason = rapport_core::text::bounded("reason", reason, 1, 500)
            .map_err(|e| AppError::Validation(rapport_core::Invalid(vec![e])))?;
        let mut ids: Vec<Uuid> = source_ids.to_vec();
        ids.sort();
        ids.dedup();
        if ids.is_empty() || ids.len() > 10 || ids.len() != source_ids.len() || ids.contains(&target_id) {
            return Err(AppError::invalid(
                "source_ids",
                "invalid_value",
                "source_ids names 1 to 10 distinct customers other than the target",
            ));
        }
        let mut tx = self.store.begin(p.tenant_id).await?;
        let target = self.load_visible(tx.as_mut(), p, target_id, false).await?;
        let mut sources = Vec::new();
        for id in source_ids {
            sources.push(self.load_visible(tx.as_mut(), p, *id, false).await?);
        }
        let actor = p.actor();
        let trail = Trail { actor: &actor, meta };
        let at = now();
        let mut moved_conversations = Vec::new();
        let mut moved_portal = Value::Null;
        let planned = plan_merge(&target.data, &sources.iter().map(|s| &s.data).collect::<Vec<_>>());
        for s in &sources {
            let convs = tx.conversation_ids_of(s.id).await?;
            tx.move_conversations(&convs, target.id).await?;
            moved_conversations.extend(convs.iter().map(|c| json!({"id": c, "from": s.id})));
            let mut n = s.clone();
            // The unique portal user follows the record that keeps it.
            if s.data.portal_user_id.is_some()
                && planned.portal_user_id.is_none()
                && target.data.portal_user_id.is_none()
                && moved_portal.is_null()
            {
                moved_portal = json!({"from": s.id, "user": s.data.portal_user_id});
            }
            n.data.portal_user_id = None;
            n.deleted_at = Some(at);
            n.deleted_by = p.user_id();
            n.merged_into_customer_id = Some(target.id);
            n.version += 1;
            n.updated_at = at;
            tx.update_customer(&n).await?;
            tx.refresh_metrics(s.id).await?;
            trail
                .event(
                    tx.as_mut(),
                    s.id,
                    "merged",
                    json!({"into": target.id, "reason": reason, "conversations_moved": convs.len()}),
                )
                .await?;
            trail
                .audit(
                    tx.as_mut(),
                    "customers",
                    s.id,
                    "merge",
                    json!({"merged_into_customer_id": null}),
                    json!({"merged_into_customer_id": target.id}),
                )
                .await?;
        }
        let mut new = target.clone();
        new.data = planned;
        if let Some(u) = moved_portal.get("user").and_then(Value::as_str).and_then(|u| Uuid::parse_str(u).ok()) {
            new.data.portal_user_id = Some(u);
        }
        let (before, after) = diff(&audit_values(&target), &new.data.to_audit_map());
        let changes: Map<String, Value> =
            after.iter().map(|(k, v)| (k.clone(), json!({"before": before.get(k), "after": v}))).collect();
        // Always rewrite the target: its matching keys now include the sources' contact points.
        new.version = target.version + 1;
        new.updated_at = at;
        new.updated_by = p.user_id();
        tx.update_customer(&new).await?;
        tx.refresh_metrics(target.id).await?;
        trail.event(tx.as_mut(), target.id, "merged", json!({"sources": source_ids, "reason": reason, "fields": after.keys().collect::<Vec<_>>(), "conversations_moved": moved_conversations.len()})).await?;
        trail.audit(tx.as_mut(), "customers", target.id, "merge", Value::Object(before), Value::Object(after)).await?;
        let log = MergeLogRow {
            id: Uuid::now_v7(),
            tenant_id: p.tenant_id,
            target_id: target.id,
            source_ids: source_ids.to_vec(),
            reason,
            actor_type: actor.actor_type.to_string(),
            actor_id: actor.actor_id,
            snapshot: json!({"target": snapshot(&target), "sources": sources.iter().map(snapshot).collect::<Vec<_>>()}),
            moved: json!({"conversations": moved_conversations, "portal_user": moved_portal}),
            target_changes: Value::Object(changes),
            created_at: at,
            undone_at: None,
            undone_by: None,
            undo_report: None,
        };
        tx.insert_merge_log(&log).await?;
        tx.commit().await?;
        Ok(log)
    }

    pub async fn list_merges(&self, p: &Principal, before: Option<Uuid>, limit: u32) -> AppResult<Vec<MergeLogRow>> {
        p.require(Permission::CustomersMerge, "read merges")?;
        let mut tx = self.store.read(p.tenant_id).await?;
        Ok(tx.list_merge_logs(before, limit.clamp(1, 200)).await?)
    }

    pub async fn get_merge(&self, p: &Principal, id: Uuid) -> AppResult<MergeLogRow> {
        p.require(Permission::CustomersMerge, "read merges")?;
        let mut tx = self.store.read(p.tenant_id).await?;
        tx.get_merge_log(id).await?.ok_or(AppError::NotFound("merge"))
    }

    /// Restores the sources, moves back exactly what moved, and reverts the target fields
    /// the merge changed unless they changed since; those are listed in `kept`.
    pub async fn undo_merge(&self, p: &Principal, meta: &RequestMeta, id: Uuid) -> AppResult<Undone> {
        p.require(Permission::CustomersMerge, "undo merges")?;
        let mut tx = self.store.begin(p.tenant_id).await?;
        let mut log = tx.get_merge_log(id).await?.ok_or(AppError::NotFound("merge"))?;
        if log.undone_at.is_some() {
            return Err(AppError::Conflict("merge_already_undone", "this merge was undone already".into()));
        }
        let tenant = tx.get_tenant().await?.ok_or(AppError::NotFound("tenant"))?;
        let days = tenant.settings["merge_undo_days"].as_i64().unwrap_or(30);
        if now() - log.created_at > Duration::days(days) {
            return Err(AppError::Conflict("merge_undo_expired", format!("a merge can be undone within {days} days")));
        }
        let actor = p.actor();
        let trail = Trail { actor: &actor, meta };
        let at = now();
        let target = tx.get_customer(log.target_id).await?.ok_or(AppError::NotFound("customer"))?;
        if target.deleted_at.is_some() {
            return Err(AppError::Conflict(
                "merge_target_gone",
                "the surviving customer was deleted or merged since; restore it first".into(),
            ));
        }
        // Move back exactly the conversations that moved, if they are still on the target.
        let mut back: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        let still_on_target = tx.conversation_ids_of(target.id).await?;
        for m in log.moved["conversations"].as_array().into_iter().flatten() {
            let (Some(c), Some(from)) = (
                m["id"].as_str().and_then(|s| Uuid::parse_str(s).ok()),
                m["from"].as_str().and_then(|s| Uuid::parse_str(s).ok()),
            ) else {
                continue;
            };
            if still_on_target.contains(&c) {
                back.entry(from).or_default().push(c);
            }
        }
        let portal = &log.moved["portal_user"];
        for sid in &log.source_ids {
            let Some(s) = tx.get_customer(*sid).await? else { continue };
            let mut n = s.clone();
            n.deleted_at = None;
            n.deleted_by = None;
            n.merged_into_customer_id = None;
            if portal["from"].as_str() == Some(&sid.to_string()) {
                n.data.portal_user_id = portal["user"].as_str().and_then(|u| Uuid::parse_str(u).ok());
            }
            n.version += 1;
            n.updated_at = at;
            // The target gives the portal user back first, so the unique key never clashes.
            if n.data.portal_user_id.is_some() && target.data.portal_user_id == n.data.portal_user_id {
                let mut t = tx.get_customer(target.id).await?.ok_or(AppError::NotFound("customer"))?;
                t.data.portal_user_id = None;
                t.version += 1;
                tx.update_customer(&t).await?;
            }
            tx.update_customer(&n).await?;
            if let Some(ids) = back.get(sid) {
                tx.move_conversations(ids, *sid).await?;
            }
            tx.refresh_metrics(*sid).await?;
            trail.event(tx.as_mut(), *sid, "merge_undone", json!({"merge_id": log.id})).await?;
            trail
                .audit(
                    tx.as_mut(),
                    "customers",
                    *sid,
                    "restore",
                    json!({"merged_into_customer_id": log.target_id}),
                    json!({"merged_into_customer_id": null}),
                )
                .await?;
        }
        // Revert target fields the merge changed, unless changed since.
        let current = tx.get_customer(target.id).await?.ok_or(AppError::NotFound("customer"))?;
        let now_values = audit_values(&current);
        // The portal user went back with its source above.
        let mut changes = log.target_changes.as_object().cloned().unwrap_or_default();
        changes.remove("portal_user_id");
        let (revert, kept) = undo_plan(&now_values, &changes);
        let ctx = InputContext {
            region: &tenant.phone_region,
            default_source: current.data.source,
            require_contact_point: false,
        };
        let reverted = apply_input(Some(&current.data), &Value::Object(revert), &ctx)?;
        let mut n = current.clone();
        n.data = reverted.data;
        let (before, after) = diff(&now_values, &n.data.to_audit_map());
        n.version += 1;
        n.updated_at = at;
        n.updated_by = p.user_id();
        tx.update_customer(&n).await?;
        tx.refresh_metrics(target.id).await?;
        trail.event(tx.as_mut(), target.id, "merge_undone", json!({"merge_id": log.id, "kept": kept})).await?;
        trail
            .audit(tx.as_mut(), "customers", target.id, "merge_undone", Value::Object(before), Value::Object(after))
            .await?;
        log.undone_at = Some(at);
        log.undone_by = p.user_id();
        log.undo_report = Some(json!({"kept": kept}));
        tx.mark_merge_undone(&log).await?;
        tx.commit().await?;
        Ok(Undone { log, kept })
    }
}
