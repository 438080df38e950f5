//! Pure domain rules of Rapport: parsing, validation, roles and audit hashing.
//!
//! Nothing here does IO: no async, no SQL, no HTTP. Every rule of the SPEC that can be
//! decided from values alone lives here, so both databases and every entry point share it.
#![forbid(unsafe_code)]

pub mod audit;
pub mod contact;
pub mod conversation;
pub mod customer;
pub mod error;
pub mod identity;
pub mod import;
pub mod patch;
pub mod role;
pub mod search;
pub mod text;

pub use error::{FieldError, Invalid};
pub use patch::Patch;
