//! The SQL both backends share, written once.
//!
//! This folder is not a crate: each backend compiles it as its own module
//! (`#[path = "../../rapport-store/sql/mod.rs"] mod sql;`) beside a `dialect` module that
//! supplies what differs: the `Db` type, how a time is stored (`Ts`) and identity locks.
//! Queries use `$N` placeholders, which sqlx binds by number on both SQLite and PostgreSQL,
//! so one text serves both and the backends cannot drift apart.

mod accounts;
// One-statement reads (authentication, a list page): SQLite runs them on its reader pool;
// PostgreSQL, whose row-level security needs the tenant set in a transaction, does not.
#[allow(unused_imports)]
pub(crate) use {
    accounts::{api_key_by_id, user_by_id},
    customers::list_once,
};
mod audit;
mod conversations;
mod customers;
mod duplicates;
mod imports;
mod matching_keys;
mod merges;

use std::sync::Arc;

use async_trait::async_trait;
use rapport_store::*;
use time::OffsetDateTime;
use uuid::Uuid;

use super::dialect::{self, Db};

/// A time as the backend stores it (see each backend's `dialect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ts(pub OffsetDateTime);

pub(crate) fn ts(t: Option<OffsetDateTime>) -> Option<Ts> {
    t.map(Ts)
}

pub(crate) fn un_ts(t: Option<Ts>) -> Option<OffsetDateTime> {
    t.map(|t| t.0)
}

/// The rows a statement answers as one JSON array (SQLite's look-ups, see its dialect),
/// each parsed into `T`; a customer id in them is hex (`uuid_of_hex`).
pub(crate) fn json_rows<T: serde::de::DeserializeOwned>(json: &str) -> StoreResult<Vec<T>> {
    serde_json::from_str(json).map_err(|e| StoreError::Other(format!("a JSON answer: {e}")))
}

/// An id SQLite answered as `hex(id)` inside a JSON answer.
pub(crate) fn uuid_of_hex(hex: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(hex).map_err(|e| StoreError::Other(format!("an id in a JSON answer: {e}")))
}

/// Translates a driver error into what it means, the same way on both backends.
pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict(d.constraint().map(str::to_string).unwrap_or_else(|| d.message().to_string()))
        }
        // PostgreSQL chose this transaction to end a deadlock, or found it could not be
        // serialized: the change is run again, as after a stale version.
        sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("40P01" | "40001")) => StoreError::StaleVersion,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Other(e.to_string()),
    }
}

/// Bound values per statement at most (SQLite allows 32,766 and PostgreSQL 65,535). Kept far
/// below those: a statement of thousands of rows holds, until it ends, SQLite's statement
/// journal of every page it changed (in memory) and its own compiled program. Measured at
/// 200,000 customers (docs/PERFORMANCE.md), two imports of 2,000 rows raised the server by
/// 163 MiB with 30,000 and by 98 MiB with 1,000, and ran no slower.
pub(crate) const MAX_BINDS: usize = 1_000;

/// A statement with its bound values, on this backend.
pub(crate) type Query<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>;

/// Statements of more bound values than this are not kept prepared. Their text varies with
/// the number of rows or ids (a bulk load's batch, an import's chunk, a candidate look-up of
/// many probes), so a kept one is seldom used again, and a prepared statement of thousands
/// of values holds megabytes in the statement cache of every connection that ran it (an
/// import of 5,000 rows kept about 30 MB of them). The statements of one request's few rows
/// stay prepared.
const KEEP_PREPARED_BINDS: usize = 64;

/// Whether a statement of `binds` bound values is kept in its connection's statement cache.
pub(crate) fn keep_prepared(binds: usize) -> bool {
    binds <= KEEP_PREPARED_BINDS
}

/// `($1, …), (…)`: `rows` rows of `cols` placeholders, for a multi-row INSERT whose every
/// value is bound in order. On SQLite they are anonymous `?`: a numbered or named
/// placeholder has a name there, and the driver asks each one's name by a linear search of
/// the names, which makes a statement of thousands of them take seconds.
pub(crate) fn values_rows(rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 7);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            dialect::push_placeholder(&mut s, 1 + r * cols + c);
        }
        s.push(')');
    }
    s
}

pub(crate) fn decode_err(what: &str, value: &str) -> StoreError {
    StoreError::Other(format!("stored {what} {value:?} is not understood"))
}

/// Runs the one-off rebuilds that migrations asked for (`pending_rebuilds`): search
/// documents, keys and counters computed from the customers (`customer_index`), the search
/// index's terms from the documents where the dialect spells them itself (`search_terms`), metrics and
/// engagement per day from the conversations (`engagement`), one transaction per tenant. Runs at start, after the migrations.
pub(crate) async fn run_pending_rebuilds(store: &dyn Store, pool: &sqlx::Pool<Db>) -> StoreResult<()> {
    let jobs: Vec<String> =
        sqlx::query_scalar("SELECT job FROM pending_rebuilds").fetch_all(pool).await.map_err(map_err)?;
    if jobs.iter().any(|j| j == "customer_index") {
        for tenant in store.tenant_ids().await? {
            let mut tx = store.begin(tenant).await?;
            tx.rebuild_customer_index().await?;
            tx.commit().await?;
        }
        sqlx::query("DELETE FROM pending_rebuilds WHERE job = 'customer_index'")
            .execute(pool)
            .await
            .map_err(map_err)?;
    }
    if jobs.iter().any(|j| j == "search_terms") {
        dialect::rebuild_search_terms(pool).await?;
        sqlx::query("DELETE FROM pending_rebuilds WHERE job = 'search_terms'").execute(pool).await.map_err(map_err)?;
    }
    if jobs.iter().any(|j| j == "engagement") {
        for tenant in store.tenant_ids().await? {
            let mut tx = store.begin(tenant).await?;
            let ids = tx.customers_with_metrics().await?;
            tx.refresh_metrics_of(&ids).await?;
            tx.commit().await?;
        }
        sqlx::query("DELETE FROM pending_rebuilds WHERE job = 'engagement'").execute(pool).await.map_err(map_err)?;
    }
    Ok(())
}

/// The audit chain head as a transaction holds it.
#[derive(Clone)]
pub(crate) struct AuditHead {
    pub seq: i64,
    pub hash: String,
    pub moved: bool,
}

/// The connection a `SqlTx` runs its statements on.
pub(crate) enum Conn {
    /// In a transaction: one snapshot, committed (or rolled back) as a whole.
    Tx(sqlx::Transaction<'static, Db>),
    /// Outside a transaction, for reads only: each statement sees its own snapshot, and
    /// the read costs no BEGIN and no ROLLBACK (`Store::read_each`).
    Each(sqlx::pool::PoolConnection<Db>),
}

impl std::ops::Deref for Conn {
    type Target = <Db as sqlx::Database>::Connection;
    fn deref(&self) -> &Self::Target {
        match self {
            Conn::Tx(t) => t,
            Conn::Each(c) => c,
        }
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Conn::Tx(t) => &mut *t,
            Conn::Each(c) => &mut *c,
        }
    }
}

/// A transaction of one tenant on either backend.
pub struct SqlTx {
    pub(crate) tx: Conn,
    pub(crate) tenant: Uuid,
    /// Changes to the tenant's customer counters, written just before commit (see
    /// `customers::flush_counters`).
    pub(crate) counter_deltas: std::collections::BTreeMap<String, i64>,
    /// The tenant's audit chain head once this transaction has locked it, and whether an
    /// append moved it: written back once at commit (see `audit::flush_head`).
    pub(crate) audit_head: Option<AuditHead>,
    /// Timeline events and audit entries appended but not yet written: they are written
    /// many rows to a statement before anything reads them back and at commit (see
    /// `audit::flush_appends`).
    pub(crate) appends: audit::Appends,
    /// The tenant's row once read (`accounts::get_tenant`); forgotten when it is updated.
    pub(crate) tenant_row: Option<TenantRow>,
    /// Decoded customers by version, for read-only transactions only (see `row_cache`).
    pub(crate) row_cache: Option<std::sync::Arc<rapport_store::row_cache::RowCache>>,
    /// What the transaction held in memory at its savepoint, restored on rollback to it.
    pub(crate) savepoint: Option<Held>,
}

/// The state a transaction keeps in memory to write at commit, as a savepoint found it.
/// The appends stay buffered across savepoints (a batch of chats writes its events and
/// audit entries in a few statements at commit, not two per chat).
pub(crate) struct Held {
    counter_deltas: std::collections::BTreeMap<String, i64>,
    audit_head: Option<AuditHead>,
    tenant_row: Option<TenantRow>,
    pub(crate) appends: audit::SavedAppends,
}

/// The one savepoint's name.
const SAVEPOINT: &str = "rapport_change";

impl SqlTx {
    pub(crate) fn new(tx: sqlx::Transaction<'static, Db>, tenant: Uuid) -> Self {
        Self::on(Conn::Tx(tx), tenant)
    }

    fn on(tx: Conn, tenant: Uuid) -> Self {
        Self {
            tx,
            tenant,
            counter_deltas: Default::default(),
            audit_head: None,
            appends: Default::default(),
            tenant_row: None,
            row_cache: None,
            savepoint: None,
        }
    }

    /// A read-only transaction, which reads customer rows through `cache`.
    pub(crate) fn read_only(
        tx: sqlx::Transaction<'static, Db>,
        tenant: Uuid,
        cache: std::sync::Arc<rapport_store::row_cache::RowCache>,
    ) -> Self {
        Self { row_cache: Some(cache), ..Self::new(tx, tenant) }
    }

    /// Reads outside a transaction on a read-only connection (SQLite's `read_each`), which
    /// read customer rows through `cache` as a read-only transaction does: each statement
    /// sees committed rows only.
    #[allow(dead_code)] // PostgreSQL reads in a transaction always (row-level security).
    pub(crate) fn read_each(
        conn: sqlx::pool::PoolConnection<Db>,
        tenant: Uuid,
        cache: std::sync::Arc<rapport_store::row_cache::RowCache>,
    ) -> Self {
        Self { row_cache: Some(cache), ..Self::on(Conn::Each(conn), tenant) }
    }
}

#[async_trait]
impl Tx for SqlTx {
    fn tenant_id(&self) -> Uuid {
        self.tenant
    }

    async fn commit(mut self: Box<Self>) -> StoreResult<()> {
        audit::flush_at_commit(&mut self).await?;
        match self.tx {
            Conn::Tx(tx) => tx.commit().await.map_err(map_err),
            // Each statement ended by itself; reads only (`read_each`), nothing to write.
            Conn::Each(_) => Ok(()),
        }
    }

    async fn savepoint(&mut self) -> StoreResult<()> {
        if self.savepoint.is_some() {
            return Err(StoreError::Other("a savepoint is already set".into()));
        }
        // Outside a transaction SAVEPOINT would open one, left open on a pooled reader.
        if matches!(self.tx, Conn::Each(_)) {
            return Err(StoreError::Other("a read outside a transaction has no savepoints".into()));
        }
        sqlx::query(&format!("SAVEPOINT {SAVEPOINT}")).execute(&mut *self.tx).await.map_err(map_err)?;
        self.savepoint = Some(Held {
            counter_deltas: self.counter_deltas.clone(),
            audit_head: self.audit_head.clone(),
            tenant_row: self.tenant_row.clone(),
            appends: self.appends.at_savepoint(),
        });
        Ok(())
    }

    async fn release_savepoint(&mut self) -> StoreResult<()> {
        self.savepoint.take().ok_or_else(|| StoreError::Other("no savepoint is set".into()))?;
        sqlx::query(&format!("RELEASE SAVEPOINT {SAVEPOINT}")).execute(&mut *self.tx).await.map_err(map_err)?;
        Ok(())
    }

    async fn rollback_to_savepoint(&mut self) -> StoreResult<()> {
        let held = self.savepoint.take().ok_or_else(|| StoreError::Other("no savepoint is set".into()))?;
        sqlx::query(&format!("ROLLBACK TO SAVEPOINT {SAVEPOINT}")).execute(&mut *self.tx).await.map_err(map_err)?;
        sqlx::query(&format!("RELEASE SAVEPOINT {SAVEPOINT}")).execute(&mut *self.tx).await.map_err(map_err)?;
        self.appends.roll_back_to(held.appends);
        self.counter_deltas = held.counter_deltas;
        self.audit_head = held.audit_head;
        self.tenant_row = held.tenant_row;
        Ok(())
    }

    async fn insert_tenant(&mut self, t: &TenantRow) -> StoreResult<()> {
        accounts::insert_tenant(self, t).await
    }
    async fn get_tenant(&mut self) -> StoreResult<Option<TenantRow>> {
        accounts::get_tenant(self).await
    }
    async fn insert_user(&mut self, u: &UserRow) -> StoreResult<()> {
        accounts::insert_user(self, u).await
    }
    async fn get_user(&mut self, id: Uuid) -> StoreResult<Option<UserRow>> {
        accounts::get_user(self, Some(id), None).await
    }
    async fn get_user_by_email(&mut self, email_normalized: &str) -> StoreResult<Option<UserRow>> {
        accounts::get_user(self, None, Some(email_normalized)).await
    }
    async fn list_users(&mut self) -> StoreResult<Vec<UserRow>> {
        accounts::list_users(self).await
    }
    async fn update_user(&mut self, u: &UserRow) -> StoreResult<()> {
        accounts::update_user(self, u).await
    }
    async fn insert_api_key(&mut self, k: &ApiKeyRow) -> StoreResult<()> {
        accounts::insert_api_key(self, k).await
    }
    async fn get_api_key(&mut self, id: Uuid) -> StoreResult<Option<ApiKeyRow>> {
        accounts::get_api_key(self, id).await
    }
    async fn list_api_keys(&mut self) -> StoreResult<Vec<ApiKeyRow>> {
        accounts::list_api_keys(self).await
    }
    async fn update_api_key(&mut self, k: &ApiKeyRow) -> StoreResult<()> {
        accounts::update_api_key(self, k).await
    }
    async fn insert_refresh_token(&mut self, r: &RefreshTokenRow) -> StoreResult<()> {
        accounts::insert_refresh_token(self, r).await
    }
    async fn get_refresh_token(&mut self, token_hash: &str) -> StoreResult<Option<RefreshTokenRow>> {
        accounts::get_refresh_token(self, token_hash).await
    }
    async fn revoke_refresh_token(&mut self, id: Uuid, at: OffsetDateTime) -> StoreResult<()> {
        accounts::revoke_refresh_token(self, id, at).await
    }

    async fn lock_identity(&mut self, keys: &[String]) -> StoreResult<()> {
        let mut keys: Vec<String> = keys.iter().map(|k| format!("{}:{k}", self.tenant)).collect();
        keys.sort();
        keys.dedup();
        dialect::lock_identity(&mut self.tx, &keys).await
    }
    async fn insert_customers(&mut self, rows: &[CustomerRow]) -> StoreResult<()> {
        customers::insert(self, rows).await
    }
    async fn get_customer(&mut self, id: Uuid) -> StoreResult<Option<CustomerRow>> {
        customers::get(self, id).await
    }
    async fn update_customer(&mut self, c: &CustomerRow) -> StoreResult<()> {
        customers::update(self, c).await
    }
    async fn update_customer_over(&mut self, stored: &CustomerRow, c: &CustomerRow) -> StoreResult<()> {
        customers::update_over(self, stored, c).await
    }
    async fn find_customers_by_email(
        &mut self,
        email_normalized: &str,
        except: Option<Uuid>,
    ) -> StoreResult<Vec<CustomerRow>> {
        customers::find_by_email(self, email_normalized, except).await
    }
    async fn find_candidates_by_keys(
        &mut self,
        sets: &[Vec<(&'static str, String)>],
        limit: u32,
        keep: Option<&KeepCandidate<'_>>,
        except: &std::collections::HashSet<Uuid>,
    ) -> StoreResult<Vec<(usize, MatchCandidateRow)>> {
        matching_keys::find_by_keys(self, sets, limit, keep, except).await
    }
    async fn contact_keys_of(&mut self, ids: &[Uuid]) -> StoreResult<Vec<(Uuid, String, String)>> {
        matching_keys::contact_keys_of(self, ids).await
    }
    async fn list_customers(&mut self, q: &CustomerQuery) -> StoreResult<Vec<Arc<CustomerRow>>> {
        customers::list(self, q).await
    }
    async fn search_customers(
        &mut self,
        q: &CustomerQuery,
        search: &rapport_core::search::Query,
        limit: u32,
    ) -> StoreResult<Vec<SearchHit>> {
        customers::search(self, q, search, limit).await
    }
    async fn get_customers(&mut self, ids: &[Uuid]) -> StoreResult<Vec<CustomerRow>> {
        customers::get_many(self, ids).await
    }
    async fn customer_counters(&mut self) -> StoreResult<Vec<(String, i64)>> {
        customers::counters(self).await
    }
    async fn counter(&mut self, key: &str) -> StoreResult<i64> {
        customers::counter(self, key).await
    }
    async fn count_customers_afresh(&mut self) -> StoreResult<Vec<(String, i64)>> {
        customers::count_afresh(self).await
    }
    async fn rebuild_customer_index(&mut self) -> StoreResult<()> {
        customers::rebuild_index(self).await
    }

    async fn get_conversation_by_session(&mut self, session_id: &str) -> StoreResult<Option<ConversationRow>> {
        conversations::get_by_session(self, session_id).await
    }
    async fn sessions_on_file(&mut self, session_ids: &[String]) -> StoreResult<Vec<String>> {
        conversations::sessions_on_file(self, session_ids).await
    }
    async fn insert_conversations(&mut self, rows: &[ConversationRow]) -> StoreResult<()> {
        conversations::insert(self, rows).await
    }
    async fn update_conversation(&mut self, c: &ConversationRow) -> StoreResult<()> {
        conversations::update(self, c).await
    }
    async fn list_conversations(&mut self, q: &ConversationQuery) -> StoreResult<Vec<ConversationRow>> {
        conversations::list(self, q).await
    }
    async fn refresh_metrics_of(&mut self, customers: &[Uuid]) -> StoreResult<Vec<MetricsRow>> {
        conversations::refresh_metrics(self, customers).await
    }
    async fn get_metrics(&mut self, customer_id: Uuid) -> StoreResult<Option<MetricsRow>> {
        conversations::get_metrics(self, customer_id).await
    }

    async fn conversation_ids_of(&mut self, customer_id: Uuid) -> StoreResult<Vec<Uuid>> {
        conversations::ids_of(self, customer_id).await
    }
    async fn move_conversations(&mut self, ids: &[Uuid], to: Uuid) -> StoreResult<()> {
        conversations::move_to(self, ids, to).await
    }
    async fn topic_counts(
        &mut self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<(String, i64)>> {
        conversations::topic_counts(self, from, to, limit).await
    }
    async fn top_engaged(&mut self, from_day: i64, to_day: i64, limit: u32) -> StoreResult<Vec<(Uuid, i64, i64)>> {
        conversations::top_engaged(self, from_day, to_day, limit).await
    }
    async fn customers_with_metrics(&mut self) -> StoreResult<Vec<Uuid>> {
        conversations::customers_with_metrics(self).await
    }
    async fn update_tenant(&mut self, t: &TenantRow) -> StoreResult<()> {
        accounts::update_tenant(self, t).await
    }
    async fn upsert_duplicate_pairs(&mut self, rows: &[DuplicatePairRow]) -> StoreResult<()> {
        duplicates::upsert(self, rows).await
    }
    async fn get_duplicate_pair(&mut self, a: Uuid, b: Uuid) -> StoreResult<Option<DuplicatePairRow>> {
        duplicates::get(self, a, b).await
    }
    async fn set_duplicate_status(&mut self, a: Uuid, b: Uuid, status: &str, at: OffsetDateTime) -> StoreResult<()> {
        duplicates::set_status(self, a, b, status, at).await
    }
    async fn list_duplicate_pairs(
        &mut self,
        after: Option<&PairCursor>,
        limit: u32,
    ) -> StoreResult<Vec<DuplicatePairRow>> {
        duplicates::list(self, after, limit).await
    }
    async fn scan_sources(&mut self, after: Option<Uuid>, limit: u32) -> StoreResult<Vec<ScanSourceRow>> {
        duplicates::scan_sources(self, after, limit).await
    }
    async fn scan_sources_of(&mut self, ids: &[Uuid]) -> StoreResult<Vec<ScanSourceRow>> {
        duplicates::scan_sources_of(self, ids).await
    }
    async fn insert_import(&mut self, i: &ImportRow) -> StoreResult<()> {
        imports::insert(self, i).await
    }
    async fn update_import(&mut self, i: &ImportRow) -> StoreResult<()> {
        imports::update(self, i).await
    }
    async fn get_import(&mut self, id: Uuid) -> StoreResult<Option<ImportRow>> {
        imports::get(self, id).await
    }
    async fn list_imports(&mut self, before: Option<Uuid>, limit: u32) -> StoreResult<Vec<ImportRow>> {
        imports::list(self, before, limit).await
    }
    async fn insert_import_items(&mut self, items: &[ImportItemRow]) -> StoreResult<()> {
        imports::insert_items(self, items).await
    }
    async fn import_items(&mut self, import_id: Uuid) -> StoreResult<Vec<ImportItemRow>> {
        imports::items(self, import_id).await
    }

    async fn insert_merge_log(&mut self, m: &MergeLogRow) -> StoreResult<()> {
        merges::insert(self, m).await
    }
    async fn get_merge_log(&mut self, id: Uuid) -> StoreResult<Option<MergeLogRow>> {
        merges::get(self, id).await
    }
    async fn list_merge_logs(&mut self, before: Option<Uuid>, limit: u32) -> StoreResult<Vec<MergeLogRow>> {
        merges::list(self, before, limit).await
    }
    async fn mark_merge_undone(&mut self, m: &MergeLogRow) -> StoreResult<()> {
        merges::mark_undone(self, m).await
    }

    async fn insert_event(&mut self, e: &EventRow) -> StoreResult<()> {
        audit::insert_event(self, e).await
    }
    async fn list_events(
        &mut self,
        customer_id: Uuid,
        types: &[String],
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<EventRow>> {
        audit::list_events(self, customer_id, types, before, limit).await
    }
    async fn audit_head(&mut self) -> StoreResult<(i64, String)> {
        audit::head(self).await
    }
    async fn append_audit(&mut self, a: &AuditRow) -> StoreResult<()> {
        audit::append(self, a).await
    }
    async fn list_audit(&mut self, q: &AuditQuery) -> StoreResult<Vec<AuditRow>> {
        audit::list(self, q).await
    }
    async fn audit_chain(&mut self, after: i64, limit: u32) -> StoreResult<Vec<AuditRow>> {
        audit::chain(self, after, limit).await
    }
    async fn get_idempotency(&mut self, principal: Uuid, key: &str) -> StoreResult<Option<IdempotencyRow>> {
        audit::get_idempotency(self, principal, key).await
    }
    async fn put_idempotency(&mut self, r: &IdempotencyRow) -> StoreResult<()> {
        audit::put_idempotency(self, r).await
    }
}
