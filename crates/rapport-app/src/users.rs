//! Users of a tenant: invite, list, change role, deactivate (with reassignment).

use rapport_core::audit::now;
use rapport_core::contact::Email;
use rapport_core::role::{Permission, Role};
use rapport_core::Patch;
use rapport_store::{AssignedFilter, CustomerQuery, CustomerRow, Tx, UserRow};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::random_token;
use crate::record::Trail;
use crate::{App, AppError, AppResult, Principal, RequestMeta};

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    /// When absent, a one-time password is generated and answered once.
    pub password: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    /// On deactivation: who takes over the user's customers (null: nobody).
    pub reassign_to: Patch<Uuid>,
    pub password: Option<String>,
}

/// The audit view of a user: never the password hash.
pub fn user_audit_values(u: &UserRow) -> Value {
    json!({"email": u.email, "name": u.name, "role": u.role, "active": u.active})
}

impl App {
    /// The hash of a new user's password, made before any transaction (`hash_off_thread`).
    pub(crate) async fn new_user_password_hash(&self, n: &NewUser) -> AppResult<String> {
        let password =
            n.password.clone().ok_or_else(|| AppError::invalid("password", "required", "password is required"))?;
        self.hash_off_thread(password).await
    }

    /// Inserts a user whose password `password_hash` is (`new_user_password_hash`).
    pub(crate) async fn insert_user(
        &self,
        tx: &mut dyn Tx,
        trail: &Trail<'_>,
        n: &NewUser,
        password_hash: String,
    ) -> AppResult<UserRow> {
        let email =
            Email::parse("email", &n.email).map_err(|e| AppError::Validation(rapport_core::Invalid(vec![e])))?;
        let name = if n.name.trim().is_empty() {
            email.as_str().split('@').next().unwrap_or("user").to_string()
        } else {
            n.name.clone()
        };
        let name = rapport_core::text::bounded("name", &name, 1, 200)
            .map_err(|e| AppError::Validation(rapport_core::Invalid(vec![e])))?;
        if !n.role.is_user_role() {
            return Err(AppError::invalid("role", "invalid_value", "integration is a role for API keys only"));
        }
        let at = now();
        let user = UserRow {
            id: Uuid::now_v7(),
            tenant_id: tx.tenant_id(),
            email: email.as_str().to_string(),
            email_normalized: email.normalized().to_string(),
            name,
            role: n.role.as_str().to_string(),
            password_hash,
            active: true,
            last_login_at: None,
            created_at: at,
            updated_at: at,
            version: 1,
        };
        tx.insert_user(&user).await?;
        trail.audit(tx, "users", user.id, "insert", json!({}), user_audit_values(&user)).await?;
        Ok(user)
    }

    /// Adds a user as the system (CLI `user add`).
    pub async fn add_user(&self, tenant: Uuid, n: NewUser) -> AppResult<UserRow> {
        let hash = self.new_user_password_hash(&n).await?;
        let mut tx = self.store.begin(tenant).await?;
        tx.get_tenant().await?.ok_or(AppError::NotFound("tenant"))?;
        let actor = crate::Actor::system();
        let meta = RequestMeta::default();
        let u = self.insert_user(tx.as_mut(), &Trail { actor: &actor, meta: &meta }, &n, hash).await?;
        tx.commit().await?;
        Ok(u)
    }

    /// Invites a user; answers the user and, when none was given, a one-time password.
    pub async fn create_user(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        mut n: NewUser,
    ) -> AppResult<(UserRow, Option<String>)> {
        p.require(Permission::UsersManage, "manage users")?;
        if !p.role.may_grant(n.role) {
            return Err(AppError::Forbidden("grant this role"));
        }
        let generated = match n.password {
            Some(_) => None,
            None => {
                let pw = random_token(18);
                n.password = Some(pw.clone());
                Some(pw)
            }
        };
        let hash = self.new_user_password_hash(&n).await?;
        let mut tx = self.store.begin(p.tenant_id).await?;
        let actor = p.actor();
        let u = self.insert_user(tx.as_mut(), &Trail { actor: &actor, meta }, &n, hash).await?;
        tx.commit().await?;
        Ok((u, generated))
    }

    pub async fn list_users(&self, p: &Principal) -> AppResult<Vec<UserRow>> {
        p.require(Permission::UsersRead, "list users")?;
        let mut tx = self.store.read(p.tenant_id).await?;
        Ok(tx.list_users().await?)
    }

    pub async fn get_user(&self, p: &Principal, id: Uuid) -> AppResult<UserRow> {
        p.require(Permission::UsersRead, "read users")?;
        let mut tx = self.store.read(p.tenant_id).await?;
        tx.get_user(id).await?.ok_or(AppError::NotFound("user"))
    }

    /// Changes a user's name, role, password or active flag. Deactivation hands the user's
    /// customers to `reassign_to` (or leaves them unassigned) in the same transaction.
    pub async fn update_user(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        id: Uuid,
        patch: UserPatch,
        if_match: Option<i64>,
    ) -> AppResult<UserRow> {
        p.require(Permission::UsersManage, "manage users")?;
        let new_hash = match &patch.password {
            Some(pw) => Some(self.hash_off_thread(pw.clone()).await?),
            None => None,
        };
        let mut tx = self.store.begin(p.tenant_id).await?;
        let old = tx.get_user(id).await?.ok_or(AppError::NotFound("user"))?;
        if let Some(v) = if_match {
            if v != old.version {
                return Err(AppError::VersionMismatch { current: old.version });
            }
        }
        let old_role = Role::parse(&old.role).unwrap_or(Role::Viewer);
        if !p.role.may_grant(old_role) || patch.role.is_some_and(|r| !p.role.may_grant(r)) {
            return Err(AppError::Forbidden("change this user's role or status"));
        }
        let mut u = old.clone();
        if let Some(name) = &patch.name {
            u.name = rapport_core::text::bounded("name", name, 1, 200)
                .map_err(|e| AppError::Validation(rapport_core::Invalid(vec![e])))?;
        }
        if let Some(r) = patch.role {
            if !r.is_user_role() {
                return Err(AppError::invalid("role", "invalid_value", "integration is a role for API keys only"));
            }
            u.role = r.as_str().to_string();
        }
        if let Some(a) = patch.active {
            u.active = a;
        }
        if let Some(h) = new_hash {
            u.password_hash = h;
        }
        let losing_owner = old_role == Role::Owner && (u.role != "owner" || !u.active);
        if losing_owner {
            let owners =
                tx.list_users().await?.into_iter().filter(|x| x.role == "owner" && x.active && x.id != id).count();
            if owners == 0 {
                return Err(AppError::Conflict("last_owner", "a tenant keeps at least one active owner".into()));
            }
        }
        if u == old {
            return Ok(old);
        }
        u.version += 1;
        u.updated_at = now();
        tx.update_user(&u).await?;
        let actor = p.actor();
        let trail = Trail { actor: &actor, meta };
        let (before, after) = rapport_core::customer::diff(
            user_audit_values(&old).as_object().cloned().as_ref().unwrap_or(&Default::default()),
            user_audit_values(&u).as_object().cloned().as_ref().unwrap_or(&Default::default()),
        );
        let mut after = after;
        if patch.password.is_some() {
            after.insert("password".into(), json!("changed"));
        }
        trail.audit(tx.as_mut(), "users", id, "update", Value::Object(before), Value::Object(after)).await?;
        if old.active && !u.active {
            let to = match patch.reassign_to {
                Patch::Value(t) => {
                    let target = tx.get_user(t).await?.filter(|t| t.active && t.id != id);
                    Some(
                        target
                            .ok_or_else(|| {
                                AppError::invalid(
                                    "reassign_to",
                                    "invalid_reference",
                                    "reassign_to must be another active user of this tenant",
                                )
                            })?
                            .id,
                    )
                }
                _ => None,
            };
            self.reassign_customers(tx.as_mut(), &trail, id, to).await?;
        }
        tx.commit().await?;
        self.auth_users.changed();
        Ok(u)
    }

    async fn reassign_customers(
        &self,
        tx: &mut dyn Tx,
        trail: &Trail<'_>,
        from: Uuid,
        to: Option<Uuid>,
    ) -> AppResult<()> {
        loop {
            let q = CustomerQuery {
                limit: 200,
                assigned_to: Some(AssignedFilter::User(from)),
                include_deleted: true,
                ..Default::default()
            };
            let page = tx.list_customers(&q).await?;
            if page.is_empty() {
                return Ok(());
            }
            for c in page {
                let mut n = CustomerRow::clone(&c);
                n.data.assigned_to = to;
                self.write_customer_update(tx, trail, &c, n, None).await?;
            }
        }
    }
}
