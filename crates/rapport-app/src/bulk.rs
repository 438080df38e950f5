//! Loading many customers, or the conversation history of known customers, at once: through
//! the same validation and with the same keys, metrics, events and audit entries as one by
//! one, in one transaction per batch.

use std::collections::BTreeSet;

use rapport_core::audit::now;
use rapport_core::customer::{apply_input, InputContext, Source};

use serde_json::Value;
use uuid::Uuid;

use crate::conversation_input::{new_conversation, session, vocabulary};
use crate::conversations::record_new_conversation;
use crate::customers::{new_customer_row, record_created};
use crate::record::Trail;
use crate::{Actor, App, AppError, AppResult, RequestMeta};

/// A past conversation of a customer already known, for bulk loading.
#[derive(Debug, Clone)]
pub struct BulkConversation {
    pub customer_id: Uuid,
    pub session_id: String,
    /// As `PUT /conversations/{session_id}` takes it.
    pub body: Value,
}

impl App {
    /// Inserts `rows` (customer inputs) into `tenant` as the system, all or nothing. No
    /// duplicate check: the caller vouches that the rows are distinct people.
    pub async fn bulk_insert_customers(&self, tenant: Uuid, rows: &[Value], source: Source) -> AppResult<Vec<Uuid>> {
        // The rows are checked before the write transaction begins, so that another batch
        // can be written meanwhile.
        let region = self.tenant(tenant).await?.phone_region;
        let ctx = InputContext { region: &region, default_source: source, require_contact_point: true };
        let mut new = Vec::with_capacity(rows.len());
        for row in rows {
            new.push(new_customer_row(tenant, apply_input(None, row, &ctx)?.data, None));
        }
        let actor = Actor::system();
        let meta = RequestMeta::default();
        let trail = Trail { actor: &actor, meta: &meta };
        let mut tx = self.store.begin(tenant).await?;
        // The users the rows name, each once: as a single create checks them.
        let named: BTreeSet<(Option<Uuid>, Option<Uuid>)> =
            new.iter().map(|r| (r.data.assigned_to, r.data.portal_user_id)).collect();
        for (assignee, portal) in named {
            crate::customers::check_users_referenced(tx.as_mut(), assignee, portal).await?;
        }
        tx.insert_customers(&new).await?;
        for row in &new {
            record_created(tx.as_mut(), &trail, row).await?;
        }
        tx.commit().await?;
        Ok(new.iter().map(|r| r.id).collect())
    }

    /// Inserts conversations of known customers into `tenant` as the system, all or nothing:
    /// no find-or-create (the caller names each customer, who must be live), the same
    /// checks, summary and topics as the chat feed, an audit entry and a `conversation_linked`
    /// event each, and every customer's metrics refreshed once at the end.
    pub async fn bulk_insert_conversations(&self, tenant: Uuid, items: &[BulkConversation]) -> AppResult<()> {
        // Checked and summarized before the write transaction begins, so that another batch
        // can be written meanwhile.
        let vocab = vocabulary(&self.tenant(tenant).await?.settings);
        let at = now();
        let mut rows = Vec::with_capacity(items.len());
        for item in items {
            let (mut c, _) = new_conversation(tenant, &session(&item.session_id)?, &item.body, at, &vocab)?;
            c.customer_id = Some(item.customer_id);
            rows.push(c);
        }
        let mut tx = self.store.begin(tenant).await?;
        // The chat feed's lock: the customers' metrics and last contact are read and written
        // here, and two loads (or a load and a chat) must not decide on one customer at once.
        crate::customers::matching::lock_ingests(tx.as_mut()).await?;
        let ids: BTreeSet<Uuid> = items.iter().map(|i| i.customer_id).collect();
        let wanted: Vec<Uuid> = ids.iter().copied().collect();
        let customers: std::collections::HashMap<Uuid, _> = tx
            .get_customers(&wanted)
            .await?
            .into_iter()
            .filter(|c| c.deleted_at.is_none())
            .map(|c| (c.id, c))
            .collect();
        if customers.len() != ids.len() {
            return Err(AppError::NotFound("customer"));
        }
        let actor = Actor::system();
        let meta = RequestMeta::default();
        let trail = Trail { actor: &actor, meta: &meta };
        tx.insert_conversations(&rows).await?;
        for c in &rows {
            record_new_conversation(tx.as_mut(), &trail, c).await?;
        }
        let metrics = tx.refresh_metrics_of(&wanted).await?;
        for m in &metrics {
            if let Some(c) = customers.get(&m.customer_id) {
                self.touch_last_contact_of(tx.as_mut(), &trail, c, m).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
