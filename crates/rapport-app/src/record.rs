//! Writing the trail of a change: timeline events and chained audit entries, inside the
//! transaction of the change itself.

use rapport_core::audit::{chain_hash, now, values_digest, ChainedFields};
use rapport_store::{AuditRow, EventRow, Tx};
use serde_json::Value;
use uuid::Uuid;

use crate::{Actor, AppError, AppResult, RequestMeta};

/// Runs a write transaction again (up to ten times in all, after a short random pause) when
/// another writer changed a
/// record between its read and its write: PostgreSQL runs transactions side by side (SQLite's
/// single writer never gets here). The run reads afresh, so a client's `If-Match` that no
/// longer holds then answers 412 as it should, and a change that carried none is applied.
pub(crate) async fn retry_on_conflict<T, F, Fut>(mut run: F) -> AppResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = AppResult<T>>,
{
    for attempt in 1..10u64 {
        match run().await {
            Err(AppError::VersionMismatch { .. }) => {
                let pause = rand::Rng::gen_range(&mut rand::thread_rng(), 0..=attempt * 4);
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            }
            done => return done,
        }
    }
    run().await
}

/// Who and where, for every entry of one change.
#[derive(Debug, Clone, Copy)]
pub struct Trail<'a> {
    pub actor: &'a Actor,
    pub meta: &'a RequestMeta,
}

impl Trail<'_> {
    /// Appends an audit entry linked to the tenant's chain.
    pub async fn audit(
        &self,
        tx: &mut dyn Tx,
        table: &str,
        record_id: Uuid,
        action: &str,
        old: Value,
        new: Value,
    ) -> AppResult<()> {
        let (seq, prev) = tx.audit_head().await?;
        let digest = values_digest(&old, &new);
        let at = now();
        let seq = seq + 1;
        let fields = ChainedFields {
            tenant_id: tx.tenant_id(),
            seq,
            table_name: table,
            record_id,
            action,
            actor_type: self.actor.actor_type,
            actor_id: self.actor.actor_id,
            conversation_id: self.actor.conversation_id.as_deref(),
            ip: self.meta.ip.as_deref(),
            user_agent: self.meta.user_agent.as_deref(),
            request_id: self.meta.request_id.as_deref(),
            at,
            values_digest: &digest,
        };
        let hash = chain_hash(&prev, &fields);
        let row = AuditRow {
            tenant_id: tx.tenant_id(),
            seq,
            table_name: table.to_string(),
            record_id,
            action: action.to_string(),
            old_values: old,
            new_values: new,
            values_digest: digest,
            actor_type: self.actor.actor_type.to_string(),
            actor_id: self.actor.actor_id,
            conversation_id: self.actor.conversation_id.clone(),
            ip: self.meta.ip.clone(),
            user_agent: self.meta.user_agent.clone(),
            request_id: self.meta.request_id.clone(),
            at,
            prev_hash: prev,
            hash,
        };
        tx.append_audit(&row).await?;
        Ok(())
    }

    /// Adds an event to a customer's timeline.
    pub async fn event(&self, tx: &mut dyn Tx, customer_id: Uuid, event_type: &str, data: Value) -> AppResult<()> {
        let e = EventRow {
            id: Uuid::now_v7(),
            tenant_id: tx.tenant_id(),
            customer_id,
            event_type: event_type.to_string(),
            data,
            actor_type: self.actor.actor_type.to_string(),
            actor_id: self.actor.actor_id,
            at: now(),
        };
        tx.insert_event(&e).await?;
        Ok(())
    }
}
