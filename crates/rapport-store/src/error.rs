//! What a store can fail with, in terms of meaning rather than driver codes.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique key was taken; names the constraint so the app can say which.
    #[error("conflict on {0}")]
    Conflict(String),
    /// An optimistic update found a newer version.
    #[error("stale version")]
    StaleVersion,
    /// The database could not be reached or is shutting down.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else; a bug or a broken database.
    #[error("database error: {0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;
