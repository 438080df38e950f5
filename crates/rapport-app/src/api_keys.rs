//! API keys: shown once at creation, stored only as a hash, revocable.

use rapport_core::audit::now;
use rapport_core::role::{Permission, Role};
use rapport_store::ApiKeyRow;
use serde_json::json;
use uuid::Uuid;

use crate::record::Trail;
use crate::{App, AppError, AppResult, Principal, RequestMeta};

impl App {
    /// Creates a key; answers it with its secret, which is never shown again.
    pub async fn create_api_key(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        name: &str,
        role: Role,
    ) -> AppResult<(ApiKeyRow, String)> {
        p.require(Permission::ApiKeysManage, "manage API keys")?;
        if role == Role::Owner || role == Role::Portal || !p.role.may_grant(role) {
            return Err(AppError::invalid("role", "invalid_value", "an API key cannot hold this role"));
        }
        let name = rapport_core::text::bounded("name", name, 1, 100)
            .map_err(|e| AppError::Validation(rapport_core::Invalid(vec![e])))?;
        let id = Uuid::now_v7();
        let secret = App::new_api_key_secret(p.tenant_id, id);
        let key = ApiKeyRow {
            id,
            tenant_id: p.tenant_id,
            name,
            role: role.as_str().to_string(),
            prefix: secret.chars().take(12).collect(),
            secret_hash: crate::auth::sha256_hex(&secret),
            created_by: p.user_id(),
            created_at: now(),
            revoked_at: None,
            last_used_at: None,
        };
        let mut tx = self.store.begin(p.tenant_id).await?;
        tx.insert_api_key(&key).await?;
        let actor = p.actor();
        Trail { actor: &actor, meta }
            .audit(
                tx.as_mut(),
                "api_keys",
                id,
                "insert",
                json!({}),
                json!({"name": key.name, "role": key.role, "prefix": key.prefix}),
            )
            .await?;
        tx.commit().await?;
        Ok((key, secret))
    }

    pub async fn list_api_keys(&self, p: &Principal) -> AppResult<Vec<ApiKeyRow>> {
        p.require(Permission::ApiKeysManage, "manage API keys")?;
        let mut tx = self.store.read(p.tenant_id).await?;
        Ok(tx.list_api_keys().await?)
    }

    /// Revokes a key; revoking a revoked key changes nothing.
    pub async fn revoke_api_key(&self, p: &Principal, meta: &RequestMeta, id: Uuid) -> AppResult<ApiKeyRow> {
        p.require(Permission::ApiKeysManage, "manage API keys")?;
        let mut tx = self.store.begin(p.tenant_id).await?;
        let mut key = tx.get_api_key(id).await?.ok_or(AppError::NotFound("API key"))?;
        if key.revoked_at.is_some() {
            return Ok(key);
        }
        key.revoked_at = Some(now());
        tx.update_api_key(&key).await?;
        let actor = p.actor();
        Trail { actor: &actor, meta }
            .audit(
                tx.as_mut(),
                "api_keys",
                id,
                "delete",
                json!({"revoked_at": null}),
                json!({"revoked_at": rapport_core::audit::format_time(now())}),
            )
            .await?;
        tx.commit().await?;
        self.auth_keys.changed();
        Ok(key)
    }
}
