//! Which customers a caller reaches. Anything outside answers 404, never 403.

use rapport_core::customer::LifecycleStage;
use rapport_core::role::Scope;
use rapport_store::CustomerRow;

use crate::Principal;

/// Whether `p` may see `c` at all (deletion is checked separately).
pub fn visible(p: &Principal, c: &CustomerRow) -> bool {
    match p.scope() {
        Scope::Tenant => true,
        Scope::AssignedOrOpenLeads => match c.data.assigned_to {
            Some(a) => Some(a) == p.user_id(),
            None => matches!(c.data.lifecycle_stage, LifecycleStage::Prospect | LifecycleStage::Lead),
        },
        Scope::OwnRecord => p.user_id().is_some() && c.data.portal_user_id == p.user_id(),
    }
}
