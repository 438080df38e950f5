//! Tenants, users, API keys and refresh tokens.

use rapport_store::*;
use sqlx::types::Json;
use sqlx::FromRow;
use time::OffsetDateTime;
use uuid::Uuid;

use super::dialect::Db;
use super::{map_err, ts, un_ts, SqlTx, Ts};

#[derive(FromRow)]
struct TenantRecord {
    tenant_id: Uuid,
    name: String,
    slug: String,
    base_currency: String,
    phone_region: String,
    timezone: String,
    settings: Json<serde_json::Value>,
    created_at: Ts,
}

pub(super) async fn insert_tenant(tx: &mut SqlTx, t: &TenantRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO tenants (tenant_id, name, slug, base_currency, phone_region, timezone, settings, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(t.id)
    .bind(&t.name)
    .bind(&t.slug)
    .bind(&t.base_currency)
    .bind(&t.phone_region)
    .bind(&t.timezone)
    .bind(Json(&t.settings))
    .bind(Ts(t.created_at))
    .execute(&mut *tx.tx)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// The tenant's row, read once per transaction (its settings decide much of a change).
pub(super) async fn get_tenant(tx: &mut SqlTx) -> StoreResult<Option<TenantRow>> {
    if let Some(t) = &tx.tenant_row {
        return Ok(Some(t.clone()));
    }
    let t = read_tenant(tx).await?;
    tx.tenant_row = t.clone();
    Ok(t)
}

async fn read_tenant(tx: &mut SqlTx) -> StoreResult<Option<TenantRow>> {
    let r: Option<TenantRecord> = sqlx::query_as("SELECT * FROM tenants WHERE tenant_id = $1")
        .bind(tx.tenant)
        .fetch_optional(&mut *tx.tx)
        .await
        .map_err(map_err)?;
    Ok(r.map(|r| TenantRow {
        id: r.tenant_id,
        name: r.name,
        slug: r.slug,
        base_currency: r.base_currency,
        phone_region: r.phone_region,
        timezone: r.timezone,
        settings: r.settings.0,
        created_at: r.created_at.0,
    }))
}

pub(super) async fn update_tenant(tx: &mut SqlTx, t: &TenantRow) -> StoreResult<()> {
    tx.tenant_row = None;
    sqlx::query(
        "UPDATE tenants SET name = $2, base_currency = $3, phone_region = $4, timezone = $5, settings = $6 WHERE tenant_id = $1",
    )
    .bind(tx.tenant)
    .bind(&t.name)
    .bind(&t.base_currency)
    .bind(&t.phone_region)
    .bind(&t.timezone)
    .bind(Json(&t.settings))
    .execute(&mut *tx.tx)
    .await
    .map_err(map_err)?;
    Ok(())
}

#[derive(FromRow)]
struct UserRecord {
    tenant_id: Uuid,
    id: Uuid,
    email: String,
    email_normalized: String,
    name: String,
    role: String,
    password_hash: String,
    active: bool,
    last_login_at: Option<Ts>,
    created_at: Ts,
    updated_at: Ts,
    version: i64,
}

impl From<UserRecord> for UserRow {
    fn from(r: UserRecord) -> Self {
        UserRow {
            id: r.id,
            tenant_id: r.tenant_id,
            email: r.email,
            email_normalized: r.email_normalized,
            name: r.name,
            role: r.role,
            password_hash: r.password_hash,
            active: r.active,
            last_login_at: un_ts(r.last_login_at),
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
            version: r.version,
        }
    }
}

pub(super) async fn insert_user(tx: &mut SqlTx, u: &UserRow) -> StoreResult<()> {
    sqlx::query("INSERT INTO user_logins (email_normalized, tenant_id, user_id) VALUES ($1, $2, $3)")
        .bind(&u.email_normalized)
        .bind(tx.tenant)
        .bind(u.id)
        .execute(&mut *tx.tx)
        .await
        .map_err(map_err)?;
    sqlx::query(
        "INSERT INTO users (tenant_id, id, email, email_normalized, name, role, password_hash, active, \
         last_login_at, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(tx.tenant)
    .bind(u.id)
    .bind(&u.email)
    .bind(&u.email_normalized)
    .bind(&u.name)
    .bind(&u.role)
    .bind(&u.password_hash)
    .bind(u.active)
    .bind(ts(u.last_login_at))
    .bind(Ts(u.created_at))
    .bind(Ts(u.updated_at))
    .bind(u.version)
    .execute(&mut *tx.tx)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(super) async fn get_user(tx: &mut SqlTx, id: Option<Uuid>, email: Option<&str>) -> StoreResult<Option<UserRow>> {
    match (id, email) {
        (Some(id), _) => user_by_id(&mut *tx.tx, tx.tenant, id).await,
        (None, e) => {
            let r: Option<UserRecord> =
                sqlx::query_as("SELECT * FROM users WHERE tenant_id = $1 AND email_normalized = $2")
                    .bind(tx.tenant)
                    .bind(e.unwrap_or_default().to_string())
                    .fetch_optional(&mut *tx.tx)
                    .await
                    .map_err(map_err)?;
            Ok(r.map(UserRow::from))
        }
    }
}

/// A user of `tenant` by id, through any executor (a transaction, or a pool for one
/// statement).
pub(crate) async fn user_by_id<'e>(
    e: impl sqlx::Executor<'e, Database = Db>,
    tenant: Uuid,
    id: Uuid,
) -> StoreResult<Option<UserRow>> {
    let r: Option<UserRecord> = sqlx::query_as("SELECT * FROM users WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(map_err)?;
    Ok(r.map(UserRow::from))
}

pub(super) async fn list_users(tx: &mut SqlTx) -> StoreResult<Vec<UserRow>> {
    let rs: Vec<UserRecord> = sqlx::query_as("SELECT * FROM users WHERE tenant_id = $1 ORDER BY created_at, id")
        .bind(tx.tenant)
        .fetch_all(&mut *tx.tx)
        .await
        .map_err(map_err)?;
    Ok(rs.into_iter().map(UserRow::from).collect())
}

pub(super) async fn update_user(tx: &mut SqlTx, u: &UserRow) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE users SET name = $3, role = $4, password_hash = $5, active = $6, last_login_at = $7, \
         updated_at = $8, version = $9 WHERE tenant_id = $1 AND id = $2 AND version = $9 - 1",
    )
    .bind(tx.tenant)
    .bind(u.id)
    .bind(&u.name)
    .bind(&u.role)
    .bind(&u.password_hash)
    .bind(u.active)
    .bind(ts(u.last_login_at))
    .bind(Ts(u.updated_at))
    .bind(u.version)
    .execute(&mut *tx.tx)
    .await
    .map_err(map_err)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::StaleVersion);
    }
    Ok(())
}

#[derive(FromRow)]
struct ApiKeyRecord {
    tenant_id: Uuid,
    id: Uuid,
    name: String,
    role: String,
    prefix: String,
    secret_hash: String,
    created_by: Option<Uuid>,
    created_at: Ts,
    revoked_at: Option<Ts>,
    last_used_at: Option<Ts>,
}

impl From<ApiKeyRecord> for ApiKeyRow {
    fn from(r: ApiKeyRecord) -> Self {
        ApiKeyRow {
            id: r.id,
            tenant_id: r.tenant_id,
            name: r.name,
            role: r.role,
            prefix: r.prefix,
            secret_hash: r.secret_hash,
            created_by: r.created_by,
            created_at: r.created_at.0,
            revoked_at: un_ts(r.revoked_at),
            last_used_at: un_ts(r.last_used_at),
        }
    }
}

pub(super) async fn insert_api_key(tx: &mut SqlTx, k: &ApiKeyRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO api_keys (tenant_id, id, name, role, prefix, secret_hash, created_by, created_at, revoked_at, last_used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(tx.tenant)
    .bind(k.id)
    .bind(&k.name)
    .bind(&k.role)
    .bind(&k.prefix)
    .bind(&k.secret_hash)
    .bind(k.created_by)
    .bind(Ts(k.created_at))
    .bind(ts(k.revoked_at))
    .bind(ts(k.last_used_at))
    .execute(&mut *tx.tx)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(super) async fn get_api_key(tx: &mut SqlTx, id: Uuid) -> StoreResult<Option<ApiKeyRow>> {
    api_key_by_id(&mut *tx.tx, tx.tenant, id).await
}

/// An API key of `tenant` by id, through any executor.
pub(crate) async fn api_key_by_id<'e>(
    e: impl sqlx::Executor<'e, Database = Db>,
    tenant: Uuid,
    id: Uuid,
) -> StoreResult<Option<ApiKeyRow>> {
    let r: Option<ApiKeyRecord> = sqlx::query_as("SELECT * FROM api_keys WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(map_err)?;
    Ok(r.map(ApiKeyRow::from))
}

pub(super) async fn list_api_keys(tx: &mut SqlTx) -> StoreResult<Vec<ApiKeyRow>> {
    let rs: Vec<ApiKeyRecord> = sqlx::query_as("SELECT * FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id")
        .bind(tx.tenant)
        .fetch_all(&mut *tx.tx)
        .await
        .map_err(map_err)?;
    Ok(rs.into_iter().map(ApiKeyRow::from).collect())
}

pub(super) async fn update_api_key(tx: &mut SqlTx, k: &ApiKeyRow) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE api_keys SET name = $3, revoked_at = $4, last_used_at = $5 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant)
    .bind(k.id)
    .bind(&k.name)
    .bind(ts(k.revoked_at))
    .bind(ts(k.last_used_at))
    .execute(&mut *tx.tx)
    .await
    .map_err(map_err)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

#[derive(FromRow)]
struct RefreshRecord {
    tenant_id: Uuid,
    id: Uuid,
    user_id: Uuid,
    token_hash: String,
    expires_at: Ts,
    revoked_at: Option<Ts>,
    created_at: Ts,
}

pub(super) async fn insert_refresh_token(tx: &mut SqlTx, r: &RefreshTokenRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (tenant_id, id, user_id, token_hash, expires_at, revoked_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tx.tenant)
    .bind(r.id)
    .bind(r.user_id)
    .bind(&r.token_hash)
    .bind(Ts(r.expires_at))
    .bind(ts(r.revoked_at))
    .bind(Ts(r.created_at))
    .execute(&mut *tx.tx)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(super) async fn get_refresh_token(tx: &mut SqlTx, hash: &str) -> StoreResult<Option<RefreshTokenRow>> {
    let r: Option<RefreshRecord> =
        sqlx::query_as("SELECT * FROM refresh_tokens WHERE tenant_id = $1 AND token_hash = $2")
            .bind(tx.tenant)
            .bind(hash)
            .fetch_optional(&mut *tx.tx)
            .await
            .map_err(map_err)?;
    Ok(r.map(|r| RefreshTokenRow {
        id: r.id,
        tenant_id: r.tenant_id,
        user_id: r.user_id,
        token_hash: r.token_hash,
        expires_at: r.expires_at.0,
        revoked_at: un_ts(r.revoked_at),
        created_at: r.created_at.0,
    }))
}

pub(super) async fn revoke_refresh_token(tx: &mut SqlTx, id: Uuid, at: OffsetDateTime) -> StoreResult<()> {
    sqlx::query("UPDATE refresh_tokens SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL")
        .bind(tx.tenant)
        .bind(id)
        .bind(Ts(at))
        .execute(&mut *tx.tx)
        .await
        .map_err(map_err)?;
    Ok(())
}
