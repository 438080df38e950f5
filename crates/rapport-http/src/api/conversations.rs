//! The chat feed: conversations by session id, and a customer's conversations and metrics.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rapport_app::AppError;
use rapport_store::ConversationQuery;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::cursor;
use crate::extract::{Auth, JsonBody, Meta, PathId, QueryParams};
use crate::problem::ApiResult;
use crate::views::{ConversationList, ConversationView, MetricsView};
use crate::AppState;

/// What a chat system sends; every field is optional but one identifier of the person.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)] // documents the body; the use case reads it field by field
pub struct ConversationInput {
    /// web_chat (default), whatsapp, sms, email, phone, other
    pub channel: Option<String>,
    /// name, email, phone, address: what the person said about themselves.
    #[schema(value_type = Object)]
    pub contact: Option<serde_json::Value>,
    /// [{"role": "customer" | "assistant" | "agent", "text", "at"}]
    #[schema(value_type = Vec<Object>)]
    pub messages: Option<serde_json::Value>,
    pub interaction_count: Option<i64>,
    pub view_count: Option<i64>,
    pub duration_seconds: Option<i64>,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    /// When absent, Rapport writes an extractive summary.
    pub summary: Option<String>,
    /// When absent, Rapport finds topics from the tenant's vocabulary and repeated words.
    pub topics: Option<Vec<String>>,
    #[schema(value_type = Object)]
    pub metadata: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // documents the body
pub struct NewMessages {
    #[schema(value_type = Vec<Object>)]
    pub messages: serde_json::Value,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConversationParams {
    pub customer_id: Option<Uuid>,
    /// web_chat, whatsapp, sms, email, phone or other.
    pub channel: Option<String>,
    /// Conversations that discussed this topic (any form: "Outdoor Kitchens" = "outdoor kitchen").
    pub topic: Option<String>,
    /// RFC 3339; conversations started at or after it.
    pub started_after: Option<String>,
    /// RFC 3339; conversations started before it.
    pub started_before: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

fn session(raw: &str) -> Result<String, AppError> {
    rapport_core::conversation::parse_session_id(raw).map_err(|e| AppError::Validation(rapport_core::Invalid(vec![e])))
}

/// Create or update a conversation (idempotent). On create, and when the contact details
/// change, Rapport finds or creates the customer and links it.
#[utoipa::path(put, path = "/api/v1/conversations/{session_id}", tag = "conversations", request_body = ConversationInput,
    params(("session_id" = String, Path)),
    responses((status = 200, body = ConversationView), (status = 403, body = crate::views::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn put(
    State(s): State<AppState>,
    Auth(p): Auth,
    Meta(meta): Meta,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<ConversationView>> {
    let r = s.app.put_conversation(&p, &meta, &session(&id)?, &body).await?;
    Ok(Json(ConversationView::new(&r.conversation, r.outcome.as_ref())))
}

/// Append messages to a conversation.
#[utoipa::path(post, path = "/api/v1/conversations/{session_id}/messages", tag = "conversations", request_body = NewMessages,
    params(("session_id" = String, Path)),
    responses((status = 200, body = ConversationView), (status = 404, body = crate::views::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn append(
    State(s): State<AppState>,
    Auth(p): Auth,
    Meta(meta): Meta,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<ConversationView>> {
    let id = session(&id)?;
    let current = s.app.get_conversation(&p, &id).await?;
    let mut messages = current.messages.as_array().cloned().unwrap_or_default();
    let new = body
        .get("messages")
        .and_then(serde_json::Value::as_array)
        .cloned()
        .ok_or_else(|| AppError::invalid("messages", "required", "messages is a list of messages"))?;
    messages.extend(new);
    let r = s.app.put_conversation(&p, &meta, &id, &serde_json::json!({"messages": messages})).await?;
    Ok(Json(ConversationView::new(&r.conversation, r.outcome.as_ref())))
}

/// Read a conversation.
#[utoipa::path(get, path = "/api/v1/conversations/{session_id}", tag = "conversations", params(("session_id" = String, Path)),
    responses((status = 200, body = ConversationView), (status = 404, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ConversationView>> {
    let c = s.app.get_conversation(&p, &session(&id)?).await?;
    Ok(Json(ConversationView::new(&c, None)))
}

/// Hide a conversation; its customer's metrics follow.
#[utoipa::path(delete, path = "/api/v1/conversations/{session_id}", tag = "conversations", params(("session_id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn delete(
    State(s): State<AppState>,
    Auth(p): Auth,
    Meta(meta): Meta,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.app.delete_conversation(&p, &meta, &session(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn page(rows: Vec<rapport_store::ConversationRow>, limit: u32) -> ConversationList {
    let next_cursor = cursor::next_id(rows.len(), limit, rows.last().map(|c| c.id));
    ConversationList { data: rows.iter().map(|c| ConversationView::new(c, None)).collect(), next_cursor }
}

/// The tenant's conversations (managers and up), or one customer's with `customer_id`;
/// filtered by channel, topic and start time, newest first.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations", params(ConversationParams),
    responses((status = 200, body = ConversationList), (status = 403, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(s): State<AppState>,
    Auth(p): Auth,
    QueryParams(q): QueryParams<ConversationParams>,
) -> ApiResult<Json<ConversationList>> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let mut errs = rapport_core::Invalid::default();
    let query = ConversationQuery {
        customer_id: q.customer_id,
        channel: q.channel,
        topic: q.topic,
        started_after: super::customers::parse_time(&mut errs, "started_after", &q.started_after),
        started_before: super::customers::parse_time(&mut errs, "started_before", &q.started_before),
        before: cursor::before_id(&q.cursor)?,
        limit,
    };
    errs.into_result().map_err(AppError::from)?;
    let rows = s.app.list_conversations(&p, &query).await?;
    Ok(Json(page(rows, limit)))
}

/// A customer's conversations, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/conversations", tag = "conversations", params(("id" = Uuid, Path), super::customers::PageParams),
    responses((status = 200, body = ConversationList), (status = 404, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn of_customer(
    State(s): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId,
    QueryParams(q): QueryParams<super::customers::PageParams>,
) -> ApiResult<Json<ConversationList>> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let query =
        ConversationQuery { customer_id: Some(id), before: cursor::before_id(&q.cursor)?, limit, ..Default::default() };
    let rows = s.app.list_conversations(&p, &query).await?;
    Ok(Json(page(rows, limit)))
}

/// A customer's engagement metrics.
#[utoipa::path(get, path = "/api/v1/customers/{id}/metrics", tag = "conversations", params(("id" = Uuid, Path)),
    responses((status = 200, body = MetricsView), (status = 404, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn metrics(State(s): State<AppState>, Auth(p): Auth, PathId(id): PathId) -> ApiResult<Json<MetricsView>> {
    let m = s.app.customer_metrics(&p, id).await?;
    Ok(Json(MetricsView::from(&m)))
}
