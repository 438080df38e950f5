//! Reading the audit log and verifying its chain.

use rapport_core::audit::{chain_hash, values_digest, ChainedFields, GENESIS};
use rapport_core::role::Permission;
use rapport_store::{AuditQuery, AuditRow};
use serde::Serialize;
use uuid::Uuid;

use crate::{App, AppResult, Principal};

/// The outcome of walking one tenant's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub tenant_id: Uuid,
    pub ok: bool,
    pub entries: i64,
    /// The first entry whose number, digest or hash does not follow from its predecessor.
    pub first_broken_seq: Option<i64>,
    pub reason: Option<String>,
}

impl App {
    pub async fn list_audit(&self, p: &Principal, q: &AuditQuery) -> AppResult<Vec<AuditRow>> {
        p.require(Permission::AuditRead, "read the audit log")?;
        let mut tx = self.store.read(p.tenant_id).await?;
        Ok(tx.list_audit(q).await?)
    }

    pub async fn verify_audit_for(&self, p: &Principal) -> AppResult<Verification> {
        p.require(Permission::AuditRead, "read the audit log")?;
        self.verify_audit(p.tenant_id).await
    }

    /// Walks the tenant's chain from the first entry, recomputing every digest and hash.
    pub async fn verify_audit(&self, tenant: Uuid) -> AppResult<Verification> {
        const PAGE: u32 = 1000;
        let mut tx = self.store.read(tenant).await?;
        let mut prev_hash = GENESIS.to_string();
        let mut expected_seq = 1;
        let broken = |seq: i64, reason: &str, n: i64| Verification {
            tenant_id: tenant,
            ok: false,
            entries: n,
            first_broken_seq: Some(seq),
            reason: Some(reason.to_string()),
        };
        loop {
            let page = tx.audit_chain(expected_seq - 1, PAGE).await?;
            let n = page.len();
            for a in page {
                if a.seq != expected_seq {
                    return Ok(broken(expected_seq, "an entry is missing", expected_seq - 1));
                }
                if a.prev_hash != prev_hash {
                    return Ok(broken(a.seq, "the entry does not link to its predecessor", a.seq - 1));
                }
                if values_digest(&a.old_values, &a.new_values) != a.values_digest {
                    return Ok(broken(a.seq, "the values do not match their digest", a.seq - 1));
                }
                let fields = ChainedFields {
                    tenant_id: tenant,
                    seq: a.seq,
                    table_name: &a.table_name,
                    record_id: a.record_id,
                    action: &a.action,
                    actor_type: &a.actor_type,
                    actor_id: a.actor_id,
                    conversation_id: a.conversation_id.as_deref(),
                    ip: a.ip.as_deref(),
                    user_agent: a.user_agent.as_deref(),
                    request_id: a.request_id.as_deref(),
                    at: a.at,
                    values_digest: &a.values_digest,
                };
                if chain_hash(&prev_hash, &fields) != a.hash {
                    return Ok(broken(a.seq, "the entry's hash does not match its content", a.seq - 1));
                }
                prev_hash = a.hash;
                expected_seq += 1;
            }
            if n < PAGE as usize {
                break;
            }
        }
        Ok(Verification {
            tenant_id: tenant,
            ok: true,
            entries: expected_seq - 1,
            first_broken_seq: None,
            reason: None,
        })
    }
}
