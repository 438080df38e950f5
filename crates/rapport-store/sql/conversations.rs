//! Conversations and the customer metrics recomputed from them.

use rapport_store::*;
use sqlx::types::Json;
use sqlx::{FromRow, QueryBuilder};
use time::OffsetDateTime;
use uuid::Uuid;

use super::dialect::{self, Db};
use super::{keep_prepared, map_err, ts, un_ts, values_rows, Query, SqlTx, Ts, MAX_BINDS};

#[derive(FromRow)]
struct ConversationRecord {
    tenant_id: Uuid,
    id: Uuid,
    session_id: String,
    customer_id: Option<Uuid>,
    channel: String,
    contact: Json<serde_json::Value>,
    messages: Json<serde_json::Value>,
    interaction_count: i64,
    view_count: i64,
    duration_seconds: i64,
    started_at: Option<Ts>,
    ended_at: Option<Ts>,
    summary: Option<String>,
    topics: Json<Vec<String>>,
    metadata: Json<serde_json::Value>,
    deleted_at: Option<Ts>,
    created_at: Ts,
    updated_at: Ts,
    version: i64,
}

impl From<ConversationRecord> for ConversationRow {
    fn from(r: ConversationRecord) -> Self {
        ConversationRow {
            id: r.id,
            tenant_id: r.tenant_id,
            session_id: r.session_id,
            customer_id: r.customer_id,
            channel: r.channel,
            contact: r.contact.0,
            messages: r.messages.0,
            interaction_count: r.interaction_count,
            view_count: r.view_count,
            duration_seconds: r.duration_seconds,
            started_at: un_ts(r.started_at),
            ended_at: un_ts(r.ended_at),
            summary: r.summary,
            topics: r.topics.0,
            metadata: r.metadata.0,
            deleted_at: un_ts(r.deleted_at),
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
            version: r.version,
        }
    }
}

pub(super) async fn get_by_session(tx: &mut SqlTx, session_id: &str) -> StoreResult<Option<ConversationRow>> {
    let r: Option<ConversationRecord> =
        sqlx::query_as("SELECT * FROM conversations WHERE tenant_id = $1 AND session_id = $2")
            .bind(tx.tenant)
            .bind(session_id)
            .fetch_optional(&mut *tx.tx)
            .await
            .map_err(map_err)?;
    Ok(r.map(ConversationRow::from))
}

pub(super) async fn sessions_on_file(tx: &mut SqlTx, session_ids: &[String]) -> StoreResult<Vec<String>> {
    let mut found = Vec::new();
    for chunk in session_ids.chunks(MAX_BINDS - 1) {
        let mut qb = QueryBuilder::<Db>::new("SELECT session_id FROM conversations WHERE tenant_id = ");
        qb.push_bind(tx.tenant).push(" AND session_id IN (");
        let mut sep = qb.separated(", ");
        for s in chunk {
            sep.push_bind(s.as_str());
        }
        qb.push(")");
        let rows: Vec<(String,)> = qb
            .build_query_as()
            .persistent(keep_prepared(chunk.len() + 1))
            .fetch_all(&mut *tx.tx)
            .await
            .map_err(map_err)?;
        found.extend(rows.into_iter().map(|(s,)| s));
    }
    Ok(found)
}

const COLUMNS: &str = "customer_id, channel, contact, messages, interaction_count, view_count, duration_seconds, \
    started_at, ended_at, summary, topics, metadata, deleted_at, updated_at, version";

/// Binds the columns of `COLUMNS`, in order, from `$3`.
fn bind_columns<'q>(q: Query<'q>, c: &'q ConversationRow) -> Query<'q> {
    q.bind(c.customer_id)
        .bind(&c.channel)
        .bind(Json(&c.contact))
        .bind(Json(&c.messages))
        .bind(c.interaction_count)
        .bind(c.view_count)
        .bind(c.duration_seconds)
        .bind(ts(c.started_at))
        .bind(ts(c.ended_at))
        .bind(&c.summary)
        .bind(Json(&c.topics))
        .bind(Json(&c.metadata))
        .bind(ts(c.deleted_at))
        .bind(Ts(c.updated_at))
        .bind(c.version)
}

/// Inserts new conversations, many rows to a statement, with their topics.
pub(super) async fn insert(tx: &mut SqlTx, rows: &[ConversationRow]) -> StoreResult<()> {
    const COLS: usize = 19;
    for chunk in rows.chunks(MAX_BINDS / COLS) {
        let sql = format!(
            "INSERT INTO conversations (tenant_id, id, {COLUMNS}, session_id, created_at) VALUES {}",
            values_rows(chunk.len(), COLS)
        );
        let mut q = sqlx::query(&sql);
        for c in chunk {
            q = bind_columns(q.bind(tx.tenant).bind(c.id), c).bind(&c.session_id).bind(Ts(c.created_at));
        }
        q.persistent(keep_prepared(chunk.len() * COLS)).execute(&mut *tx.tx).await.map_err(map_err)?;
    }
    let mut topics = Vec::new();
    for c in rows {
        topics.extend(topic_rows(c));
    }
    insert_topics(tx, &topics).await
}

/// The topic index rows of a conversation: its distinct topics at its start time, while it
/// is live.
fn topic_rows(c: &ConversationRow) -> Vec<(String, Ts, Uuid)> {
    if c.deleted_at.is_some() {
        return Vec::new();
    }
    let at = Ts(c.started_at.unwrap_or(c.created_at));
    let mut topics = c.topics.clone();
    topics.sort();
    topics.dedup();
    topics.into_iter().map(|t| (t, at, c.id)).collect()
}

async fn insert_topics(tx: &mut SqlTx, rows: &[(String, Ts, Uuid)]) -> StoreResult<()> {
    for chunk in rows.chunks(MAX_BINDS / 4) {
        let mut qb =
            QueryBuilder::<Db>::new("INSERT INTO conversation_topics (tenant_id, topic, at, conversation_id) ");
        qb.push_values(chunk, |mut b, (topic, at, id)| {
            b.push_bind(tx.tenant).push_bind(topic.clone()).push_bind(*at).push_bind(*id);
        });
        qb.build().persistent(keep_prepared(chunk.len() * 4)).execute(&mut *tx.tx).await.map_err(map_err)?;
    }
    Ok(())
}

/// Rewrites the topic index of a stored conversation.
async fn rewrite_topics(tx: &mut SqlTx, c: &ConversationRow) -> StoreResult<()> {
    sqlx::query("DELETE FROM conversation_topics WHERE tenant_id = $1 AND conversation_id = $2")
        .bind(tx.tenant)
        .bind(c.id)
        .execute(&mut *tx.tx)
        .await
        .map_err(map_err)?;
    insert_topics(tx, &topic_rows(c)).await
}

pub(super) async fn topic_counts(
    tx: &mut SqlTx,
    from: OffsetDateTime,
    to: OffsetDateTime,
    limit: u32,
) -> StoreResult<Vec<(String, i64)>> {
    sqlx::query_as(
        "SELECT topic, COUNT(*) AS n FROM conversation_topics WHERE tenant_id = $1 AND at >= $2 AND at < $3 \
         GROUP BY topic ORDER BY n DESC, topic LIMIT $4",
    )
    .bind(tx.tenant)
    .bind(Ts(from))
    .bind(Ts(to))
    .bind(i64::from(limit))
    .fetch_all(&mut *tx.tx)
    .await
    .map_err(map_err)
}

pub(super) async fn update(tx: &mut SqlTx, c: &ConversationRow) -> StoreResult<()> {
    let sets: Vec<String> =
        COLUMNS.split(", ").enumerate().map(|(i, col)| format!("{} = ${}", col.trim(), i + 3)).collect();
    let sql = format!("UPDATE conversations SET {} WHERE tenant_id = $1 AND id = $2", sets.join(", "));
    let done =
        bind_columns(sqlx::query(&sql).bind(tx.tenant).bind(c.id), c).execute(&mut *tx.tx).await.map_err(map_err)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    // Its topics, start time or liveness may have changed.
    rewrite_topics(tx, c).await
}

pub(super) async fn list(tx: &mut SqlTx, q: &ConversationQuery) -> StoreResult<Vec<ConversationRow>> {
    let mut qb = QueryBuilder::<Db>::new("SELECT * FROM conversations c WHERE c.tenant_id = ");
    qb.push_bind(tx.tenant).push(" AND c.deleted_at IS NULL");
    if let Some(id) = q.customer_id {
        qb.push(" AND c.customer_id = ").push_bind(id);
    }
    if let Some(ch) = &q.channel {
        qb.push(" AND c.channel = ").push_bind(ch.clone());
    }
    if let Some(t) = q.started_after {
        qb.push(" AND c.started_at >= ").push_bind(Ts(t));
    }
    if let Some(t) = q.started_before {
        qb.push(" AND c.started_at < ").push_bind(Ts(t));
    }
    if let Some(topic) = &q.topic {
        qb.push(" AND EXISTS (SELECT 1 FROM conversation_topics t WHERE t.tenant_id = c.tenant_id AND t.conversation_id = c.id AND t.topic = ")
            .push_bind(topic.clone())
            .push(")");
    }
    if let Some(b) = q.before {
        qb.push(" AND c.id < ").push_bind(b);
    }
    qb.push(" ORDER BY c.id DESC LIMIT ").push_bind(i64::from(q.limit));
    let rs: Vec<ConversationRecord> = qb.build_query_as().fetch_all(&mut *tx.tx).await.map_err(map_err)?;
    Ok(rs.into_iter().map(ConversationRow::from).collect())
}

#[derive(FromRow)]
struct MetricsRecord {
    customer_id: Uuid,
    total_conversations: i64,
    total_interactions: i64,
    total_views: i64,
    total_duration_seconds: i64,
    first_interaction_at: Option<Ts>,
    last_interaction_at: Option<Ts>,
}

impl From<MetricsRecord> for MetricsRow {
    fn from(r: MetricsRecord) -> Self {
        MetricsRow {
            customer_id: r.customer_id,
            total_conversations: r.total_conversations,
            total_interactions: r.total_interactions,
            total_views: r.total_views,
            total_duration_seconds: r.total_duration_seconds,
            first_interaction_at: un_ts(r.first_interaction_at),
            last_interaction_at: un_ts(r.last_interaction_at),
        }
    }
}

/// Recomputes the metrics of these customers from their live conversations (zeros for a
/// customer with none), a thousand customers to a statement, and their engagement per day.
pub(super) async fn refresh_metrics(tx: &mut SqlTx, customers: &[Uuid]) -> StoreResult<Vec<MetricsRow>> {
    // Each once: a customer listed twice would join its conversations twice.
    let mut seen = std::collections::HashSet::with_capacity(customers.len());
    let customers: Vec<Uuid> = customers.iter().copied().filter(|id| seen.insert(*id)).collect();
    let mut out = Vec::with_capacity(customers.len());
    for chunk in customers.chunks(1000) {
        // `ids.column1` names the first column of a VALUES list on both databases. The
        // WHERE clause keeps SQLite from reading ON CONFLICT as part of the join.
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO customer_metrics (tenant_id, customer_id, total_conversations, total_interactions, \
             total_views, total_duration_seconds, first_interaction_at, last_interaction_at) SELECT ",
        );
        qb.push_bind(tx.tenant).push(
            ", ids.column1, COUNT(c.id), CAST(COALESCE(SUM(c.interaction_count), 0) AS BIGINT), \
             CAST(COALESCE(SUM(c.view_count), 0) AS BIGINT), CAST(COALESCE(SUM(c.duration_seconds), 0) AS BIGINT), \
             MIN(COALESCE(c.started_at, c.created_at)), MAX(COALESCE(c.ended_at, c.started_at, c.created_at)) FROM ",
        );
        push_id_values(&mut qb, chunk);
        qb.push(" AS ids LEFT JOIN conversations c ON c.tenant_id = ").push_bind(tx.tenant).push(
            " AND c.customer_id = ids.column1 AND c.deleted_at IS NULL WHERE true GROUP BY ids.column1 \
             ON CONFLICT (tenant_id, customer_id) DO UPDATE SET total_conversations = excluded.total_conversations, \
             total_interactions = excluded.total_interactions, total_views = excluded.total_views, \
             total_duration_seconds = excluded.total_duration_seconds, first_interaction_at = excluded.first_interaction_at, \
             last_interaction_at = excluded.last_interaction_at \
             RETURNING customer_id, total_conversations, total_interactions, total_views, total_duration_seconds, \
             first_interaction_at, last_interaction_at",
        );
        let rs: Vec<MetricsRecord> = qb
            .build_query_as()
            .persistent(keep_prepared(chunk.len() + 2))
            .fetch_all(&mut *tx.tx)
            .await
            .map_err(map_err)?;
        out.extend(rs.into_iter().map(MetricsRow::from));
    }
    refresh_engagement(tx, &customers).await?;
    // In the order asked.
    let at: std::collections::HashMap<Uuid, usize> = customers.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    out.sort_by_key(|m| at.get(&m.customer_id).copied());
    Ok(out)
}

/// `(VALUES (id), …)`.
fn push_id_values(qb: &mut QueryBuilder<'_, Db>, ids: &[Uuid]) {
    qb.push("(VALUES ");
    for (i, id) in ids.iter().enumerate() {
        qb.push(if i == 0 { "(" } else { ", (" }).push_bind(*id).push(")");
    }
    qb.push(")");
}

/// Rewrites these customers' engagement per day from their live conversations; a deleted
/// customer keeps none.
pub(super) async fn refresh_engagement(tx: &mut SqlTx, customers: &[Uuid]) -> StoreResult<()> {
    if customers.is_empty() {
        return Ok(());
    }
    *tx.counter_deltas.entry(rapport_store::stats::ENGAGEMENT_CHANGES.to_string()).or_default() += 1;
    for chunk in customers.chunks(1000) {
        let mut qb = QueryBuilder::<Db>::new("DELETE FROM engagement_daily WHERE tenant_id = ");
        qb.push_bind(tx.tenant).push(" AND customer_id IN (SELECT column1 FROM ");
        push_id_values(&mut qb, chunk);
        qb.push(" AS ids)");
        qb.build().persistent(keep_prepared(chunk.len() + 1)).execute(&mut *tx.tx).await.map_err(map_err)?;
        let day = dialect::ACTIVITY_DAY;
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO engagement_daily (tenant_id, day, customer_id, conversations, interactions) SELECT ",
        );
        qb.push_bind(tx.tenant);
        qb.push(format!(
            ", {day}, customer_id, COUNT(*), CAST(COALESCE(SUM(interaction_count), 0) AS BIGINT) \
             FROM conversations WHERE tenant_id = "
        ));
        qb.push_bind(tx.tenant).push(" AND customer_id IN (SELECT column1 FROM ");
        push_id_values(&mut qb, chunk);
        qb.push(" AS ids) AND deleted_at IS NULL AND EXISTS (SELECT 1 FROM customers c WHERE c.tenant_id = ");
        qb.push_bind(tx.tenant);
        qb.push(format!(" AND c.id = conversations.customer_id AND c.deleted_at IS NULL) GROUP BY customer_id, {day}"));
        qb.build().persistent(keep_prepared(chunk.len() + 3)).execute(&mut *tx.tx).await.map_err(map_err)?;
    }
    Ok(())
}

pub(super) async fn get_metrics(tx: &mut SqlTx, customer: Uuid) -> StoreResult<Option<MetricsRow>> {
    let r: Option<MetricsRecord> = sqlx::query_as(
        "SELECT customer_id, total_conversations, total_interactions, total_views, total_duration_seconds, \
         first_interaction_at, last_interaction_at FROM customer_metrics WHERE tenant_id = $1 AND customer_id = $2",
    )
    .bind(tx.tenant)
    .bind(customer)
    .fetch_optional(&mut *tx.tx)
    .await
    .map_err(map_err)?;
    Ok(r.map(MetricsRow::from))
}

pub(super) async fn ids_of(tx: &mut SqlTx, customer: Uuid) -> StoreResult<Vec<Uuid>> {
    sqlx::query_scalar("SELECT id FROM conversations WHERE tenant_id = $1 AND customer_id = $2 ORDER BY id")
        .bind(tx.tenant)
        .bind(customer)
        .fetch_all(&mut *tx.tx)
        .await
        .map_err(map_err)
}

pub(super) async fn move_to(tx: &mut SqlTx, ids: &[Uuid], to: Uuid) -> StoreResult<()> {
    for chunk in ids.chunks(500) {
        let mut qb = QueryBuilder::<Db>::new("UPDATE conversations SET customer_id = ");
        qb.push_bind(to).push(" WHERE tenant_id = ").push_bind(tx.tenant).push(" AND id IN (");
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(*id);
        }
        qb.push(")");
        qb.build().persistent(keep_prepared(chunk.len() + 2)).execute(&mut *tx.tx).await.map_err(map_err)?;
    }
    Ok(())
}

/// The customers with the most interactions on the UTC days `from_day..=to_day`.
pub(super) async fn top_engaged(
    tx: &mut SqlTx,
    from_day: i64,
    to_day: i64,
    limit: u32,
) -> StoreResult<Vec<(Uuid, i64, i64)>> {
    sqlx::query_as(
        "SELECT customer_id, CAST(SUM(conversations) AS BIGINT) AS conversations, \
         CAST(SUM(interactions) AS BIGINT) AS interactions FROM engagement_daily \
         WHERE tenant_id = $1 AND day >= $2 AND day <= $3 \
         GROUP BY customer_id ORDER BY interactions DESC, conversations DESC, customer_id LIMIT $4",
    )
    .bind(tx.tenant)
    .bind(from_day)
    .bind(to_day)
    .bind(i64::from(limit))
    .fetch_all(&mut *tx.tx)
    .await
    .map_err(map_err)
}

pub(super) async fn customers_with_metrics(tx: &mut SqlTx) -> StoreResult<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT customer_id FROM conversations WHERE tenant_id = $1 AND customer_id IS NOT NULL \
         UNION SELECT customer_id FROM customer_metrics WHERE tenant_id = $1",
    )
    .bind(tx.tenant)
    .fetch_all(&mut *tx.tx)
    .await
    .map_err(map_err)
}
