//! Decoded customer rows kept by version, so a list page reads its rows' ids and versions
//! from an index and decodes only the rows it has not seen at that version.
//!
//! Every write of a customer moves its version by one under a version check, so a committed
//! `(tenant, id, version)` names one content forever. Only read-only transactions put rows
//! in (they see committed rows only); a row a transaction of its own wrote, which may yet be
//! rolled back, never enters.

use std::sync::Arc;

use uuid::Uuid;

use crate::CustomerRow;

/// A bounded map from `(tenant, id)` to the last decoded version of that customer.
pub struct RowCache {
    rows: quick_cache::sync::Cache<(Uuid, Uuid), Arc<CustomerRow>>,
}

impl RowCache {
    /// Rows kept at most: a few list pages of every busy tenant, a few MiB.
    pub const CAPACITY: usize = 4096;

    pub fn new(capacity: usize) -> Self {
        Self { rows: quick_cache::sync::Cache::new(capacity.max(1)) }
    }

    /// The row of this customer at exactly this version, when kept.
    pub fn get(&self, tenant: Uuid, id: Uuid, version: i64) -> Option<Arc<CustomerRow>> {
        self.rows.get(&(tenant, id)).filter(|r| r.version == version)
    }

    /// Whether some version of this customer is kept: only those are worth a look-up of
    /// their version before reading them (a search's page is mostly customers never read).
    pub fn holds(&self, tenant: Uuid, id: Uuid) -> bool {
        self.rows.contains_key(&(tenant, id))
    }

    /// Keeps a committed row (read by a read-only transaction).
    pub fn put(&self, row: Arc<CustomerRow>) {
        self.rows.insert((row.tenant_id, row.id), row);
    }
}

impl Default for RowCache {
    fn default() -> Self {
        Self::new(Self::CAPACITY)
    }
}
