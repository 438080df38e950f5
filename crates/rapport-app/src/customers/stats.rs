//! The tenant's customer figures (SPEC section 9, `GET /customers/stats`): read from the
//! counters every customer write keeps (`rapport_store::stats`), never counted per request.

use rapport_core::role::{Permission, Scope};
use rapport_store::stats::CustomerStats;

use crate::{App, AppError, AppResult, Principal};

impl App {
    /// Figures of every live customer of the tenant. They are tenant-wide, so roles that see
    /// only some customers (sales, portal) are refused rather than shown others' totals.
    pub async fn customer_stats(&self, p: &Principal) -> AppResult<CustomerStats> {
        p.require(Permission::CustomersRead, "read customers")?;
        if p.scope() != Scope::Tenant {
            return Err(AppError::Forbidden("read tenant-wide customer figures"));
        }
        // One statement, so one snapshot: no transaction around it (on SQLite that saves
        // its BEGIN and ROLLBACK, each a round trip to the driver's thread).
        let mut tx = self.store.read_each(p.tenant_id).await?;
        Ok(CustomerStats::from_counters(&tx.customer_counters().await?))
    }
}
