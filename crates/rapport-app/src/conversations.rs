//! The chat feed (SPEC section 5): conversations created or updated idempotently by session
//! id, linked to a customer found or created on the spot, with metrics, events and audit
//! written in the same transaction.

use rapport_core::audit::now;
use rapport_core::contact::Phone;
use rapport_core::conversation::{normalize_topic, CHANNELS};
use rapport_core::customer::{apply_input, CustomerData, InputContext, Source};
use rapport_core::identity::{phone_digits, Probe, Thresholds};
use rapport_core::role::Permission;
use rapport_core::{FieldError, Invalid};
use rapport_store::{ConversationQuery, ConversationRow, CustomerRow, MetricsRow, Tx};
use serde::Serialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::conversation_input::{apply_body, checked_fields, new_row, session, summarize, vocabulary, Contact};
use crate::customers::matching::{best_link, lock_ingests, thresholds_of, RankedMatch};
use crate::ingest_queue::IngestJob;
use crate::record::Trail;
use crate::{Actor, App, AppError, AppResult, Principal, RequestMeta};

/// How the conversation's customer was found.
#[derive(Debug, Clone, Serialize)]
pub struct MatchOutcome {
    pub customer_id: Uuid,
    pub created: bool,
    pub confidence: Option<u8>,
    pub reasons: Vec<rapport_core::identity::Reason>,
    /// The customer as this change left it.
    #[serde(skip)]
    pub customer: Option<CustomerRow>,
}

impl MatchOutcome {
    /// Linked to `best`, which the change left as `row`.
    pub(crate) fn linked(best: &RankedMatch, row: CustomerRow) -> Self {
        Self {
            customer_id: best.id,
            created: false,
            confidence: Some(best.m.confidence),
            reasons: best.m.reasons.clone(),
            customer: Some(row),
        }
    }

    /// A customer created for the chat.
    pub(crate) fn created(row: CustomerRow) -> Self {
        Self { customer_id: row.id, created: true, confidence: None, reasons: Vec::new(), customer: Some(row) }
    }
}

/// A conversation as ingested, with how its customer was found.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub conversation: ConversationRow,
    pub outcome: Option<MatchOutcome>,
}

impl App {
    pub(crate) fn ingest_actor(p: &Principal, session: &str) -> Actor {
        Actor { conversation_id: Some(session.to_string()), ..p.actor() }
    }

    /// `PUT /conversations/{session_id}`: creates or updates the conversation; on create, and
    /// whenever the contact details change, finds or creates its customer. Written with the
    /// tenant's other ingests of the moment in one transaction (`ingest_queue`).
    pub async fn put_conversation(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        session_id: &str,
        body: &Value,
    ) -> AppResult<Ingested> {
        p.require(Permission::CustomersCreate, "ingest conversations")?;
        let job = IngestJob {
            p: p.clone(),
            meta: meta.clone(),
            session: session(session_id)?,
            body: body.clone(),
            span: tracing::Span::current(),
        };
        self.queue_ingest(job).await
    }

    /// The same alone in its own transaction, run again when another writer changed a
    /// record it read (PostgreSQL).
    pub(crate) async fn put_conversation_alone(&self, job: &IngestJob) -> AppResult<Ingested> {
        crate::record::retry_on_conflict(|| async {
            let mut tx = self.store.begin(job.p.tenant_id).await?;
            lock_ingests(tx.as_mut()).await?;
            let done = self.ingest_in(tx.as_mut(), job).await?;
            tx.commit().await?;
            Ok(done)
        })
        .await
    }

    /// Writes one ingest in `tx`, which holds the tenant's ingest lock.
    pub(crate) async fn ingest_in(&self, tx: &mut dyn Tx, job: &IngestJob) -> AppResult<Ingested> {
        let IngestJob { p, meta, session, body, .. } = job;
        let (obj, mut errs) = checked_fields(body)?;
        let existing = tx.get_conversation_by_session(session).await?;
        let at = now();
        let mut c = existing.clone().unwrap_or_else(|| new_row(p.tenant_id, session, at));
        let (contact, given_topics) = apply_body(&mut c, body, &mut errs);
        errs.into_result()?;

        let tenant = tx.get_tenant().await?.ok_or(AppError::NotFound("tenant"))?;
        summarize(&mut c, obj.contains_key("summary"), given_topics, &vocabulary(&tenant.settings));
        let actor = App::ingest_actor(p, session);
        let trail = Trail { actor: &actor, meta };
        let contact_changed = existing.as_ref().is_none_or(|e| e.contact != c.contact)
            || existing.as_ref().is_some_and(|e| e.deleted_at.is_some());
        let mut outcome = None;
        let previous = existing.as_ref().and_then(|e| e.customer_id);
        if contact_changed {
            // A customer created now has this conversation only: its last contact is known
            // before it is written, and it is written once.
            let last = c.ended_at.or(c.started_at).unwrap_or(c.created_at);
            let th = thresholds_of(&tenant.settings);
            let o = self.find_or_create(tx, &trail, &contact, &tenant.phone_region, &th, last).await?;
            c.customer_id = Some(o.customer_id);
            outcome = Some(o);
        }
        c.deleted_at = None;
        c.updated_at = at;
        c.version += 1;
        let old_values = existing.as_ref().map(audit_values).unwrap_or_else(|| json!({}));
        match &existing {
            None => tx.insert_conversation(&c).await?,
            Some(_) => tx.update_conversation(&c).await?,
        }
        trail
            .audit(
                tx,
                "conversations",
                c.id,
                if existing.is_some() { "update" } else { "insert" },
                old_values,
                audit_values(&c),
            )
            .await?;
        if let Some(cid) = c.customer_id {
            if previous != Some(cid) {
                if let Some(old) = previous {
                    trail
                        .event(tx, old, "conversation_unlinked", json!({"session_id": session, "moved_to": cid}))
                        .await?;
                    tx.refresh_metrics(old).await?;
                }
                trail.event(tx, cid, "conversation_linked", json!({"session_id": session, "topics": c.topics})).await?;
            }
            let m = tx.refresh_metrics(cid).await?;
            match outcome.as_ref().and_then(|o| o.customer.as_ref()).filter(|row| row.id == cid) {
                Some(row) => self.touch_last_contact_of(tx, &trail, row, &m).await?,
                None => self.touch_last_contact(tx, &trail, cid, &m).await?,
            }
        }
        Ok(Ingested { conversation: c, outcome })
    }

    /// Advances the customer's `last_contact_at` to its latest interaction.
    pub(crate) async fn touch_last_contact(
        &self,
        tx: &mut dyn Tx,
        trail: &Trail<'_>,
        customer: Uuid,
        m: &MetricsRow,
    ) -> AppResult<()> {
        if m.last_interaction_at.is_none() {
            return Ok(());
        }
        let Some(c) = tx.get_customer(customer).await? else { return Ok(()) };
        self.touch_last_contact_of(tx, trail, &c, m).await
    }

    /// The same for a customer already read.
    pub(crate) async fn touch_last_contact_of(
        &self,
        tx: &mut dyn Tx,
        trail: &Trail<'_>,
        c: &CustomerRow,
        m: &MetricsRow,
    ) -> AppResult<()> {
        let Some(last) = m.last_interaction_at else { return Ok(()) };
        if c.data.last_contact_at.is_some_and(|t| t >= last) {
            return Ok(());
        }
        let mut n = c.clone();
        n.data.last_contact_at = Some(last);
        self.write_customer_update(tx, trail, c, n, None).await?;
        Ok(())
    }

    /// 000's find_or_create_customer_from_chat: links to the best match at or above the link
    /// threshold (never a vetoed one) and fills only the contact fields it lacks; otherwise
    /// creates a prospect with source chat, last contacted at `last_contact` (the time of
    /// the conversation's last activity, as its metrics will say).
    async fn find_or_create(
        &self,
        tx: &mut dyn Tx,
        trail: &Trail<'_>,
        contact: &Contact,
        region: &str,
        th: &Thresholds,
        last_contact: time::OffsetDateTime,
    ) -> AppResult<MatchOutcome> {
        let (probe, phone) = chat_probe(contact, region);
        let ranked = self.rank_matches(tx, &probe, None).await?;
        if let Some(best) = best_link(&ranked, th).cloned() {
            // Deleted since it was ranked (PostgreSQL runs writers side by side): decided again.
            let old = tx
                .get_customer(best.id)
                .await?
                .filter(|c| c.deleted_at.is_none())
                .ok_or(AppError::VersionMismatch { current: -1 })?;
            let row = self.fill_missing(tx, trail, &old, contact, phone.and_then(Result::ok), last_contact).await?;
            crate::duplicates::queue(tx, best.id, &ranked, th.review, "ingest").await?;
            return Ok(MatchOutcome::linked(&best, row));
        }
        let data = chat_customer(contact, phone.as_ref(), region, last_contact)?;
        let row = self.insert_customer(tx, trail, data, None).await?;
        crate::duplicates::queue(tx, row.id, &ranked, th.review, "ingest").await?;
        Ok(MatchOutcome::created(row))
    }

    /// Fills the contact fields `old` lacks from the chat's (`filled`), noting on the
    /// timeline what differs, and stores the change with its last contact at
    /// `last_contact` when that is later (the chat's last activity, as its metrics will
    /// say: the customer is written once, not once more by `touch_last_contact_of`).
    pub(crate) async fn fill_missing(
        &self,
        tx: &mut dyn Tx,
        trail: &Trail<'_>,
        old: &CustomerRow,
        contact: &Contact,
        phone: Option<Phone>,
        last_contact: time::OffsetDateTime,
    ) -> AppResult<CustomerRow> {
        let (mut new, noted) = filled(old, contact, phone);
        if new.data.last_contact_at.is_none_or(|t| t < last_contact) {
            new.data.last_contact_at = Some(last_contact);
        }
        for (kind, value) in noted {
            trail
                .event(tx, old.id, "contact_point_added", json!({"kind": kind, "value": value, "kept_as": "note"}))
                .await?;
        }
        self.write_customer_update(tx, trail, old, new, None).await
    }

    pub async fn get_conversation(&self, p: &Principal, session_id: &str) -> AppResult<ConversationRow> {
        p.require(Permission::CustomersRead, "read conversations")?;
        let mut tx = self.store.read(p.tenant_id).await?;
        let c = tx
            .get_conversation_by_session(session_id)
            .await?
            .filter(|c| c.deleted_at.is_none())
            .ok_or(AppError::NotFound("conversation"))?;
        if let Some(cid) = c.customer_id {
            let visible = tx.get_customer(cid).await?.is_some_and(|cu| crate::customers::visible(p, &cu));
            if !visible {
                return Err(AppError::NotFound("conversation"));
            }
        }
        Ok(c)
    }

    /// `DELETE /conversations/{session_id}`: hides it and updates its customer's metrics.
    pub async fn delete_conversation(&self, p: &Principal, meta: &RequestMeta, session_id: &str) -> AppResult<()> {
        p.require(Permission::CustomersCreate, "delete conversations")?;
        let mut tx = self.store.begin(p.tenant_id).await?;
        let mut c = tx
            .get_conversation_by_session(session_id)
            .await?
            .filter(|c| c.deleted_at.is_none())
            .ok_or(AppError::NotFound("conversation"))?;
        let old = audit_values(&c);
        c.deleted_at = Some(now());
        c.updated_at = now();
        c.version += 1;
        tx.update_conversation(&c).await?;
        let actor = App::ingest_actor(p, session_id);
        let trail = Trail { actor: &actor, meta };
        trail
            .audit(
                tx.as_mut(),
                "conversations",
                c.id,
                "delete",
                old,
                json!({"deleted_at": rapport_core::audit::format_time(now())}),
            )
            .await?;
        if let Some(cid) = c.customer_id {
            trail
                .event(tx.as_mut(), cid, "conversation_unlinked", json!({"session_id": session_id, "deleted": true}))
                .await?;
            tx.refresh_metrics(cid).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_conversations(&self, p: &Principal, q: &ConversationQuery) -> AppResult<Vec<ConversationRow>> {
        p.require(Permission::CustomersRead, "read conversations")?;
        let mut errs = Invalid::default();
        if let Some(ch) = q.channel.as_deref().filter(|c| !CHANNELS.contains(c)) {
            errs.push(FieldError::new(
                "channel",
                "invalid_value",
                format!("{ch:?} is not a channel; channels are {}", CHANNELS.join(", ")),
            ));
        }
        errs.into_result()?;
        let q = ConversationQuery {
            topic: q.topic.as_deref().map(normalize_topic),
            limit: q.limit.clamp(1, 200),
            ..q.clone()
        };
        let mut tx = self.store.read(p.tenant_id).await?;
        if let Some(cid) = q.customer_id {
            let c = tx.get_customer(cid).await?.filter(|c| c.deleted_at.is_none() && crate::customers::visible(p, c));
            c.ok_or(AppError::NotFound("customer"))?;
        } else {
            p.require(Permission::CustomersReadDeleted, "list every conversation of the tenant")?;
        }
        Ok(tx.list_conversations(&q).await?)
    }

    pub async fn customer_metrics(&self, p: &Principal, customer: Uuid) -> AppResult<MetricsRow> {
        let c = self.get_customer(p, customer, false).await?;
        let mut tx = self.store.read(p.tenant_id).await?;
        Ok(tx.get_metrics(c.id).await?.unwrap_or(MetricsRow { customer_id: c.id, ..Default::default() }))
    }
}

/// The audit entry of a conversation just inserted and the `conversation_linked` event of
/// its customer (the chat feed's batch and bulk loading; `ingest_in` writes the same).
pub(crate) async fn record_new_conversation(tx: &mut dyn Tx, trail: &Trail<'_>, c: &ConversationRow) -> AppResult<()> {
    trail.audit(tx, "conversations", c.id, "insert", json!({}), audit_values(c)).await?;
    if let Some(customer) = c.customer_id {
        trail
            .event(tx, customer, "conversation_linked", json!({"session_id": c.session_id, "topics": c.topics}))
            .await?;
    }
    Ok(())
}

/// What the audit log keeps of a conversation: its link and figures, not its transcript.
pub(crate) fn audit_values(c: &ConversationRow) -> Value {
    json!({
        "session_id": c.session_id,
        "customer_id": c.customer_id,
        "channel": c.channel,
        "contact": c.contact,
        "interaction_count": c.interaction_count,
        "view_count": c.view_count,
        "duration_seconds": c.duration_seconds,
        "messages": c.messages.as_array().map(Vec::len).unwrap_or(0),
        "topics": c.topics,
    })
}

/// What find-or-create looks for of a chat's contact, and its phone as parsed in the
/// tenant's region (a phone that does not parse is looked up by its digits).
pub(crate) fn chat_probe(contact: &Contact, region: &str) -> (Probe, Option<Result<Phone, FieldError>>) {
    let phone = contact.phone_raw.as_deref().map(|raw| Phone::parse("phone", raw, region));
    let probe = Probe {
        name: contact.name.clone(),
        emails: contact.email.iter().map(|e| e.normalized().to_string()).collect(),
        phones: match (&phone, &contact.phone_raw) {
            (Some(Ok(p)), _) => vec![p.e164().to_string()],
            (_, Some(raw)) => Some(phone_digits(raw)).filter(|d| !d.is_empty()).into_iter().collect(),
            _ => vec![],
        },
        ..Default::default()
    };
    (probe, phone)
}

/// The customer a chat creates when it matches nobody: a prospect with source chat, named
/// by the contact's name (else email, else phone), last contacted at `last_contact`.
pub(crate) fn chat_customer(
    contact: &Contact,
    phone: Option<&Result<Phone, FieldError>>,
    region: &str,
    last_contact: time::OffsetDateTime,
) -> AppResult<CustomerData> {
    let name = contact
        .name
        .clone()
        .or_else(|| contact.email.as_ref().map(|e| e.as_str().to_string()))
        .or_else(|| contact.phone_raw.clone())
        .unwrap_or_default();
    let mut input = Map::new();
    input.insert("name".into(), name.into());
    input.insert("source".into(), "chat".into());
    if let Some(e) = &contact.email {
        input.insert("email".into(), e.as_str().into());
    }
    if let Some(Ok(p)) = phone {
        input.insert("phone".into(), p.as_str().into());
    }
    if let Some(a) = &contact.address {
        input.insert("address".into(), a.chars().take(500).collect::<String>().into());
    }
    let ctx = InputContext { region, default_source: Source::Chat, require_contact_point: false };
    let mut data = apply_input(None, &Value::Object(input), &ctx)?.data;
    data.last_contact_at = Some(last_contact);
    Ok(data)
}

/// `old` with the contact fields it lacks taken from the chat, and the chat's details that
/// differ from those on file (kind, value): a value a person entered is never overwritten.
fn filled(old: &CustomerRow, contact: &Contact, phone: Option<Phone>) -> (CustomerRow, Vec<(&'static str, String)>) {
    let mut d: CustomerData = old.data.clone();
    let mut noted = Vec::new();
    match (&d.email, &contact.email) {
        (None, Some(e)) => d.email = Some(e.clone()),
        (Some(mine), Some(e)) if mine.normalized() != e.normalized() => noted.push(("email", e.as_str().to_string())),
        _ => {}
    }
    match (&d.phone, phone) {
        (None, Some(p)) => d.phone = Some(p),
        (Some(mine), Some(p)) if mine.e164() != p.e164() => noted.push(("phone", p.as_str().to_string())),
        _ => {}
    }
    if d.address.street.is_none() {
        d.address.street = contact.address.as_ref().map(|a| a.chars().take(500).collect());
    }
    let mut new = old.clone();
    new.data = d;
    (new, noted)
}
