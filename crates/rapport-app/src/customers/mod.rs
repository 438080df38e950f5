//! Customers: create, read, update, soft delete, restore and list, within the caller's scope.

mod events;
pub mod matching;
pub mod merge;
mod portal;
mod scope;
pub mod search;
mod stats;

use std::sync::Arc;

use rapport_core::audit::{format_time, now};
use rapport_core::customer::{apply_input, diff, Applied, CustomerData, InputContext, Source};
use rapport_core::role::{Permission, Role, Scope};
use rapport_store::{Cursor, CustomerDerived, CustomerQuery, CustomerRow, SortField, SortValue, Tx};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::record::Trail;
use crate::{App, AppError, AppResult, Principal, PrincipalKind, RequestMeta};
pub use scope::visible;

/// One page of customers and where the next one starts.
#[derive(Debug, Clone)]
pub struct CustomerPage {
    /// Shared with the store's kept rows where it had them.
    pub rows: Vec<Arc<CustomerRow>>,
    pub next: Option<Cursor>,
}

pub(crate) fn audit_values(c: &CustomerRow) -> serde_json::Map<String, Value> {
    c.data.to_audit_map()
}

/// The live customer at the end of a chain of merges.
async fn survivor(tx: &mut dyn Tx, c: &CustomerRow) -> AppResult<Uuid> {
    let mut at = c.merged_into_customer_id.ok_or(AppError::NotFound("customer"))?;
    for _ in 0..32 {
        match tx.get_customer(at).await?.and_then(|n| n.merged_into_customer_id) {
            Some(next) => at = next,
            None => return Ok(at),
        }
    }
    Ok(at)
}

/// Portal users reach their record only through `/me`: any customer id is unknown to them.
fn reach_by_id(p: &Principal) -> AppResult<()> {
    if p.scope() == Scope::OwnRecord {
        return Err(AppError::NotFound("customer"));
    }
    Ok(())
}

/// Checks `If-Match` against the stored version.
fn check_version(c: &CustomerRow, if_match: Option<i64>) -> AppResult<()> {
    match if_match {
        Some(v) if v != c.version => Err(AppError::VersionMismatch { current: c.version }),
        _ => Ok(()),
    }
}

impl App {
    async fn region(&self, tx: &mut dyn Tx) -> AppResult<String> {
        Ok(tx.get_tenant().await?.map(|t| t.phone_region).unwrap_or_else(|| "US".into()))
    }

    /// Loads a customer the caller may see (deleted ones only when asked and allowed).
    async fn load_visible(
        &self,
        tx: &mut dyn Tx,
        p: &Principal,
        id: Uuid,
        include_deleted: bool,
    ) -> AppResult<CustomerRow> {
        let c = tx.get_customer(id).await?.ok_or(AppError::NotFound("customer"))?;
        if c.merged_into_customer_id.is_some() && visible(p, &c) {
            return Err(AppError::Moved { to: survivor(tx, &c).await? });
        }
        let deleted_ok = include_deleted && p.role.allows(Permission::CustomersReadDeleted);
        if (c.deleted_at.is_some() && !deleted_ok) || !visible(p, &c) {
            return Err(AppError::NotFound("customer"));
        }
        Ok(c)
    }

    /// Checks the references of a record: assignee and portal user must be users here, and
    /// the caller allowed to set them.
    async fn check_references(
        &self,
        tx: &mut dyn Tx,
        p: &Principal,
        old: Option<&CustomerData>,
        d: &CustomerData,
    ) -> AppResult<()> {
        let assignee = d.assigned_to.filter(|a| Some(*a) != old.and_then(|o| o.assigned_to));
        if assignee.is_some_and(|a| p.role == Role::Sales && Some(a) != p.user_id()) {
            return Err(AppError::Forbidden("assign customers to someone else"));
        }
        let portal = d.portal_user_id.filter(|u| Some(*u) != old.and_then(|o| o.portal_user_id));
        if portal.is_some() {
            p.require(Permission::CustomersAssign, "set a portal user")?;
        }
        check_users_referenced(tx, assignee, portal).await
    }

    /// Refuses a customer whose best match reaches the tenant's block threshold (an email or
    /// phone already on file), unless forced by a role allowed to. Only matches the caller
    /// may see are listed.
    async fn check_duplicate(
        &self,
        tx: &mut dyn Tx,
        p: &Principal,
        d: &CustomerData,
        except: Option<Uuid>,
        force: bool,
    ) -> AppResult<Vec<matching::RankedMatch>> {
        let probe = rapport_core::identity::probe_of(d);
        // The chat feed and imports decide who people are under the tenant's identity lock;
        // a customer created or given a contact point by hand is decided under the same one,
        // or a chat and a form of one email could each find the other missing (PostgreSQL).
        matching::lock_ingests(tx).await?;
        let block = matching::thresholds(tx).await?.block;
        let ranked = self.rank_matches(tx, &probe, except).await?;
        let blocking: Vec<_> = ranked.iter().filter(|r| r.m.confidence >= block).collect();
        if blocking.is_empty() {
            return Ok(ranked);
        }
        if force {
            p.require(Permission::CustomersForceDuplicate, "create a duplicate customer")?;
            return Ok(ranked);
        }
        let field = if blocking[0].m.reasons.iter().any(|r| r.signal == "email") { "email" } else { "phone" };
        let rows = self.whole_rows(tx, blocking.iter().copied()).await?;
        let matches =
            blocking.iter().filter(|r| rows.get(&r.id).is_some_and(|c| visible(p, c))).map(|r| r.to_json()).collect();
        Err(AppError::CustomerDuplicate { field, matches: Value::Array(matches) })
    }

    pub async fn create_customer(&self, p: &Principal, meta: &RequestMeta, input: &Value) -> AppResult<CustomerRow> {
        p.require(Permission::CustomersCreate, "create customers")?;
        let mut tx = self.store.begin(p.tenant_id).await?;
        let region = self.region(tx.as_mut()).await?;
        let default_source = if p.kind == PrincipalKind::ApiKey { Source::Api } else { Source::Manual };
        let Applied { mut data, delete_requested, force, .. } =
            apply_input(None, input, &InputContext { region: &region, default_source, require_contact_point: true })?;
        if delete_requested {
            return Err(AppError::invalid("status", "invalid_value", "a new customer cannot be deleted"));
        }
        if p.role == Role::Sales && data.assigned_to.is_none() {
            data.assigned_to = p.user_id();
        }
        self.check_references(tx.as_mut(), p, None, &data).await?;
        let ranked = self.check_duplicate(tx.as_mut(), p, &data, None, force).await?;
        let actor = p.actor();
        let row = self.insert_customer(tx.as_mut(), &Trail { actor: &actor, meta }, data, p.user_id()).await?;
        let review = matching::thresholds(tx.as_mut()).await?.review;
        crate::duplicates::queue(tx.as_mut(), row.id, &ranked, review, "create").await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Inserts a new customer with its `created` (and `assigned`) events and audit entry.
    pub(crate) async fn insert_customer(
        &self,
        tx: &mut dyn Tx,
        trail: &Trail<'_>,
        data: CustomerData,
        by: Option<Uuid>,
    ) -> AppResult<CustomerRow> {
        let row = new_customer_row(tx.tenant_id(), data, by);
        tx.insert_customer(&row).await?;
        record_created(tx, trail, &row).await?;
        Ok(row)
    }

    pub async fn get_customer(&self, p: &Principal, id: Uuid, include_deleted: bool) -> AppResult<CustomerRow> {
        reach_by_id(p)?;
        p.require(Permission::CustomersRead, "read customers")?;
        let mut tx = self.store.read(p.tenant_id).await?;
        self.load_visible(tx.as_mut(), p, id, include_deleted).await
    }

    /// PATCH and PUT: a partial update. `status: "deleted"` soft-deletes.
    pub async fn update_customer(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        id: Uuid,
        input: &Value,
        if_match: Option<i64>,
    ) -> AppResult<CustomerRow> {
        crate::record::retry_on_conflict(|| self.update_customer_once(p, meta, id, input, if_match)).await
    }

    async fn update_customer_once(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        id: Uuid,
        input: &Value,
        if_match: Option<i64>,
    ) -> AppResult<CustomerRow> {
        reach_by_id(p)?;
        p.require(Permission::CustomersWrite, "change customers")?;
        let mut tx = self.store.begin(p.tenant_id).await?;
        let old = self.load_visible(tx.as_mut(), p, id, false).await?;
        check_version(&old, if_match)?;
        let region = self.region(tx.as_mut()).await?;
        let applied = apply_input(
            Some(&old.data),
            input,
            &InputContext {
                region: &region,
                default_source: old.data.source,
                require_contact_point: old.data.email.is_some() || old.data.phone.is_some(),
            },
        )?;
        let actor = p.actor();
        let trail = Trail { actor: &actor, meta };
        let row = self.apply_customer_change(tx.as_mut(), p, &trail, &old, applied).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Writes an applied input to `old`, with its checks, events and audit entry.
    async fn apply_customer_change(
        &self,
        tx: &mut dyn Tx,
        p: &Principal,
        trail: &Trail<'_>,
        old: &CustomerRow,
        applied: Applied,
    ) -> AppResult<CustomerRow> {
        if applied.data.assigned_to != old.data.assigned_to && p.role != Role::Sales {
            p.require(Permission::CustomersAssign, "assign customers")?;
        }
        self.check_references(tx, p, Some(&old.data), &applied.data).await?;
        let email_changed =
            applied.data.email.as_ref().map(|e| e.normalized()) != old.data.email.as_ref().map(|e| e.normalized());
        let phone_changed = applied.data.phone.as_ref().map(|p| p.e164()) != old.data.phone.as_ref().map(|p| p.e164());
        if email_changed || phone_changed {
            self.check_duplicate(tx, p, &applied.data, Some(old.id), applied.force).await?;
        }
        let mut new = old.clone();
        new.data = applied.data;
        let mut row = self.write_customer_update(tx, trail, old, new, applied.status_reason.as_deref()).await?;
        if applied.delete_requested {
            p.require(Permission::CustomersDelete, "delete customers")?;
            row = self.write_soft_delete(tx, p.user_id(), trail, &row).await?;
        }
        Ok(row)
    }

    /// Stores `new` over `old` when any field differs: version, times, events, audit.
    pub(crate) async fn write_customer_update(
        &self,
        tx: &mut dyn Tx,
        trail: &Trail<'_>,
        old: &CustomerRow,
        mut new: CustomerRow,
        reason: Option<&str>,
    ) -> AppResult<CustomerRow> {
        let (before, after) = diff(&audit_values(old), &new.data.to_audit_map());
        if after.is_empty() {
            return Ok(old.clone());
        }
        let at = now();
        if new.data.lifecycle_stage != old.data.lifecycle_stage {
            new.lifecycle_updated_at = at;
        }
        new.version = old.version + 1;
        new.updated_at = at;
        new.updated_by = trail.actor.actor_id.filter(|_| trail.actor.actor_type == "user");
        tx.update_customer_over(old, &new).await.map_err(|e| match e {
            rapport_store::StoreError::StaleVersion => AppError::VersionMismatch { current: old.version + 1 },
            other => other.into(),
        })?;
        for (kind, data) in events::for_update(old, &new, &after, reason) {
            trail.event(tx, new.id, kind, data).await?;
        }
        trail.audit(tx, "customers", new.id, "update", Value::Object(before), Value::Object(after)).await?;
        Ok(new)
    }

    /// Soft-deletes `c` for the user `by`, with its event and audit entry.
    pub(crate) async fn write_soft_delete(
        &self,
        tx: &mut dyn Tx,
        by: Option<Uuid>,
        trail: &Trail<'_>,
        c: &CustomerRow,
    ) -> AppResult<CustomerRow> {
        let at = now();
        let mut n = c.clone();
        n.deleted_at = Some(at);
        n.deleted_by = by;
        n.version += 1;
        n.updated_at = at;
        tx.update_customer_over(c, &n).await?;
        trail.event(tx, c.id, "deleted", json!({})).await?;
        trail
            .audit(tx, "customers", c.id, "delete", json!({"deleted_at": null}), json!({"deleted_at": format_time(at)}))
            .await?;
        Ok(n)
    }

    /// Soft delete: the customer leaves every list and view, and stays in the database.
    pub async fn delete_customer(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        id: Uuid,
        if_match: Option<i64>,
    ) -> AppResult<CustomerRow> {
        reach_by_id(p)?;
        p.require(Permission::CustomersDelete, "delete customers")?;
        let mut tx = self.store.begin(p.tenant_id).await?;
        let c = self.load_visible(tx.as_mut(), p, id, false).await?;
        check_version(&c, if_match)?;
        let actor = p.actor();
        let row = self.write_soft_delete(tx.as_mut(), p.user_id(), &Trail { actor: &actor, meta }, &c).await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn restore_customer(&self, p: &Principal, meta: &RequestMeta, id: Uuid) -> AppResult<CustomerRow> {
        reach_by_id(p)?;
        p.require(Permission::CustomersRestore, "restore customers")?;
        let mut tx = self.store.begin(p.tenant_id).await?;
        let c = self.load_visible(tx.as_mut(), p, id, true).await?;
        let Some(deleted_at) = c.deleted_at else {
            return Ok(c);
        };
        if c.merged_into_customer_id.is_some() {
            return Err(AppError::Conflict(
                "customer_merged",
                "a merged customer comes back by undoing its merge".into(),
            ));
        }
        let mut n = c.clone();
        n.deleted_at = None;
        n.deleted_by = None;
        n.version += 1;
        n.updated_at = now();
        n.updated_by = p.user_id();
        let actor = p.actor();
        let trail = Trail { actor: &actor, meta };
        // Restoring must not make a second live customer with the same email.
        self.check_duplicate(tx.as_mut(), p, &n.data, Some(n.id), false).await?;
        tx.update_customer(&n).await?;
        trail.event(tx.as_mut(), id, "restored", json!({})).await?;
        trail
            .audit(
                tx.as_mut(),
                "customers",
                id,
                "restore",
                json!({"deleted_at": format_time(deleted_at)}),
                json!({"deleted_at": null}),
            )
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// One page of customers within the caller's scope.
    pub async fn list_customers(&self, p: &Principal, mut q: CustomerQuery) -> AppResult<CustomerPage> {
        p.require(Permission::CustomersRead, "read customers")?;
        match p.scope() {
            Scope::OwnRecord => return Err(AppError::Forbidden("list customers")),
            Scope::AssignedOrOpenLeads => q.sales_scope = p.user_id().or(Some(Uuid::nil())),
            Scope::Tenant => {}
        }
        if q.include_deleted {
            p.require(Permission::CustomersReadDeleted, "see deleted customers")?;
        }
        let limit = q.limit.clamp(1, 200);
        if let Some(raw) = q.q.clone() {
            let mut tx = self.store.read_each(p.tenant_id).await?;
            return self.search_page(tx.as_mut(), &raw, &q, limit).await;
        }
        if q.sort.field == SortField::Relevance {
            return Err(AppError::invalid("sort", "invalid_value", "sort by relevance needs q"));
        }
        q.limit = limit + 1;
        let mut rows = self.store.list_page(p.tenant_id, &q).await?;
        let next = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|c| Cursor { value: sort_value(c, q.sort.field), id: c.id })
        } else {
            None
        };
        Ok(CustomerPage { rows, next })
    }

    pub async fn customer_timeline(
        &self,
        p: &Principal,
        id: Uuid,
        types: &[String],
        before: Option<Uuid>,
        limit: u32,
    ) -> AppResult<Vec<rapport_store::EventRow>> {
        reach_by_id(p)?;
        p.require(Permission::CustomersRead, "read customers")?;
        let mut tx = self.store.read(p.tenant_id).await?;
        self.load_visible(tx.as_mut(), p, id, true).await?;
        Ok(tx.list_events(id, types, before, limit.clamp(1, 200)).await?)
    }

    pub async fn customer_audit(
        &self,
        p: &Principal,
        id: Uuid,
        before_seq: Option<i64>,
        limit: u32,
    ) -> AppResult<Vec<rapport_store::AuditRow>> {
        reach_by_id(p)?;
        p.require(Permission::AuditRead, "read the audit log")?;
        let mut tx = self.store.read(p.tenant_id).await?;
        self.load_visible(tx.as_mut(), p, id, true).await?;
        let q = rapport_store::AuditQuery {
            record_id: Some(id),
            before_seq,
            limit: limit.clamp(1, 200),
            ..Default::default()
        };
        Ok(tx.list_audit(&q).await?)
    }
}

/// The sort key of a row, for the cursor of the next page.
pub fn sort_value(c: &CustomerRow, f: SortField) -> SortValue {
    let time = |t: Option<time::OffsetDateTime>| t.map(SortValue::Time).unwrap_or(SortValue::Missing);
    match f {
        SortField::Name => SortValue::Text(c.data.name.clone()),
        SortField::CreatedAt => SortValue::Time(c.created_at),
        SortField::UpdatedAt => SortValue::Time(c.updated_at),
        SortField::LastContactAt => time(c.data.last_contact_at),
        SortField::NextFollowUpAt => time(c.data.next_follow_up_at),
        SortField::TotalRevenue => SortValue::Int(c.derived.total_revenue),
        SortField::LifetimeValue => SortValue::Int(c.derived.lifetime_value),
        SortField::LeadScore => {
            c.derived.lead_score.map(|s| SortValue::Int(i64::from(s))).unwrap_or(SortValue::Missing)
        }
        // Only a search knows a relevance (`search::search_page`).
        SortField::Relevance => SortValue::Missing,
    }
}

/// A new customer's row, version 1, created now.
pub(crate) fn new_customer_row(tenant: Uuid, data: CustomerData, by: Option<Uuid>) -> CustomerRow {
    let at = now();
    CustomerRow {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        data,
        lifecycle_updated_at: at,
        derived: CustomerDerived::default(),
        deleted_at: None,
        deleted_by: None,
        merged_into_customer_id: None,
        created_at: at,
        created_by: by,
        updated_at: at,
        updated_by: by,
        version: 1,
    }
}

/// The timeline events and the audit entry of a customer just inserted.
pub(crate) async fn record_created(tx: &mut dyn Tx, trail: &Trail<'_>, row: &CustomerRow) -> AppResult<()> {
    trail.event(tx, row.id, "created", json!({"name": row.data.name, "source": row.data.source.as_str()})).await?;
    if let Some(a) = row.data.assigned_to {
        trail.event(tx, row.id, "assigned", json!({"from": null, "to": a})).await?;
    }
    trail.audit(tx, "customers", row.id, "insert", json!({}), Value::Object(audit_values(row))).await
}

/// Refuses an assignee who is not an active user of this tenant (a portal user cannot be one)
/// and a portal user who is not one of its portal users.
pub(crate) async fn check_users_referenced(
    tx: &mut dyn Tx,
    assignee: Option<Uuid>,
    portal: Option<Uuid>,
) -> AppResult<()> {
    if let Some(a) = assignee {
        if !tx.get_user(a).await?.is_some_and(|u| u.active && u.role != "portal") {
            return Err(AppError::invalid(
                "assigned_to",
                "invalid_reference",
                "assigned_to must be an active user of this tenant",
            ));
        }
    }
    if let Some(u) = portal {
        if tx.get_user(u).await?.is_none_or(|u| u.role != "portal") {
            return Err(AppError::invalid(
                "portal_user_id",
                "invalid_reference",
                "portal_user_id must be a portal user of this tenant",
            ));
        }
    }
    Ok(())
}
