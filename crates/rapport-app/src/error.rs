//! Every error a use case can answer, each with one stable code and HTTP status.

use rapport_core::{FieldError, Invalid};
use rapport_store::StoreError;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication is required")]
    Unauthenticated,
    #[error("the email or password is wrong")]
    InvalidCredentials,
    #[error("the token is invalid or expired")]
    InvalidToken,
    #[error("your role may not {0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The customer was merged into another; the client follows `Location`.
    #[error("this customer was merged into {to}")]
    Moved { to: uuid::Uuid },
    #[error("a customer with the same {field} exists")]
    CustomerDuplicate { field: &'static str, matches: Value },
    /// A stable code and the message for people.
    #[error("{1}")]
    Conflict(&'static str, String),
    #[error("the record changed since you read it (version {current})")]
    VersionMismatch { current: i64 },
    #[error("the request is invalid")]
    Validation(Invalid),
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    #[error("too many attempts; retry in {retry_after} seconds")]
    RateLimited { retry_after: u64 },
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// The stable code and HTTP status of every error, in one table.
    pub fn code_and_status(&self) -> (&'static str, u16) {
        match self {
            AppError::BadRequest(_) => ("bad_request", 400),
            AppError::Unauthenticated => ("unauthenticated", 401),
            AppError::InvalidCredentials => ("invalid_credentials", 401),
            AppError::InvalidToken => ("invalid_token", 401),
            AppError::Forbidden(_) => ("forbidden", 403),
            AppError::NotFound(_) => ("not_found", 404),
            AppError::Moved { .. } => ("customer_merged", 308),
            AppError::CustomerDuplicate { .. } => ("customer_duplicate", 409),
            AppError::Conflict(code, _) => (code, 409),
            AppError::VersionMismatch { .. } => ("version_mismatch", 412),
            AppError::Validation(_) => ("validation_failed", 422),
            AppError::IdempotencyKeyReused => ("idempotency_key_reused", 422),
            AppError::RateLimited { .. } => ("rate_limited", 429),
            AppError::Unavailable(_) => ("unavailable", 503),
            AppError::Internal(_) => ("internal", 500),
        }
    }

    /// Field errors, for `errors` in problem+json.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            AppError::Validation(inv) => &inv.0,
            _ => &[],
        }
    }

    pub fn invalid(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        AppError::Validation(Invalid::one(field, code, message))
    }
}

impl From<Invalid> for AppError {
    fn from(i: Invalid) -> Self {
        AppError::Validation(i)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound("record"),
            StoreError::StaleVersion => AppError::VersionMismatch { current: -1 },
            StoreError::Conflict(which) => {
                if which.contains("user_logins") || which.contains("users_email") || which.contains("email_normalized")
                {
                    AppError::Conflict("email_taken", "a user with this email exists".into())
                } else if which.contains("slug") {
                    AppError::Conflict("slug_taken", "a tenant with this slug exists".into())
                } else if which.contains("portal_user") {
                    AppError::Conflict("portal_user_taken", "this portal user already owns a customer".into())
                } else {
                    AppError::Conflict("conflict", "the change conflicts with an existing record".into())
                }
            }
            StoreError::Unavailable(m) => AppError::Unavailable(m),
            StoreError::Other(m) => AppError::Internal(m),
        }
    }
}
