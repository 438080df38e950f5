//! Who is calling, and from where: what every permission check and audit entry needs.

use rapport_core::role::{Permission, Role, Scope};
use uuid::Uuid;

use crate::{AppError, AppResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    User,
    ApiKey,
}

/// An authenticated caller of one tenant.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant_id: Uuid,
    /// The user's or the API key's id.
    pub id: Uuid,
    pub kind: PrincipalKind,
    pub role: Role,
}

impl Principal {
    pub fn require(&self, p: Permission, what: &'static str) -> AppResult<()> {
        if self.role.allows(p) {
            Ok(())
        } else {
            Err(AppError::Forbidden(what))
        }
    }

    pub fn scope(&self) -> Scope {
        self.role.scope()
    }

    /// The user id, when the caller is a user.
    pub fn user_id(&self) -> Option<Uuid> {
        (self.kind == PrincipalKind::User).then_some(self.id)
    }

    pub fn actor(&self) -> Actor {
        Actor {
            actor_type: match self.kind {
                PrincipalKind::User => "user",
                PrincipalKind::ApiKey => "api_key",
            },
            actor_id: Some(self.id),
            conversation_id: None,
        }
    }
}

/// Who made a change, as the timeline and the audit log record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `user`, `api_key` or `system`.
    pub actor_type: &'static str,
    pub actor_id: Option<Uuid>,
    /// The chat conversation a machine change came from.
    pub conversation_id: Option<String>,
}

impl Actor {
    pub fn system() -> Self {
        Self { actor_type: "system", actor_id: None, conversation_id: None }
    }
}

/// Where a request came from, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}
