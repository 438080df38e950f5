//! Rapport's integration tests live in `tests/it`: one binary, every store and API test
//! run against SQLite and PostgreSQL.
