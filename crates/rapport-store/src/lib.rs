//! The storage contract of Rapport: the `Store` and `Tx` traits and the rows they carry.
//!
//! No database driver appears here. Each backend crate implements these traits; the use
//! cases in rapport-app speak only this language, so they run unchanged on both databases.
#![forbid(unsafe_code)]

mod error;
mod query;
pub mod row_cache;
mod rows;
pub mod stats;

pub use error::{StoreError, StoreResult};
pub use query::{
    AssignedFilter, AuditQuery, ConversationQuery, Cursor, CustomerQuery, CustomerSort, PairCursor, SearchHit,
    SortField, SortValue,
};
pub use rows::*;

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

/// Which database a store runs on; for logs and health output only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A database holding every tenant. Work happens inside transactions opened for one tenant.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Opens a read-write transaction that sees only `tenant`.
    async fn begin(&self, tenant: Uuid) -> StoreResult<Box<dyn Tx>>;

    /// Opens a read-only transaction that sees only `tenant`.
    async fn read(&self, tenant: Uuid) -> StoreResult<Box<dyn Tx>>;

    /// Opens a read of `tenant` whose statements may each see their own snapshot, for
    /// reads that stay right when the data changes between their statements (a search:
    /// each look-up's candidates, then the page's rows, a deleted one left out): by default
    /// a read-only transaction; SQLite runs them on a reader outside a transaction, which
    /// saves its BEGIN and ROLLBACK, each a round trip to the driver's thread.
    async fn read_each(&self, tenant: Uuid) -> StoreResult<Box<dyn Tx>> {
        self.read(tenant).await
    }

    /// The tenant of the user with this normalized email, before anyone is authenticated.
    async fn locate_login(&self, email_normalized: &str) -> StoreResult<Option<Uuid>>;

    /// Every tenant's id, oldest first (first start, `audit verify` of all tenants).
    async fn tenant_ids(&self) -> StoreResult<Vec<Uuid>>;

    /// A user of `tenant`, read to authenticate a request: by default in a read
    /// transaction; SQLite reads it in one statement without one (a single statement sees
    /// one snapshot), which saves the transaction's two round trips on every read (the app
    /// keeps what it read for a second, `auth_cache`).
    async fn auth_user(&self, tenant: Uuid, id: Uuid) -> StoreResult<Option<UserRow>> {
        self.read(tenant).await?.get_user(id).await
    }

    /// A page of `tenant`'s customer list without a search: by default in a read
    /// transaction; SQLite answers it in one statement when the page's rows are kept (see
    /// `row_cache`), or two, each its own snapshot, without a transaction.
    async fn list_page(&self, tenant: Uuid, q: &CustomerQuery) -> StoreResult<Vec<Arc<CustomerRow>>> {
        self.read(tenant).await?.list_customers(q).await
    }

    /// An API key of `tenant`, read to authenticate a request (as `auth_user`).
    async fn auth_api_key(&self, tenant: Uuid, id: Uuid) -> StoreResult<Option<ApiKeyRow>> {
        self.read(tenant).await?.get_api_key(id).await
    }

    /// Whether the database answers.
    async fn ping(&self) -> StoreResult<()>;
    /// Keeps the query planner's statistics current (SQLite: `PRAGMA optimize`, which
    /// analyzes only the tables that need it); the server calls it now and then.
    /// PostgreSQL's autovacuum does this on its own.
    async fn optimize(&self) -> StoreResult<()> {
        Ok(())
    }
    /// Readies the database for queries after a bulk load: refreshes the planner's
    /// statistics of every table now (on PostgreSQL too, with a VACUUM of the dead rows the
    /// load left, where the server otherwise leaves both to autovacuum) and, on SQLite,
    /// merges each search index into one segment.
    async fn analyze(&self) -> StoreResult<()> {
        self.optimize().await
    }

    async fn close(&self);
}

/// Whether a candidate of the set at this index, with this name, is worth reading whole.
pub type KeepCandidate<'a> = dyn Fn(usize, &str) -> bool + Send + Sync + 'a;

/// One transaction of one tenant. Dropping it without `commit` rolls it back.
#[async_trait]
pub trait Tx: Send {
    fn tenant_id(&self) -> Uuid;

    async fn commit(self: Box<Self>) -> StoreResult<()>;

    /// Marks the point `rollback_to_savepoint` returns to: one change of several written in
    /// one transaction (a group commit) is undone alone when it fails. One at a time.
    async fn savepoint(&mut self) -> StoreResult<()>;
    /// Keeps what was written since the savepoint and forgets the savepoint.
    async fn release_savepoint(&mut self) -> StoreResult<()>;
    /// Undoes everything written since the savepoint, in the database and in what the
    /// transaction holds to write at commit, and forgets the savepoint.
    async fn rollback_to_savepoint(&mut self) -> StoreResult<()>;

    // Tenants
    async fn insert_tenant(&mut self, t: &TenantRow) -> StoreResult<()>;
    async fn get_tenant(&mut self) -> StoreResult<Option<TenantRow>>;

    // Users
    async fn insert_user(&mut self, u: &UserRow) -> StoreResult<()>;
    async fn get_user(&mut self, id: Uuid) -> StoreResult<Option<UserRow>>;
    async fn get_user_by_email(&mut self, email_normalized: &str) -> StoreResult<Option<UserRow>>;
    async fn list_users(&mut self) -> StoreResult<Vec<UserRow>>;
    /// Writes `u` if its stored version is `u.version - 1`; else `StaleVersion`.
    async fn update_user(&mut self, u: &UserRow) -> StoreResult<()>;

    // API keys
    async fn insert_api_key(&mut self, k: &ApiKeyRow) -> StoreResult<()>;
    async fn get_api_key(&mut self, id: Uuid) -> StoreResult<Option<ApiKeyRow>>;
    async fn list_api_keys(&mut self) -> StoreResult<Vec<ApiKeyRow>>;
    async fn update_api_key(&mut self, k: &ApiKeyRow) -> StoreResult<()>;

    // Refresh tokens
    async fn insert_refresh_token(&mut self, r: &RefreshTokenRow) -> StoreResult<()>;
    async fn get_refresh_token(&mut self, token_hash: &str) -> StoreResult<Option<RefreshTokenRow>>;
    async fn revoke_refresh_token(&mut self, id: Uuid, at: time::OffsetDateTime) -> StoreResult<()>;

    // Customers
    /// Serializes concurrent writers that decide on the same identity keys (emails, phones)
    /// until this transaction ends.
    async fn lock_identity(&mut self, keys: &[String]) -> StoreResult<()>;
    /// Inserts new customers, many rows to a statement, with their tags, keys, search
    /// documents and counters.
    async fn insert_customers(&mut self, rows: &[CustomerRow]) -> StoreResult<()>;
    async fn insert_customer(&mut self, c: &CustomerRow) -> StoreResult<()> {
        self.insert_customers(std::slice::from_ref(c)).await
    }
    async fn get_customer(&mut self, id: Uuid) -> StoreResult<Option<CustomerRow>>;
    /// Writes `c` if its stored version is `c.version - 1`; else `StaleVersion`.
    async fn update_customer(&mut self, c: &CustomerRow) -> StoreResult<()>;
    /// The same over `stored`, the row as this transaction read it (since its last rollback
    /// to a savepoint), which saves reading it again; if `c` does not follow `stored`'s
    /// version, the row is read again.
    async fn update_customer_over(&mut self, stored: &CustomerRow, c: &CustomerRow) -> StoreResult<()>;
    /// Live customers (not deleted) with this normalized email, excluding `except`.
    async fn find_customers_by_email(
        &mut self,
        email_normalized: &str,
        except: Option<Uuid>,
    ) -> StoreResult<Vec<CustomerRow>>;
    /// For each set of matching keys (kind, normalized value), the live customers sharing
    /// the most of them, at most `limit` per set, tagged with the set's index: many look-ups
    /// (an import's rows) in few statements. With `keep`, only the customers it keeps, by
    /// set and name, are read whole: the names are read first from a small index. Customers
    /// in `except` are never answered, and left out before the limit (an import's own new
    /// customers, which must not take the places of those on file).
    async fn find_candidates_by_keys(
        &mut self,
        sets: &[Vec<(&'static str, String)>],
        limit: u32,
        keep: Option<&KeepCandidate<'_>>,
        except: &HashSet<Uuid>,
    ) -> StoreResult<Vec<(usize, MatchCandidateRow)>>;
    /// The email and phone keys of those of these customers that others were merged into
    /// (their own and the merged ones'). A customer nothing was merged into has no contact
    /// key beyond its row's email and phone, so none is answered for it.
    async fn contact_keys_of(&mut self, ids: &[Uuid]) -> StoreResult<Vec<(Uuid, String, String)>>;
    /// A page of the list; rows kept by the row cache are shared with it, not copied.
    async fn list_customers(&mut self, q: &CustomerQuery) -> StoreResult<Vec<Arc<CustomerRow>>>;
    /// Live customers that may answer `search`, found through the search index, with the
    /// filters of `q` applied (not its sort, cursor or limit): at most `limit`, the index's
    /// best candidates first. The caller ranks them (`rapport_core::search::score`).
    async fn search_customers(
        &mut self,
        q: &CustomerQuery,
        search: &rapport_core::search::Query,
        limit: u32,
    ) -> StoreResult<Vec<SearchHit>>;
    /// These customers (deleted ones too), in no particular order; unknown ids are skipped.
    async fn get_customers(&mut self, ids: &[Uuid]) -> StoreResult<Vec<CustomerRow>>;
    /// The tenant's customer counters (see `stats`), kept by every customer write.
    async fn customer_counters(&mut self) -> StoreResult<Vec<(String, i64)>>;
    /// One of the tenant's counters by its key (see `stats`): zero when never written.
    async fn counter(&mut self, key: &str) -> StoreResult<i64>;
    /// The same counters counted afresh from the customers: a scan of the tenant, to check
    /// or repair the kept ones.
    async fn count_customers_afresh(&mut self) -> StoreResult<Vec<(String, i64)>>;
    /// Rewrites the tenant's search documents and counters from its customers.
    async fn rebuild_customer_index(&mut self) -> StoreResult<()>;

    // Conversations and metrics
    async fn get_conversation_by_session(&mut self, session_id: &str) -> StoreResult<Option<ConversationRow>>;
    /// Which of `session_ids` the tenant has a conversation of (a deleted one included).
    async fn sessions_on_file(&mut self, session_ids: &[String]) -> StoreResult<Vec<String>>;
    /// Inserts new conversations, many rows to a statement, with their topics.
    async fn insert_conversations(&mut self, rows: &[ConversationRow]) -> StoreResult<()>;
    async fn insert_conversation(&mut self, c: &ConversationRow) -> StoreResult<()> {
        self.insert_conversations(std::slice::from_ref(c)).await
    }
    async fn update_conversation(&mut self, c: &ConversationRow) -> StoreResult<()>;
    /// Live conversations matching `q`, newest first; of one customer or of the whole tenant.
    async fn list_conversations(&mut self, q: &ConversationQuery) -> StoreResult<Vec<ConversationRow>>;
    /// Recomputes a customer's metrics from its live conversations and stores them.
    /// Recomputes the metrics and engagement per day of these customers from their live
    /// conversations, in a few statements however many they are.
    async fn refresh_metrics_of(&mut self, customers: &[Uuid]) -> StoreResult<Vec<MetricsRow>>;
    async fn refresh_metrics(&mut self, customer_id: Uuid) -> StoreResult<MetricsRow> {
        let mut m = self.refresh_metrics_of(&[customer_id]).await?;
        m.pop().ok_or(StoreError::NotFound)
    }
    async fn get_metrics(&mut self, customer_id: Uuid) -> StoreResult<Option<MetricsRow>>;

    /// Ids of a customer's conversations (hidden ones too): what a merge moves.
    async fn conversation_ids_of(&mut self, customer_id: Uuid) -> StoreResult<Vec<Uuid>>;
    /// Points these conversations at another customer.
    async fn move_conversations(&mut self, ids: &[Uuid], to: Uuid) -> StoreResult<()>;

    /// How many live conversations discussed each topic in `[from, to)`, most first.
    async fn topic_counts(
        &mut self,
        from: time::OffsetDateTime,
        to: time::OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<(String, i64)>>;
    /// Live customers with the most interactions in conversations active on the UTC days
    /// `from_day..=to_day` (days since 1970-01-01): id, conversations, interactions.
    async fn top_engaged(&mut self, from_day: i64, to_day: i64, limit: u32) -> StoreResult<Vec<(Uuid, i64, i64)>>;
    /// Every customer id that has or had conversations or metrics (for `metrics rebuild`).
    async fn customers_with_metrics(&mut self) -> StoreResult<Vec<Uuid>>;
    async fn update_tenant(&mut self, t: &TenantRow) -> StoreResult<()>;

    // Review queue
    /// Adds or refreshes an open pair; a dismissed or merged pair is left as it is.
    /// Queues pairs (a pair already queued keeps its status and creation time; an open one
    /// takes the new confidence), many to a statement.
    async fn upsert_duplicate_pairs(&mut self, rows: &[DuplicatePairRow]) -> StoreResult<()>;
    async fn upsert_duplicate_pair(&mut self, d: &DuplicatePairRow) -> StoreResult<()> {
        self.upsert_duplicate_pairs(std::slice::from_ref(d)).await
    }
    async fn get_duplicate_pair(&mut self, a: Uuid, b: Uuid) -> StoreResult<Option<DuplicatePairRow>>;
    async fn set_duplicate_status(
        &mut self,
        a: Uuid,
        b: Uuid,
        status: &str,
        at: time::OffsetDateTime,
    ) -> StoreResult<()>;
    /// Open pairs whose customers are both live, most likely first, after `after`.
    async fn list_duplicate_pairs(
        &mut self,
        after: Option<&PairCursor>,
        limit: u32,
    ) -> StoreResult<Vec<DuplicatePairRow>>;
    /// Live customers with ids after `after`, in id order, as the duplicate scan reads them.
    async fn scan_sources(&mut self, after: Option<Uuid>, limit: u32) -> StoreResult<Vec<ScanSourceRow>>;
    /// These customers as the duplicate scan reads them, those alive (any order).
    async fn scan_sources_of(&mut self, ids: &[Uuid]) -> StoreResult<Vec<ScanSourceRow>>;

    // Merges
    async fn insert_merge_log(&mut self, m: &MergeLogRow) -> StoreResult<()>;
    async fn get_merge_log(&mut self, id: Uuid) -> StoreResult<Option<MergeLogRow>>;
    /// Newest first.
    async fn list_merge_logs(&mut self, before: Option<Uuid>, limit: u32) -> StoreResult<Vec<MergeLogRow>>;
    /// Records the undo of a merge.
    async fn mark_merge_undone(&mut self, m: &MergeLogRow) -> StoreResult<()>;

    // Imports
    async fn insert_import(&mut self, i: &ImportRow) -> StoreResult<()>;
    /// Writes its status, counts and times.
    async fn update_import(&mut self, i: &ImportRow) -> StoreResult<()>;
    async fn get_import(&mut self, id: Uuid) -> StoreResult<Option<ImportRow>>;
    /// Newest first.
    async fn list_imports(&mut self, before: Option<Uuid>, limit: u32) -> StoreResult<Vec<ImportRow>>;
    async fn insert_import_items(&mut self, items: &[ImportItemRow]) -> StoreResult<()>;
    /// In line order.
    async fn import_items(&mut self, import_id: Uuid) -> StoreResult<Vec<ImportItemRow>>;

    // Timeline
    async fn insert_event(&mut self, e: &EventRow) -> StoreResult<()>;
    /// Newest first; `before` is the id of the last event of the previous page.
    async fn list_events(
        &mut self,
        customer_id: Uuid,
        types: &[String],
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<EventRow>>;

    // Audit
    /// Locks the tenant's chain head until commit and returns it (0 and the genesis hash
    /// before the first entry).
    async fn audit_head(&mut self) -> StoreResult<(i64, String)>;
    /// Appends an entry and moves the head to it.
    async fn append_audit(&mut self, a: &AuditRow) -> StoreResult<()>;
    async fn list_audit(&mut self, q: &AuditQuery) -> StoreResult<Vec<AuditRow>>;
    /// Entries with `seq > after`, in order: the verifier walks the chain with this.
    async fn audit_chain(&mut self, after: i64, limit: u32) -> StoreResult<Vec<AuditRow>>;

    // Idempotency
    async fn get_idempotency(&mut self, principal: Uuid, key: &str) -> StoreResult<Option<IdempotencyRow>>;
    /// Keeps the first answer; a concurrent second one is ignored.
    async fn put_idempotency(&mut self, r: &IdempotencyRow) -> StoreResult<()>;
}
