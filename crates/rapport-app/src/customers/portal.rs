//! The portal user's own record at `/api/v1/me` (003's self-service).

use rapport_core::customer::{apply_input, InputContext};
use rapport_core::role::Scope;
use rapport_store::{CustomerQuery, CustomerRow, Tx};
use serde_json::Value;

use crate::record::Trail;
use crate::{App, AppError, AppResult, Principal, RequestMeta};

/// What a portal user may change on their own record.
const PORTAL_FIELDS: &[&str] = &[
    "name",
    "company_name",
    "job_title",
    "email",
    "phone",
    "website",
    "address",
    "language",
    "timezone",
    "preferences",
];

impl App {
    async fn own_record(&self, tx: &mut dyn Tx, p: &Principal) -> AppResult<CustomerRow> {
        if p.scope() != Scope::OwnRecord {
            return Err(AppError::NotFound("customer"));
        }
        let q = CustomerQuery { limit: 1, portal_user: p.user_id(), ..Default::default() };
        tx.list_customers(&q)
            .await?
            .into_iter()
            .next()
            .map(std::sync::Arc::unwrap_or_clone)
            .ok_or(AppError::NotFound("customer"))
    }

    pub async fn get_me(&self, p: &Principal) -> AppResult<CustomerRow> {
        let mut tx = self.store.read(p.tenant_id).await?;
        self.own_record(tx.as_mut(), p).await
    }

    pub async fn update_me(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        input: &Value,
        if_match: Option<i64>,
    ) -> AppResult<CustomerRow> {
        if let Value::Object(m) = input {
            if let Some(k) = m.keys().find(|k| !PORTAL_FIELDS.contains(&k.as_str())) {
                return Err(AppError::invalid(k, "read_only", format!("{k} cannot be changed from the portal")));
            }
        }
        let mut tx = self.store.begin(p.tenant_id).await?;
        let old = self.own_record(tx.as_mut(), p).await?;
        super::check_version(&old, if_match)?;
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
        let mut new = old.clone();
        new.data = applied.data;
        let row = self.write_customer_update(tx.as_mut(), &trail, &old, new, None).await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn delete_me(&self, p: &Principal, meta: &RequestMeta) -> AppResult<()> {
        let mut tx = self.store.begin(p.tenant_id).await?;
        let old = self.own_record(tx.as_mut(), p).await?;
        let actor = p.actor();
        self.write_soft_delete(tx.as_mut(), p.user_id(), &Trail { actor: &actor, meta }, &old).await?;
        tx.commit().await?;
        Ok(())
    }
}
