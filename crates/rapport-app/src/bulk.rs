//! Loading many customers at once, through the same validation and with the same keys,
//! events and audit entries as one-by-one creation, in one transaction per batch.

use rapport_core::customer::{apply_input, InputContext, Source};
use serde_json::Value;
use uuid::Uuid;

use crate::record::Trail;
use crate::{Actor, App, AppError, AppResult, RequestMeta};

impl App {
    /// Inserts `rows` (customer inputs) into `tenant` as the system, all or nothing. No
    /// duplicate check: the caller vouches that the rows are distinct people.
    pub async fn bulk_insert_customers(&self, tenant: Uuid, rows: &[Value], source: Source) -> AppResult<Vec<Uuid>> {
        let mut tx = self.store.begin(tenant).await?;
        let region = tx.get_tenant().await?.ok_or(AppError::NotFound("tenant"))?.phone_region;
        let ctx = InputContext { region: &region, default_source: source, require_contact_point: true };
        let actor = Actor::system();
        let meta = RequestMeta::default();
        let trail = Trail { actor: &actor, meta: &meta };
        let mut ids = Vec::with_capacity(rows.len());
        for row in rows {
            let applied = apply_input(None, row, &ctx)?;
            ids.push(self.insert_customer(tx.as_mut(), &trail, applied.data, None).await?.id);
        }
        tx.commit().await?;
        Ok(ids)
    }
}
