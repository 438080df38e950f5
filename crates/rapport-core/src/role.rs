//! Roles, the permissions each holds, and which customers each may see (SPEC section 2).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Manager,
    Sales,
    Support,
    Viewer,
    Portal,
    Integration,
}

/// Permission strings in the `customers:read` form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    CustomersRead,
    CustomersCreate,
    CustomersWrite,
    CustomersDelete,
    CustomersRestore,
    CustomersReadDeleted,
    CustomersForceDuplicate,
    CustomersAssign,
    CustomersMerge,
    /// Import customers from CSV, and revert an import.
    CustomersImport,
    UsersRead,
    UsersManage,
    ApiKeysManage,
    AuditRead,
    TenantSettings,
}

/// Which customers a role reaches at all; anything outside answers 404.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every customer of the tenant.
    Tenant,
    /// Customers assigned to the user, and unassigned prospects and leads.
    AssignedOrOpenLeads,
    /// Only the customer whose portal user this is, and only through `/me`.
    OwnRecord,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Owner,
        Role::Admin,
        Role::Manager,
        Role::Sales,
        Role::Support,
        Role::Viewer,
        Role::Portal,
        Role::Integration,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Sales => "sales",
            Role::Support => "support",
            Role::Viewer => "viewer",
            Role::Portal => "portal",
            Role::Integration => "integration",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn scope(self) -> Scope {
        match self {
            Role::Sales => Scope::AssignedOrOpenLeads,
            Role::Portal => Scope::OwnRecord,
            _ => Scope::Tenant,
        }
    }

    /// The permission table of SPEC section 2.
    pub fn allows(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Owner | Role::Admin => true,
            Role::Manager => !matches!(p, UsersManage | ApiKeysManage | TenantSettings),
            Role::Sales => matches!(p, CustomersRead | CustomersCreate | CustomersWrite | UsersRead),
            Role::Support | Role::Viewer => matches!(p, CustomersRead | UsersRead),
            Role::Portal => false,
            Role::Integration => matches!(p, CustomersRead | CustomersCreate),
        }
    }

    /// Roles a user may hold; `integration` is for API keys only.
    pub fn is_user_role(self) -> bool {
        self != Role::Integration
    }

    /// Only the owner grants or takes away ownership.
    pub fn may_grant(self, target: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Admin => target != Role::Owner,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn viewer_changes_nothing_and_manager_manages_no_users() {
        assert!(!Role::Viewer.allows(Permission::CustomersWrite));
        assert!(!Role::Viewer.allows(Permission::CustomersCreate));
        assert!(Role::Manager.allows(Permission::CustomersReadDeleted));
        assert!(!Role::Manager.allows(Permission::UsersManage));
        assert!(!Role::Sales.allows(Permission::CustomersDelete));
        assert!(!Role::Admin.may_grant(Role::Owner));
    }
}
