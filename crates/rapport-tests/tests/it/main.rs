//! Rapport's integration tests: every test runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used)]

mod harness;

mod audit;
mod customers;
mod isolation;
mod openapi;
