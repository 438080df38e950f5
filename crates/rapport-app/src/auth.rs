//! Signing in: passwords (argon2id), access tokens (JWT), refresh tokens and API keys.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{decode, encode, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use rapport_core::audit::now;
use rapport_core::contact::Email;
use rapport_core::role::Role;
use rapport_store::RefreshTokenRow;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::Duration;
use uuid::Uuid;

use crate::{App, AppError, AppResult, Principal, PrincipalKind};

/// What a successful sign-in answers.
#[derive(Debug, Clone, Serialize)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    tid: Uuid,
    exp: i64,
    iat: i64,
}

const API_KEY_PREFIX: &str = "rpk_";
const REFRESH_PREFIX: &str = "rrt_";

pub(crate) fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

pub(crate) fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Unpadded base64 of 32 bytes: the length of both parts of a secret.
const PART_LEN: usize = 43;

/// A secret that names its tenant and record: `prefix` + random + `_` + base64(tenant ‖ id).
/// The ids let the server find the record without a cross-tenant look-up; only the hash of
/// the whole secret is stored. The random part comes first, so a secret's first characters
/// tell it apart from the tenant's others (an API key's `prefix`).
pub(crate) fn make_secret(prefix: &str, tenant: Uuid, id: Uuid) -> String {
    let mut ids = Vec::with_capacity(32);
    ids.extend_from_slice(tenant.as_bytes());
    ids.extend_from_slice(id.as_bytes());
    format!("{prefix}{}_{}", random_token(32), URL_SAFE_NO_PAD.encode(ids))
}

fn parse_secret(prefix: &str, secret: &str) -> Option<(Uuid, Uuid)> {
    let rest = secret.strip_prefix(prefix)?;
    // Base64url may itself contain `_`: the parts are told apart by their length.
    let ids = rest.get(PART_LEN..)?.strip_prefix('_')?;
    let raw = URL_SAFE_NO_PAD.decode(ids).ok()?;
    if raw.len() != 32 {
        return None;
    }
    Some((Uuid::from_slice(&raw[..16]).ok()?, Uuid::from_slice(&raw[16..]).ok()?))
}

impl App {
    fn argon2(&self) -> AppResult<Argon2<'static>> {
        let params = Params::new(self.settings.argon2_memory_kib, self.settings.argon2_iterations, 1, None)
            .map_err(|e| AppError::Internal(format!("argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    pub fn hash_password(&self, password: &str) -> AppResult<String> {
        let n = password.chars().count();
        if !(8..=256).contains(&n) {
            return Err(AppError::invalid("password", "weak_password", "a password has 8 to 256 characters"));
        }
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        self.argon2()?
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(format!("argon2: {e}")))
    }

    /// Password work (argon2) on a blocking thread: a hash takes tens of milliseconds, which
    /// no request thread (nor, done before any transaction, SQLite's one writer) should wait on.
    async fn off_thread<T: Send + 'static>(&self, work: impl FnOnce(&App) -> T + Send + 'static) -> AppResult<T> {
        let app = self.clone();
        tokio::task::spawn_blocking(move || work(&app))
            .await
            .map_err(|e| AppError::Internal(format!("password hashing stopped: {e}")))
    }

    /// `hash_password` off the request's thread (`off_thread`).
    pub(crate) async fn hash_off_thread(&self, password: String) -> AppResult<String> {
        self.off_thread(move |app| app.hash_password(&password)).await?
    }

    fn verify_password(&self, password: &str, hash: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(hash) else { return false };
        self.argon2().map(|a| a.verify_password(password.as_bytes(), &parsed).is_ok()).unwrap_or(false)
    }

    fn access_token(&self, tenant: Uuid, user: Uuid) -> AppResult<String> {
        let iat = now().unix_timestamp();
        let claims = Claims { sub: user, tid: tenant, iat, exp: iat + self.settings.access_ttl_seconds };
        encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(self.settings.jwt_secret.expose_secret().as_bytes()),
        )
        .map_err(|e| AppError::Internal(format!("jwt: {e}")))
    }

    async fn issue_tokens(&self, tx: &mut dyn rapport_store::Tx, tenant: Uuid, user: Uuid) -> AppResult<TokenPair> {
        let id = Uuid::now_v7();
        let refresh = make_secret(REFRESH_PREFIX, tenant, id);
        let at = now();
        tx.insert_refresh_token(&RefreshTokenRow {
            id,
            tenant_id: tenant,
            user_id: user,
            token_hash: sha256_hex(&refresh),
            expires_at: at + Duration::seconds(self.settings.refresh_ttl_seconds),
            revoked_at: None,
            created_at: at,
        })
        .await?;
        Ok(TokenPair {
            access_token: self.access_token(tenant, user)?,
            refresh_token: refresh,
            token_type: "Bearer",
            expires_in: self.settings.access_ttl_seconds,
        })
    }

    /// Signs a user in with email and password. Every failure looks the same.
    ///
    /// The password is checked on a blocking thread and outside any write transaction: the
    /// hash takes tens of milliseconds, which held SQLite's one writer (every chat waited)
    /// and a request thread. The sign-in is then written (last sign-in, a refresh token)
    /// with the user read again; signing in on several devices at once retries when another
    /// sign-in wrote the user first (PostgreSQL answered it 412 before).
    pub async fn login(&self, email: &str, password: &str) -> AppResult<TokenPair> {
        let email = Email::parse("email", email).map_err(|_| AppError::InvalidCredentials)?;
        let Some(tenant) = self.store.locate_login(email.normalized()).await? else {
            // Spend the same effort as a real check, so timing does not reveal accounts.
            self.check_password(password, None).await;
            return Err(AppError::InvalidCredentials);
        };
        let found = self.store.read(tenant).await?.get_user_by_email(email.normalized()).await?;
        let Some(user) = found else {
            return Err(AppError::InvalidCredentials);
        };
        if !user.active || !self.check_password(password, Some(&user.password_hash)).await {
            return Err(AppError::InvalidCredentials);
        }
        crate::record::retry_on_conflict(|| async {
            let mut tx = self.store.begin(tenant).await?;
            let mut u = tx.get_user(user.id).await?.ok_or(AppError::InvalidCredentials)?;
            // Deactivated, or given another password, since the password was checked.
            if !u.active || u.password_hash != user.password_hash {
                return Err(AppError::InvalidCredentials);
            }
            u.last_login_at = Some(now());
            u.version += 1;
            u.updated_at = now();
            tx.update_user(&u).await?;
            let pair = self.issue_tokens(tx.as_mut(), tenant, u.id).await?;
            tx.commit().await?;
            Ok(pair)
        })
        .await
    }

    /// Whether `password` is the one `hash` was made of, on a blocking thread; without a
    /// hash, the same work for nothing (an unknown email).
    async fn check_password(&self, password: &str, hash: Option<&str>) -> bool {
        let (password, hash) = (password.to_string(), hash.map(str::to_string));
        let checked = self.off_thread(move |app| match hash {
            Some(h) => app.verify_password(&password, &h),
            None => {
                let _ = app.hash_password("not-a-real-password");
                false
            }
        });
        checked.await.unwrap_or(false)
    }

    /// Exchanges a refresh token for a new pair; the old refresh token stops working.
    pub async fn refresh(&self, refresh_token: &str) -> AppResult<TokenPair> {
        let (tenant, _) = parse_secret(REFRESH_PREFIX, refresh_token).ok_or(AppError::InvalidToken)?;
        let mut tx = self.store.begin(tenant).await?;
        let row = tx.get_refresh_token(&sha256_hex(refresh_token)).await?.ok_or(AppError::InvalidToken)?;
        if row.revoked_at.is_some() || row.expires_at <= now() {
            return Err(AppError::InvalidToken);
        }
        let user = tx.get_user(row.user_id).await?.ok_or(AppError::InvalidToken)?;
        if !user.active {
            return Err(AppError::InvalidToken);
        }
        tx.revoke_refresh_token(row.id, now()).await?;
        let pair = self.issue_tokens(tx.as_mut(), tenant, user.id).await?;
        tx.commit().await?;
        Ok(pair)
    }

    /// Resolves a bearer credential (access token or API key) to its principal. The user or
    /// key is read again at least once a second, and at once after this server changed it, so
    /// deactivation and revocation act on the next request (`auth_cache`).
    pub async fn authenticate(&self, bearer: &str) -> AppResult<Principal> {
        if bearer.starts_with(API_KEY_PREFIX) {
            return self.authenticate_api_key(bearer).await;
        }
        let mut v = Validation::default();
        v.leeway = 5;
        let data = decode::<Claims>(
            bearer,
            &DecodingKey::from_secret(self.settings.jwt_secret.expose_secret().as_bytes()),
            &v,
        )
        .map_err(|_| AppError::InvalidToken)?;
        let c = data.claims;
        let user = self
            .auth_users
            .get(c.tid, c.sub, || self.store.auth_user(c.tid, c.sub))
            .await?
            .ok_or(AppError::InvalidToken)?;
        if !user.active {
            return Err(AppError::InvalidToken);
        }
        let role = Role::parse(&user.role).ok_or_else(|| AppError::Internal(format!("unknown role {}", user.role)))?;
        Ok(Principal { tenant_id: c.tid, id: user.id, kind: PrincipalKind::User, role })
    }

    async fn authenticate_api_key(&self, secret: &str) -> AppResult<Principal> {
        let (tenant, id) = parse_secret(API_KEY_PREFIX, secret).ok_or(AppError::InvalidToken)?;
        let key = self
            .auth_keys
            .get(tenant, id, || self.store.auth_api_key(tenant, id))
            .await?
            .ok_or(AppError::InvalidToken)?;
        if key.revoked_at.is_some() || key.secret_hash != sha256_hex(secret) {
            return Err(AppError::InvalidToken);
        }
        let role = Role::parse(&key.role).ok_or_else(|| AppError::Internal(format!("unknown role {}", key.role)))?;
        // Recording every use would make each request a write; once a minute is enough.
        if key.last_used_at.is_none_or(|t| now() - t > Duration::minutes(1)) {
            let mut tx = self.store.begin(tenant).await?;
            let mut k = key.clone();
            k.last_used_at = Some(now());
            tx.update_api_key(&k).await?;
            tx.commit().await?;
            // Kept with its old last use, the key would be written again on every request.
            self.auth_keys.forget(tenant, id);
        }
        Ok(Principal { tenant_id: tenant, id, kind: PrincipalKind::ApiKey, role })
    }

    pub(crate) fn new_api_key_secret(tenant: Uuid, id: Uuid) -> String {
        make_secret(API_KEY_PREFIX, tenant, id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_carry_their_ids() {
        let t = Uuid::now_v7();
        let mut firsts = std::collections::HashSet::new();
        // Enough secrets that some of their parts contain `_`.
        for _ in 0..500 {
            let i = Uuid::now_v7();
            let s = make_secret(API_KEY_PREFIX, t, i);
            assert_eq!(parse_secret(API_KEY_PREFIX, &s), Some((t, i)), "{s}");
            assert_eq!(parse_secret(REFRESH_PREFIX, &s), None);
            assert!(firsts.insert(s.chars().take(12).collect::<String>()), "first characters repeat: {s}");
        }
        assert_eq!(parse_secret(API_KEY_PREFIX, "rpk_garbage"), None);
        assert_eq!(parse_secret(API_KEY_PREFIX, "rpk_é"), None);
    }
}
