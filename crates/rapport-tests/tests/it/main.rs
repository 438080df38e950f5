//! Rapport's integration tests: every test runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used)]

mod harness;

mod accounts;
mod analytics;
mod audit;
mod bench;
mod bulk;
mod cli;
mod conversations;
mod customers;
mod duplicates;
mod http;
mod imports;
mod isolation;
mod matching;
mod merges;
mod openapi;
mod scan;
mod search;
mod storage;
mod validation;
