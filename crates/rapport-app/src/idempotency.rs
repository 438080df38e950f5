//! Stored first answers of POST requests that carried an `Idempotency-Key`.

use rapport_core::audit::now;
use rapport_store::IdempotencyRow;
use serde_json::Value;

use crate::{App, AppError, AppResult, Principal};

/// A stored answer to replay.
#[derive(Debug, Clone)]
pub struct StoredAnswer {
    pub status: u16,
    pub headers: Value,
    pub body: String,
}

impl App {
    /// The first answer to this key, if any; a different request under the same key is 422.
    pub async fn idempotent_answer(
        &self,
        p: &Principal,
        key: &str,
        request_hash: &str,
    ) -> AppResult<Option<StoredAnswer>> {
        let mut tx = self.store.read(p.tenant_id).await?;
        match tx.get_idempotency(p.id, key).await? {
            Some(r) if r.request_hash == request_hash => {
                Ok(Some(StoredAnswer { status: r.status as u16, headers: r.headers, body: r.body }))
            }
            Some(_) => Err(AppError::IdempotencyKeyReused),
            None => Ok(None),
        }
    }

    pub async fn remember_answer(
        &self,
        p: &Principal,
        key: &str,
        request_hash: &str,
        a: &StoredAnswer,
    ) -> AppResult<()> {
        let mut tx = self.store.begin(p.tenant_id).await?;
        tx.put_idempotency(&IdempotencyRow {
            tenant_id: p.tenant_id,
            principal_id: p.id,
            key: key.to_string(),
            request_hash: request_hash.to_string(),
            status: i32::from(a.status),
            headers: a.headers.clone(),
            body: a.body.clone(),
            created_at: now(),
        })
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
