//! Tenants: creating one with its owner, and the first start of an empty database.

use rapport_core::audit::now;
use rapport_core::role::Role;
use rapport_store::{StoreError, TenantRow, UserRow};
use serde_json::json;
use uuid::Uuid;

use crate::auth::random_token;
use crate::record::Trail;
use crate::users::NewUser;
use crate::{Actor, App, AppError, AppResult, RequestMeta};

/// The owner account made on the first start, with its one-time password.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub tenant: TenantRow,
    pub owner_email: String,
    pub owner_password: String,
}

/// A tenant's URL-safe name: lowercase ASCII letters, digits and dashes.
pub fn slugify(name: &str) -> String {
    let mut s = String::new();
    for c in deunicode_lite(name).chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    let s = s.trim_end_matches('-').to_string();
    if s.is_empty() {
        "tenant".to_string()
    } else {
        s.chars().take(48).collect()
    }
}

/// Drops what is not ASCII; enough for a slug, which is only a label.
fn deunicode_lite(s: &str) -> String {
    s.chars().filter(char::is_ascii).collect()
}

impl App {
    /// Creates a tenant and its owner in one transaction. The slug comes from the name and
    /// gets a suffix when another tenant has it.
    pub async fn create_tenant(&self, name: &str, owner: NewUser) -> AppResult<(TenantRow, UserRow)> {
        let name = rapport_core::text::bounded("name", name, 1, 200)
            .map_err(|e| AppError::Validation(rapport_core::Invalid(vec![e])))?;
        let base = slugify(&name);
        let id = Uuid::now_v7();
        match self.create_tenant_with_slug(id, &name, &base, &owner).await {
            Err(AppError::Conflict("slug_taken", _)) => {
                let slug = format!("{base}-{}", &id.simple().to_string()[24..]);
                self.create_tenant_with_slug(id, &name, &slug, &owner).await
            }
            other => other,
        }
    }

    async fn create_tenant_with_slug(
        &self,
        id: Uuid,
        name: &str,
        slug: &str,
        owner: &NewUser,
    ) -> AppResult<(TenantRow, UserRow)> {
        let tenant = TenantRow {
            id,
            name: name.to_string(),
            slug: slug.to_string(),
            base_currency: "USD".into(),
            phone_region: "US".into(),
            timezone: "UTC".into(),
            settings: json!({}),
            created_at: now(),
        };
        let owner = NewUser { role: Role::Owner, ..owner.clone() };
        let hash = self.new_user_password_hash(&owner).await?;
        let mut tx = self.store.begin(id).await?;
        tx.insert_tenant(&tenant).await.map_err(|e| match e {
            StoreError::Conflict(_) => AppError::Conflict("slug_taken", "a tenant with this slug exists".into()),
            other => other.into(),
        })?;
        let actor = Actor::system();
        let meta = RequestMeta::default();
        let trail = Trail { actor: &actor, meta: &meta };
        let user = self.insert_user(tx.as_mut(), &trail, &owner, hash).await?;
        tx.commit().await?;
        Ok((tenant, user))
    }

    /// On an empty database, creates the first tenant and an owner with a random password;
    /// of servers starting together on one database, one does (the others answer None).
    pub async fn bootstrap(&self) -> AppResult<Option<Bootstrap>> {
        if !self.store.tenant_ids().await?.is_empty() {
            return Ok(None);
        }
        let password = random_token(18);
        let owner = NewUser {
            email: "owner@rapport.local".into(),
            name: "Owner".into(),
            role: Role::Owner,
            password: Some(password.clone()),
        };
        match self.create_tenant("Default", owner).await {
            Ok((tenant, user)) => Ok(Some(Bootstrap { tenant, owner_email: user.email, owner_password: password })),
            // Another server starting on the same database made it first.
            Err(AppError::Conflict(..)) if !self.store.tenant_ids().await?.is_empty() => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn tenant(&self, tenant: Uuid) -> AppResult<TenantRow> {
        let mut tx = self.store.read(tenant).await?;
        tx.get_tenant().await?.ok_or(AppError::NotFound("tenant"))
    }
}
