//! The tenant's settings and its analytics.

use axum::extract::State;
use axum::Json;
use rapport_app::AppError;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};

use crate::extract::{Auth, JsonBody, Meta, QueryParams};
use crate::problem::ApiResult;
use crate::views::{EngagedView, EngagementView, TenantView, TopicCount, TopicPeriodView, TopicTrends};
use crate::AppState;

/// Settings to change; every field is optional.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)] // documents the body; the use case reads it field by field
pub struct TenantPatch {
    pub name: Option<String>,
    pub base_currency: Option<String>,
    pub phone_region: Option<String>,
    pub timezone: Option<String>,
    /// {link, review, block}: 0..100 with review ≤ link ≤ block.
    #[schema(value_type = Object)]
    pub match_thresholds: Option<serde_json::Value>,
    /// Phrases topics are found by, e.g. "paver patio", "retaining wall".
    pub topic_vocabulary: Option<Vec<String>>,
    pub merge_undo_days: Option<i64>,
}

/// The caller's tenant and its settings.
#[utoipa::path(get, path = "/api/v1/tenant", tag = "tenant", responses((status = 200, body = TenantView)))]
pub async fn get(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<TenantView>> {
    Ok(Json(TenantView::from(&s.app.tenant_settings(&p).await?)))
}

/// Change the tenant's settings (owner and admin).
#[utoipa::path(patch, path = "/api/v1/tenant", tag = "tenant", request_body = TenantPatch,
    responses((status = 200, body = TenantView), (status = 403, body = crate::views::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn update(
    State(s): State<AppState>,
    Auth(p): Auth,
    Meta(meta): Meta,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<TenantView>> {
    let t = s.app.update_tenant_settings(&p, &meta, &body).await?;
    s.forget_currency(p.tenant_id);
    Ok(Json(TenantView::from(&t)))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TopicParams {
    /// RFC 3339; default 28 days ago.
    pub from: Option<String>,
    /// RFC 3339; default now.
    pub to: Option<String>,
    /// day, week (default) or month (30 days).
    pub period: Option<String>,
    /// Topics per period, 1..100, default 10.
    pub limit: Option<u32>,
}

/// Topic counts per period: what customers talk about, and how that moves.
#[utoipa::path(get, path = "/api/v1/analytics/topics", tag = "analytics", params(TopicParams),
    responses((status = 200, body = TopicTrends), (status = 403, body = crate::views::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn topics(
    State(s): State<AppState>,
    Auth(p): Auth,
    QueryParams(q): QueryParams<TopicParams>,
) -> ApiResult<Json<TopicTrends>> {
    let mut e = rapport_core::Invalid::default();
    let now = OffsetDateTime::now_utc();
    let to = super::customers::parse_time(&mut e, "to", &q.to).unwrap_or(now);
    let from = super::customers::parse_time(&mut e, "from", &q.from).unwrap_or(to - Duration::days(28));
    let period = match q.period.as_deref().unwrap_or("week") {
        "day" => Duration::days(1),
        "week" => Duration::weeks(1),
        "month" => Duration::days(30),
        _ => {
            e.push(rapport_core::FieldError::new("period", "invalid_value", "period is day, week or month"));
            Duration::weeks(1)
        }
    };
    e.into_result().map_err(AppError::from)?;
    let periods = s.app.topic_trends(&p, from, to, period, q.limit.unwrap_or(10)).await?;
    Ok(Json(TopicTrends {
        data: periods
            .into_iter()
            .map(|x| TopicPeriodView {
                from: rapport_core::audit::format_time(x.from),
                to: rapport_core::audit::format_time(x.to),
                topics: x
                    .topics
                    .into_iter()
                    .map(|(topic, conversations)| TopicCount { topic, conversations })
                    .collect(),
            })
            .collect(),
    }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EngagementParams {
    /// A number of days or hours: 7d (default), 24h, 30d; at most 366d. Counted by whole UTC
    /// days: today and every day the window reaches into.
    pub window: Option<String>,
    /// 1..100, default 10.
    pub limit: Option<u32>,
}

fn parse_window(s: &str) -> Option<Duration> {
    let (n, unit) = s.split_at(s.len().checked_sub(1)?);
    let n: i64 = n.parse().ok().filter(|n| *n > 0)?;
    let d = match unit {
        "d" => Duration::days(n),
        "h" => Duration::hours(n),
        _ => return None,
    };
    (d <= Duration::days(366)).then_some(d)
}

/// The most engaged customers of a window: the dashboard's "top 10 this week".
#[utoipa::path(get, path = "/api/v1/analytics/engagement", tag = "analytics", params(EngagementParams),
    responses((status = 200, body = EngagementView), (status = 403, body = crate::views::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn engagement(
    State(s): State<AppState>,
    Auth(p): Auth,
    QueryParams(q): QueryParams<EngagementParams>,
) -> ApiResult<Json<EngagementView>> {
    let window = q.window.unwrap_or_else(|| "7d".into());
    let d = parse_window(&window)
        .ok_or_else(|| AppError::invalid("window", "invalid_value", "window is like 7d or 24h, at most 366d"))?;
    let top = s.app.top_engaged(&p, d, q.limit.unwrap_or(10)).await?;
    Ok(Json(EngagementView {
        window,
        data: top
            .iter()
            .map(|e| EngagedView {
                customer_id: e.customer.id,
                name: e.customer.data.name.clone(),
                conversations: e.conversations,
                interactions: e.interactions,
            })
            .collect(),
    }))
}
