//! The timeline, the hash-chained audit log, and stored idempotent answers.

use rapport_store::*;
use sqlx::types::Json;
use sqlx::{FromRow, QueryBuilder};
use uuid::Uuid;

use super::dialect::{self, Db};
use super::{keep_prepared, map_err, values_rows, Query, SqlTx, Ts, MAX_BINDS};

#[derive(FromRow)]
struct EventRecord {
    tenant_id: Uuid,
    id: Uuid,
    customer_id: Uuid,
    event_type: String,
    data: Json<serde_json::Value>,
    actor_type: String,
    actor_id: Option<Uuid>,
    at: Ts,
}

/// Events and audit entries of a transaction not yet written.
#[derive(Default, Clone)]
pub(crate) struct Appends {
    events: Vec<EventRow>,
    audit: Vec<AuditRow>,
}

/// The appends as a savepoint found them, to put back on a rollback to it.
pub(crate) enum SavedAppends {
    /// Nothing was written since the savepoint: the first this many of each are from
    /// before it.
    Buffered { events: usize, audit: usize },
    /// A read inside the savepoint wrote them all (`flush_appends`): those from before it,
    /// which the rollback takes out of the database again.
    Written(Appends),
}

impl Appends {
    /// How the savepoint being set finds them.
    pub(crate) fn at_savepoint(&self) -> SavedAppends {
        SavedAppends::Buffered { events: self.events.len(), audit: self.audit.len() }
    }

    /// Back to what `saved` found.
    pub(crate) fn roll_back_to(&mut self, saved: SavedAppends) {
        match saved {
            SavedAppends::Buffered { events, audit } => {
                self.events.truncate(events);
                self.audit.truncate(audit);
            }
            SavedAppends::Written(before) => *self = before,
        }
    }
}

pub(super) async fn insert_event(tx: &mut SqlTx, e: &EventRow) -> StoreResult<()> {
    tx.appends.events.push(e.clone());
    Ok(())
}

/// Writes the events and audit entries appended so far, many rows to a statement: before
/// anything reads the timeline or the audit log back, and at commit.
pub(super) async fn flush_appends(tx: &mut SqlTx) -> StoreResult<()> {
    // Inside a savepoint this writes the entries from before it too, which a rollback to it
    // would take out of the database: they are kept to be appended again.
    if let Some(held) = tx.savepoint.as_mut() {
        if let SavedAppends::Buffered { events, audit } = held.appends {
            if events > 0 || audit > 0 {
                let before =
                    Appends { events: tx.appends.events[..events].to_vec(), audit: tx.appends.audit[..audit].to_vec() };
                held.appends = SavedAppends::Written(before);
            }
        }
    }
    let events = std::mem::take(&mut tx.appends.events);
    for chunk in events.chunks(EVENTS_A_STATEMENT) {
        let sql = events_sql(chunk.len());
        bind_events(sqlx::query(&sql), tx.tenant, chunk)
            .persistent(keep_prepared(chunk.len() * EVENT_COLUMNS))
            .execute(&mut *tx.tx)
            .await
            .map_err(map_err)?;
    }
    let audit = std::mem::take(&mut tx.appends.audit);
    for chunk in audit.chunks(ENTRIES_A_STATEMENT) {
        let sql = audit_sql(chunk.len());
        bind_audit(sqlx::query(&sql), tx.tenant, chunk)
            .persistent(keep_prepared(chunk.len() * AUDIT_COLUMNS))
            .execute(&mut *tx.tx)
            .await
            .map_err(map_err)?;
    }
    Ok(())
}

const EVENT_COLUMNS: usize = 8;
const EVENTS_A_STATEMENT: usize = MAX_BINDS / EVENT_COLUMNS;
const AUDIT_COLUMNS: usize = 17;
const ENTRIES_A_STATEMENT: usize = MAX_BINDS / AUDIT_COLUMNS;

fn events_sql(rows: usize) -> String {
    format!(
        "INSERT INTO customer_events (tenant_id, id, customer_id, event_type, data, actor_type, actor_id, at) VALUES {}",
        values_rows(rows, EVENT_COLUMNS)
    )
}

fn bind_events<'q>(mut q: Query<'q>, tenant: Uuid, rows: &'q [EventRow]) -> Query<'q> {
    for e in rows {
        q = q
            .bind(tenant)
            .bind(e.id)
            .bind(e.customer_id)
            .bind(&e.event_type)
            .bind(Json(&e.data))
            .bind(&e.actor_type)
            .bind(e.actor_id)
            .bind(Ts(e.at));
    }
    q
}

fn audit_sql(rows: usize) -> String {
    format!(
        "INSERT INTO audit_log (tenant_id, seq, table_name, record_id, action, old_values, new_values, \
         values_digest, actor_type, actor_id, conversation_id, ip, user_agent, request_id, at, prev_hash, hash) \
         VALUES {}",
        values_rows(rows, AUDIT_COLUMNS)
    )
}

fn bind_audit<'q>(mut q: Query<'q>, tenant: Uuid, rows: &'q [AuditRow]) -> Query<'q> {
    for a in rows {
        q = q
            .bind(tenant)
            .bind(a.seq)
            .bind(&a.table_name)
            .bind(a.record_id)
            .bind(&a.action)
            .bind(Json(&a.old_values))
            .bind(Json(&a.new_values))
            .bind(&a.values_digest)
            .bind(&a.actor_type)
            .bind(a.actor_id)
            .bind(&a.conversation_id)
            .bind(&a.ip)
            .bind(&a.user_agent)
            .bind(&a.request_id)
            .bind(Ts(a.at))
            .bind(&a.prev_hash)
            .bind(&a.hash);
    }
    q
}

/// What a commit writes last: the events and audit entries not yet written, the chain
/// head, the counters. Where the database takes several statements in one command
/// (`dialect::STATEMENTS_IN_ONE_COMMAND`: SQLite; its driver numbers the `?` of each after
/// the last one's) they go as one, one hand-off to the connection's thread instead of four
/// or more; else one by one. (Nothing rolls back to a savepoint after a commit, so the
/// savepoint bookkeeping of `flush_appends` is not needed here.)
pub(super) async fn flush_at_commit(tx: &mut SqlTx) -> StoreResult<()> {
    if !dialect::STATEMENTS_IN_ONE_COMMAND {
        flush_appends(tx).await?;
        flush_head(tx).await?;
        return super::customers::flush_counters(tx).await;
    }
    let events = std::mem::take(&mut tx.appends.events);
    let audit = std::mem::take(&mut tx.appends.audit);
    let head = tx.audit_head.as_ref().filter(|h| h.moved).map(|h| (h.seq, h.hash.clone()));
    let deltas: Vec<(String, i64)> = std::mem::take(&mut tx.counter_deltas).into_iter().collect();
    let mut statements: Vec<String> = Vec::new();
    statements.extend(events.chunks(EVENTS_A_STATEMENT).map(|c| events_sql(c.len())));
    statements.extend(audit.chunks(ENTRIES_A_STATEMENT).map(|c| audit_sql(c.len())));
    statements.extend(head.as_ref().map(|_| head_sql()));
    if !deltas.is_empty() {
        statements.push(super::customers::counters_sql(deltas.len()));
    }
    if statements.is_empty() {
        return Ok(());
    }
    let sql = statements.join(";\n");
    let mut q = sqlx::query(&sql);
    for c in events.chunks(EVENTS_A_STATEMENT) {
        q = bind_events(q, tx.tenant, c);
    }
    for c in audit.chunks(ENTRIES_A_STATEMENT) {
        q = bind_audit(q, tx.tenant, c);
    }
    if let Some((seq, hash)) = &head {
        q = bind_head(q, tx.tenant, *seq, hash);
    }
    q = super::customers::bind_counters(q, tx.tenant, &deltas);
    let binds =
        events.len() * EVENT_COLUMNS + audit.len() * AUDIT_COLUMNS + head.as_ref().map_or(0, |_| 3) + deltas.len() * 3;
    q.persistent(keep_prepared(binds)).execute(&mut *tx.tx).await.map_err(map_err)?;
    Ok(())
}

pub(super) async fn list_events(
    tx: &mut SqlTx,
    customer: Uuid,
    types: &[String],
    before: Option<Uuid>,
    limit: u32,
) -> StoreResult<Vec<EventRow>> {
    flush_appends(tx).await?;
    let mut qb = QueryBuilder::<Db>::new("SELECT * FROM customer_events WHERE tenant_id = ");
    qb.push_bind(tx.tenant).push(" AND customer_id = ").push_bind(customer);
    if !types.is_empty() {
        qb.push(" AND event_type IN (");
        let mut sep = qb.separated(", ");
        for t in types {
            sep.push_bind(t.clone());
        }
        qb.push(")");
    }
    if let Some(b) = before {
        qb.push(" AND id < ").push_bind(b);
    }
    qb.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit));
    let rs: Vec<EventRecord> = qb.build_query_as().fetch_all(&mut *tx.tx).await.map_err(map_err)?;
    Ok(rs
        .into_iter()
        .map(|r| EventRow {
            id: r.id,
            tenant_id: r.tenant_id,
            customer_id: r.customer_id,
            event_type: r.event_type,
            data: r.data.0,
            actor_type: r.actor_type,
            actor_id: r.actor_id,
            at: r.at.0,
        })
        .collect())
}

pub(super) async fn head(tx: &mut SqlTx) -> StoreResult<(i64, String)> {
    if let Some(h) = &tx.audit_head {
        return Ok((h.seq, h.hash.clone()));
    }
    // One statement: the genesis head the first time, else a no-op update of the head,
    // which takes the row lock that serializes this tenant's appends until commit.
    let (seq, hash): (i64, String) = sqlx::query_as(
        "INSERT INTO audit_heads (tenant_id, seq, hash) VALUES ($1, 0, $2) \
         ON CONFLICT (tenant_id) DO UPDATE SET seq = audit_heads.seq RETURNING seq, hash",
    )
    .bind(tx.tenant)
    .bind(rapport_core::audit::GENESIS)
    .fetch_one(&mut *tx.tx)
    .await
    .map_err(map_err)?;
    tx.audit_head = Some(super::AuditHead { seq, hash: hash.clone(), moved: false });
    Ok((seq, hash))
}

/// Appends an entry after the head this transaction holds (`head` locks it first). The
/// entries are written with the events (`flush_appends`), the head row once at commit,
/// however many entries the change appended.
pub(super) async fn append(tx: &mut SqlTx, a: &AuditRow) -> StoreResult<()> {
    let expected = match &tx.audit_head {
        Some(h) => (h.seq + 1, h.hash.as_str()),
        None => return Err(StoreError::Other("an audit entry was appended without locking the chain head".into())),
    };
    if (a.seq, a.prev_hash.as_str()) != expected {
        return Err(StoreError::Other(format!("audit entry {} does not follow the chain head", a.seq)));
    }
    tx.appends.audit.push(a.clone());
    tx.audit_head = Some(super::AuditHead { seq: a.seq, hash: a.hash.clone(), moved: true });
    Ok(())
}

/// Moves the stored head to the last entry this transaction appended.
pub(super) async fn flush_head(tx: &mut SqlTx) -> StoreResult<()> {
    let Some(h) = tx.audit_head.as_ref().filter(|h| h.moved) else { return Ok(()) };
    let sql = head_sql();
    bind_head(sqlx::query(&sql), tx.tenant, h.seq, &h.hash).execute(&mut *tx.tx).await.map_err(map_err)?;
    Ok(())
}

fn head_sql() -> String {
    let mut s = String::from("UPDATE audit_heads SET seq = ");
    dialect::push_placeholder(&mut s, 1);
    s.push_str(", hash = ");
    dialect::push_placeholder(&mut s, 2);
    s.push_str(" WHERE tenant_id = ");
    dialect::push_placeholder(&mut s, 3);
    s
}

fn bind_head<'q>(q: Query<'q>, tenant: Uuid, seq: i64, hash: &'q str) -> Query<'q> {
    q.bind(seq).bind(hash).bind(tenant)
}

#[derive(FromRow)]
struct AuditRecord {
    tenant_id: Uuid,
    seq: i64,
    table_name: String,
    record_id: Uuid,
    action: String,
    old_values: Json<serde_json::Value>,
    new_values: Json<serde_json::Value>,
    values_digest: String,
    actor_type: String,
    actor_id: Option<Uuid>,
    conversation_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    request_id: Option<String>,
    at: Ts,
    prev_hash: String,
    hash: String,
}

impl From<AuditRecord> for AuditRow {
    fn from(r: AuditRecord) -> Self {
        AuditRow {
            tenant_id: r.tenant_id,
            seq: r.seq,
            table_name: r.table_name,
            record_id: r.record_id,
            action: r.action,
            old_values: r.old_values.0,
            new_values: r.new_values.0,
            values_digest: r.values_digest,
            actor_type: r.actor_type,
            actor_id: r.actor_id,
            conversation_id: r.conversation_id,
            ip: r.ip,
            user_agent: r.user_agent,
            request_id: r.request_id,
            at: r.at.0,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

pub(super) async fn list(tx: &mut SqlTx, q: &AuditQuery) -> StoreResult<Vec<AuditRow>> {
    flush_appends(tx).await?;
    let mut qb = QueryBuilder::<Db>::new("SELECT * FROM audit_log WHERE tenant_id = ");
    qb.push_bind(tx.tenant);
    if let Some(t) = &q.table_name {
        qb.push(" AND table_name = ").push_bind(t.clone());
    }
    if let Some(r) = q.record_id {
        qb.push(" AND record_id = ").push_bind(r);
    }
    if let Some(a) = &q.action {
        qb.push(" AND action = ").push_bind(a.clone());
    }
    if let Some(a) = q.actor_id {
        qb.push(" AND actor_id = ").push_bind(a);
    }
    if let Some(t) = q.from {
        qb.push(" AND at >= ").push_bind(Ts(t));
    }
    if let Some(t) = q.to {
        qb.push(" AND at < ").push_bind(Ts(t));
    }
    if let Some(s) = q.before_seq {
        qb.push(" AND seq < ").push_bind(s);
    }
    qb.push(" ORDER BY seq DESC LIMIT ").push_bind(i64::from(q.limit));
    let rs: Vec<AuditRecord> = qb.build_query_as().fetch_all(&mut *tx.tx).await.map_err(map_err)?;
    Ok(rs.into_iter().map(AuditRow::from).collect())
}

pub(super) async fn chain(tx: &mut SqlTx, after: i64, limit: u32) -> StoreResult<Vec<AuditRow>> {
    flush_appends(tx).await?;
    let rs: Vec<AuditRecord> =
        sqlx::query_as("SELECT * FROM audit_log WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3")
            .bind(tx.tenant)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx.tx)
            .await
            .map_err(map_err)?;
    Ok(rs.into_iter().map(AuditRow::from).collect())
}

#[derive(FromRow)]
struct IdempotencyRecord {
    tenant_id: Uuid,
    principal_id: Uuid,
    key: String,
    request_hash: String,
    status: i32,
    headers: Json<serde_json::Value>,
    body: String,
    created_at: Ts,
}

pub(super) async fn get_idempotency(tx: &mut SqlTx, principal: Uuid, key: &str) -> StoreResult<Option<IdempotencyRow>> {
    let r: Option<IdempotencyRecord> =
        sqlx::query_as("SELECT * FROM idempotency_keys WHERE tenant_id = $1 AND principal_id = $2 AND key = $3")
            .bind(tx.tenant)
            .bind(principal)
            .bind(key)
            .fetch_optional(&mut *tx.tx)
            .await
            .map_err(map_err)?;
    Ok(r.map(|r| IdempotencyRow {
        tenant_id: r.tenant_id,
        principal_id: r.principal_id,
        key: r.key,
        request_hash: r.request_hash,
        status: r.status,
        headers: r.headers.0,
        body: r.body,
        created_at: r.created_at.0,
    }))
}

pub(super) async fn put_idempotency(tx: &mut SqlTx, r: &IdempotencyRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO idempotency_keys (tenant_id, principal_id, key, request_hash, status, headers, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, principal_id, key) DO NOTHING",
    )
    .bind(tx.tenant)
    .bind(r.principal_id)
    .bind(&r.key)
    .bind(&r.request_hash)
    .bind(r.status)
    .bind(Json(&r.headers))
    .bind(&r.body)
    .bind(Ts(r.created_at))
    .execute(&mut *tx.tx)
    .await
    .map_err(map_err)?;
    Ok(())
}
