//! Conversations and the customer metrics recomputed from them.

use rapport_store::*;
use sqlx::types::Json;
use sqlx::{FromRow, QueryBuilder};
use time::OffsetDateTime;
use uuid::Uuid;

use super::dialect::{self, Db};
use super::{map_err, ts, un_ts, SqlTx, Ts};

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

const COLUMNS: &str = "customer_id, channel, contact, messages, interaction_count, view_count, duration_seconds, \
    started_at, ended_at, summary, topics, metadata, deleted_at, updated_at, version";

type Query<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>;

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

pub(super) async fn insert(tx: &mut SqlTx, c: &ConversationRow) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO conversations (tenant_id, id, {COLUMNS}, session_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
    );
    bind_columns(sqlx::query(&sql).bind(tx.tenant).bind(c.id), c)
        .bind(&c.session_id)
        .bind(Ts(c.created_at))
        .execute(&mut *tx.tx)
        .await
        .map_err(map_err)?;
    write_topics(tx, c, false).await
}

/// Keeps the topic index equal to the live conversation's topics, at its start time.
async fn write_topics(tx: &mut SqlTx, c: &ConversationRow, replace: bool) -> StoreResult<()> {
    if replace {
        sqlx::query("DELETE FROM conversation_topics WHERE tenant_id = $1 AND conversation_id = $2")
            .bind(tx.tenant)
            .bind(c.id)
            .execute(&mut *tx.tx)
            .await
            .map_err(map_err)?;
    }
    if c.deleted_at.is_some() || c.topics.is_empty() {
        return Ok(());
    }
    let at = Ts(c.started_at.unwrap_or(c.created_at));
    let mut topics = c.topics.clone();
    topics.sort();
    topics.dedup();
    let mut qb = QueryBuilder::<Db>::new("INSERT INTO conversation_topics (tenant_id, topic, at, conversation_id) ");
    qb.push_values(&topics, |mut b, t| {
        b.push_bind(tx.tenant).push_bind(t.clone()).push_bind(at).push_bind(c.id);
    });
    qb.build().execute(&mut *tx.tx).await.map_err(map_err)?;
    Ok(())
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
    Ok(())
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

pub(super) async fn refresh_metrics(tx: &mut SqlTx, customer: Uuid) -> StoreResult<MetricsRow> {
    let r: MetricsRecord = sqlx::query_as(
        "INSERT INTO customer_metrics (tenant_id, customer_id, total_conversations, total_interactions, total_views, \
         total_duration_seconds, first_interaction_at, last_interaction_at) \
         SELECT $1, $2, COUNT(*), CAST(COALESCE(SUM(interaction_count), 0) AS BIGINT), \
         CAST(COALESCE(SUM(view_count), 0) AS BIGINT), CAST(COALESCE(SUM(duration_seconds), 0) AS BIGINT), \
         MIN(COALESCE(started_at, created_at)), MAX(COALESCE(ended_at, started_at, created_at)) \
         FROM conversations WHERE tenant_id = $1 AND customer_id = $2 AND deleted_at IS NULL \
         ON CONFLICT (tenant_id, customer_id) DO UPDATE SET total_conversations = excluded.total_conversations, \
         total_interactions = excluded.total_interactions, total_views = excluded.total_views, \
         total_duration_seconds = excluded.total_duration_seconds, first_interaction_at = excluded.first_interaction_at, \
         last_interaction_at = excluded.last_interaction_at \
         RETURNING customer_id, total_conversations, total_interactions, total_views, total_duration_seconds, \
         first_interaction_at, last_interaction_at",
    )
    .bind(tx.tenant)
    .bind(customer)
    .fetch_one(&mut *tx.tx)
    .await
    .map_err(map_err)?;
    refresh_engagement(tx, customer).await?;
    Ok(r.into())
}

/// Rewrites a customer's engagement per day from its live conversations; a deleted
/// customer keeps none.
pub(super) async fn refresh_engagement(tx: &mut SqlTx, customer: Uuid) -> StoreResult<()> {
    sqlx::query("DELETE FROM engagement_daily WHERE tenant_id = $1 AND customer_id = $2")
        .bind(tx.tenant)
        .bind(customer)
        .execute(&mut *tx.tx)
        .await
        .map_err(map_err)?;
    let sql = format!(
        "INSERT INTO engagement_daily (tenant_id, day, customer_id, conversations, interactions) \
         SELECT $1, {day}, $2, COUNT(*), CAST(COALESCE(SUM(interaction_count), 0) AS BIGINT) FROM conversations \
         WHERE tenant_id = $1 AND customer_id = $2 AND deleted_at IS NULL \
         AND EXISTS (SELECT 1 FROM customers c WHERE c.tenant_id = $1 AND c.id = $2 AND c.deleted_at IS NULL) \
         GROUP BY {day}",
        day = dialect::ACTIVITY_DAY
    );
    sqlx::query(&sql).bind(tx.tenant).bind(customer).execute(&mut *tx.tx).await.map_err(map_err)?;
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
        qb.build().execute(&mut *tx.tx).await.map_err(map_err)?;
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
