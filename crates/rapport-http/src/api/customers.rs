//! Customers: create, read, update, soft delete, restore, list; timeline and audit.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use rapport_app::{AppError, Principal};
use rapport_core::customer::{CustomerType, LifecycleStage, Source, Status};
use rapport_core::{FieldError, Invalid};
use rapport_store::{AssignedFilter, CustomerQuery, CustomerRow, CustomerSort, SortField};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::cursor;
use crate::extract::{etag, Auth, IfMatch, JsonBody, Meta, PathId, QueryParams};
use crate::json_body::SizedJson;
use crate::problem::ApiResult;
use crate::views::{AuditList, CustomerList, CustomerView, EventList, EventView};
use crate::AppState;

/// The fields a customer accepts (SPEC section 3). Every field is optional in PATCH; a
/// create needs `name` and `email` or `phone`.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)] // documents the body; the use case reads it field by field
pub struct CustomerInput {
    pub name: Option<String>,
    pub company_name: Option<String>,
    pub job_title: Option<String>,
    pub industry: Option<String>,
    /// individual, business, enterprise, non_profit, government; aliases private, company, non-profit
    #[serde(rename = "type")]
    pub customer_type: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    /// An object, or one free-text line kept as the street.
    #[schema(value_type = Object)]
    pub address: Option<serde_json::Value>,
    /// active, inactive, archived; `lead` and `prospect` set the lifecycle stage; `deleted` soft-deletes
    pub status: Option<String>,
    pub lifecycle_stage: Option<String>,
    /// Kept on the status or lifecycle event.
    pub status_reason: Option<String>,
    pub tags: Option<Vec<String>>,
    pub source: Option<String>,
    pub source_detail: Option<String>,
    pub assigned_to: Option<Uuid>,
    pub portal_user_id: Option<Uuid>,
    pub currency: Option<String>,
    pub language: Option<String>,
    pub timezone: Option<String>,
    #[schema(value_type = Object)]
    pub bant: Option<serde_json::Value>,
    #[schema(value_type = Object)]
    pub preferences: Option<serde_json::Value>,
    pub notes: Option<String>,
    #[schema(value_type = Object)]
    pub custom_fields: Option<serde_json::Value>,
    pub last_contact_at: Option<String>,
    pub next_follow_up_at: Option<String>,
    /// Create even when a likely duplicate exists (customers:force_duplicate).
    pub force: Option<bool>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// 1..200, default 50
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// A field, `-` first for descending: name, created_at, updated_at, last_contact_at,
    /// next_follow_up_at, total_revenue, lifetime_value, lead_score, and with `q` relevance.
    /// Default -updated_at, or -relevance with `q`.
    pub sort: Option<String>,
    /// Search name, company, email and phone: accents and case ignored, typos tolerated
    /// (transposed, changed or missing letters, names that sound alike), the beginning of
    /// an email, a phone number in any format. At least two letters or digits; a word of two
    /// characters alone matches the beginning of a word of the name. Ranked by relevance
    /// unless `sort` says otherwise; answers at most the 300 best matches, with the other
    /// filters applied; never deleted customers.
    pub q: Option<String>,
    pub status: Option<String>,
    pub lifecycle_stage: Option<String>,
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub customer_type: Option<String>,
    /// Comma-separated; every tag must be present.
    pub tag: Option<String>,
    /// Comma-separated; any tag may be present.
    pub any_tag: Option<String>,
    pub source: Option<String>,
    pub source_detail: Option<String>,
    /// A user id, `me`, or `none` for unassigned.
    pub assigned_to: Option<String>,
    pub company: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
    pub industry: Option<String>,
    pub created_after: Option<String>,
    pub created_before: Option<String>,
    pub updated_after: Option<String>,
    pub updated_before: Option<String>,
    pub last_contact_after: Option<String>,
    pub last_contact_before: Option<String>,
    /// Only customers whose next follow-up is due now.
    pub follow_up_due: Option<bool>,
    /// Managers and up: include soft-deleted customers.
    pub include_deleted: Option<bool>,
    /// Customers who discussed this topic in a conversation (normalized: lowercase, singular).
    pub topic: Option<String>,
    /// With `topic`: only conversations at or after this time.
    pub discussed_after: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GetParams {
    pub include_deleted: Option<bool>,
    /// Comma-separated related data to embed: `metrics`.
    pub expand: Option<String>,
}

/// What `expand` may name. The other related lists of SPEC 10 (contacts, interactions, jobs,
/// quotes, invoices, value) arrive with their records.
const EXPANDABLE: &[&str] = &["metrics"];

fn expansions(raw: &Option<String>) -> Result<Vec<&str>, AppError> {
    let names: Vec<&str> = raw.as_deref().unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    match names.iter().find(|n| !EXPANDABLE.contains(n)) {
        Some(n) => Err(AppError::invalid(
            "expand",
            "invalid_value",
            format!("{n:?} cannot be expanded; expandable: {}", EXPANDABLE.join(", ")),
        )),
        None => Ok(names),
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TimelineParams {
    /// Comma-separated event types.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub event_type: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

fn comma_list(s: &Option<String>) -> Vec<String> {
    s.as_deref()
        .map(|s| s.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect())
        .unwrap_or_default()
}

pub(crate) fn parse_time(errs: &mut Invalid, field: &str, v: &Option<String>) -> Option<OffsetDateTime> {
    let s = v.as_deref()?;
    errs.take(
        OffsetDateTime::parse(s, &Rfc3339)
            .map_err(|_| FieldError::new(field, "invalid_time", format!("{field} must be an RFC 3339 time"))),
    )
}

fn parse_vocab<T>(
    errs: &mut Invalid,
    field: &str,
    v: &Option<String>,
    parse: fn(&str) -> Option<T>,
    expected: fn() -> String,
) -> Option<T> {
    let s = v.as_deref()?;
    errs.take(
        parse(s)
            .ok_or_else(|| FieldError::new(field, "invalid_value", format!("{field} must be one of {}", expected()))),
    )
}

fn parse_sort(errs: &mut Invalid, s: &Option<String>) -> CustomerSort {
    let Some(s) = s.as_deref() else { return CustomerSort::default() };
    let (descending, name) = match s.strip_prefix('-') {
        Some(n) => (true, n),
        None => (false, s),
    };
    match SortField::parse(name) {
        Some(field) => CustomerSort { field, descending },
        None => {
            errs.push(FieldError::new("sort", "invalid_value", "sort must name a sortable field"));
            CustomerSort::default()
        }
    }
}

fn sort_name(s: CustomerSort) -> String {
    format!("{}{}", if s.descending { "-" } else { "" }, s.field.as_str())
}

fn to_query(p: &Principal, l: &ListParams) -> Result<CustomerQuery, AppError> {
    let mut e = Invalid::default();
    let search = l.q.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let sort = match (&l.sort, &search) {
        (None, Some(_)) => CustomerSort { field: SortField::Relevance, descending: true },
        _ => parse_sort(&mut e, &l.sort),
    };
    let limit = l.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        e.push(FieldError::new("limit", "out_of_range", "limit must be 1..200"));
    }
    let after = match &l.cursor {
        Some(c) => e.take(cursor::decode(&sort_name(sort), c).map_err(|_| {
            FieldError::new("cursor", "invalid_cursor", "cursor is not one this list gave out for this sort")
        })),
        None => None,
    };
    let assigned_to =
        match l.assigned_to.as_deref() {
            None => None,
            Some("me") => Some(AssignedFilter::User(p.id)),
            Some("none") => Some(AssignedFilter::Unassigned),
            Some(s) => e.take(Uuid::parse_str(s).map(AssignedFilter::User).map_err(|_| {
                FieldError::new("assigned_to", "invalid_id", "assigned_to must be a user id, me or none")
            })),
        };
    let q = CustomerQuery {
        limit,
        q: search,
        after,
        sort,
        status: parse_vocab(&mut e, "status", &l.status, Status::parse, Status::expected),
        lifecycle_stage: parse_vocab(
            &mut e,
            "lifecycle_stage",
            &l.lifecycle_stage,
            LifecycleStage::parse,
            LifecycleStage::expected,
        ),
        customer_type: parse_vocab(&mut e, "type", &l.customer_type, CustomerType::parse, CustomerType::expected),
        tags_all: comma_list(&l.tag),
        tags_any: comma_list(&l.any_tag),
        source: parse_vocab(&mut e, "source", &l.source, Source::parse, Source::expected),
        source_detail: l.source_detail.clone(),
        assigned_to,
        company: l.company.clone(),
        city: l.city.clone(),
        state: l.state.clone(),
        country: l.country.clone(),
        industry: l.industry.clone(),
        created_after: parse_time(&mut e, "created_after", &l.created_after),
        created_before: parse_time(&mut e, "created_before", &l.created_before),
        updated_after: parse_time(&mut e, "updated_after", &l.updated_after),
        updated_before: parse_time(&mut e, "updated_before", &l.updated_before),
        last_contact_after: parse_time(&mut e, "last_contact_after", &l.last_contact_after),
        last_contact_before: parse_time(&mut e, "last_contact_before", &l.last_contact_before),
        follow_up_due_by: l.follow_up_due.filter(|d| *d).map(|_| OffsetDateTime::now_utc()),
        include_deleted: l.include_deleted.unwrap_or(false),
        sales_scope: None,
        portal_user: None,
        topic: l.topic.as_deref().map(rapport_core::conversation::normalize_topic).filter(|t| !t.is_empty()),
        discussed_after: parse_time(&mut e, "discussed_after", &l.discussed_after),
    };
    e.into_result()?;
    Ok(q)
}

/// A customer with its ETag (and Location when created).
pub(crate) async fn respond(
    s: &AppState,
    p: &Principal,
    status: StatusCode,
    c: &CustomerRow,
) -> ApiResult<impl IntoResponse> {
    let currency = s.base_currency(p.tenant_id).await?;
    Ok((status, customer_headers(status, c), Json(CustomerView::new(c, &currency))))
}

/// The ETag of a customer, and where a new one lives.
fn customer_headers(status: StatusCode, c: &CustomerRow) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Ok(v) = etag(c.version).parse() {
        h.insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED {
        if let Ok(v) = format!("/api/v1/customers/{}", c.id).parse() {
            h.insert(header::LOCATION, v);
        }
    }
    h
}

/// Create a customer. A likely duplicate answers 409 `customer_duplicate` with the matches.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = CustomerInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe POST")),
    responses((status = 201, body = CustomerView, headers(("ETag" = String), ("Location" = String))),
        (status = 400, body = crate::views::Problem, content_type = "application/problem+json"), (status = 403, body = crate::views::Problem, content_type = "application/problem+json"),
        (status = 409, body = crate::views::Problem, content_type = "application/problem+json"), (status = 413, body = crate::views::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::views::Problem, content_type = "application/problem+json"), (status = 422, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(s): State<AppState>,
    Auth(p): Auth,
    Meta(meta): Meta,
    JsonBody(body): JsonBody,
) -> ApiResult<impl IntoResponse> {
    let c = s.app.create_customer(&p, &meta, &body).await?;
    respond(&s, &p, StatusCode::CREATED, &c).await
}

/// Read a customer.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = Uuid, Path), GetParams),
    responses((status = 200, body = CustomerView, headers(("ETag" = String))),
        (status = 308, body = crate::views::Problem, content_type = "application/problem+json", description = "Merged into the customer at Location"),
        (status = 404, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(s): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId,
    QueryParams(q): QueryParams<GetParams>,
) -> ApiResult<impl IntoResponse> {
    let expand = expansions(&q.expand)?;
    let c = s.app.get_customer(&p, id, q.include_deleted.unwrap_or(false)).await?;
    let metrics = match expand.contains(&"metrics") {
        true => Some(s.app.customer_metrics(&p, c.id).await?),
        false => None,
    };
    let currency = s.base_currency(p.tenant_id).await?;
    let mut view = CustomerView::new(&c, &currency);
    view.metrics = metrics.as_ref().map(crate::views::MetricsView::from);
    Ok((StatusCode::OK, customer_headers(StatusCode::OK, &c), Json(view)))
}

/// Change some fields of a customer. `If-Match` with the ETag guards against lost updates.
#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers", request_body = CustomerInput,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = CustomerView, headers(("ETag" = String))), (status = 404, body = crate::views::Problem, content_type = "application/problem+json"),
        (status = 409, body = crate::views::Problem, content_type = "application/problem+json"), (status = 412, body = crate::views::Problem, content_type = "application/problem+json"), (status = 422, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn update(
    State(s): State<AppState>,
    Auth(p): Auth,
    Meta(meta): Meta,
    PathId(id): PathId,
    IfMatch(v): IfMatch,
    JsonBody(body): JsonBody,
) -> ApiResult<impl IntoResponse> {
    let c = s.app.update_customer(&p, &meta, id, &body, v).await?;
    respond(&s, &p, StatusCode::OK, &c).await
}

/// The same as PATCH: a partial update.
#[utoipa::path(put, path = "/api/v1/customers/{id}", tag = "customers", request_body = CustomerInput,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = CustomerView, headers(("ETag" = String))), (status = 404, body = crate::views::Problem, content_type = "application/problem+json"),
        (status = 412, body = crate::views::Problem, content_type = "application/problem+json"), (status = 422, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn replace(
    st: State<AppState>,
    a: Auth,
    m: Meta,
    id: PathId,
    v: IfMatch,
    b: JsonBody,
) -> ApiResult<impl IntoResponse> {
    update(st, a, m, id, v, b).await
}

/// Soft-delete a customer; it leaves every list and view and can be restored.
#[utoipa::path(delete, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 403, body = crate::views::Problem, content_type = "application/problem+json"), (status = 404, body = crate::views::Problem, content_type = "application/problem+json"), (status = 412, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn delete(
    State(s): State<AppState>,
    Auth(p): Auth,
    Meta(meta): Meta,
    PathId(id): PathId,
    IfMatch(v): IfMatch,
) -> ApiResult<StatusCode> {
    s.app.delete_customer(&p, &meta, id, v).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Bring back a soft-deleted customer.
#[utoipa::path(post, path = "/api/v1/customers/{id}/restore", tag = "customers", params(("id" = Uuid, Path)),
    responses((status = 200, body = CustomerView), (status = 403, body = crate::views::Problem, content_type = "application/problem+json"), (status = 404, body = crate::views::Problem, content_type = "application/problem+json"), (status = 409, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn restore(
    State(s): State<AppState>,
    Auth(p): Auth,
    Meta(meta): Meta,
    PathId(id): PathId,
) -> ApiResult<impl IntoResponse> {
    let c = s.app.restore_customer(&p, &meta, id).await?;
    respond(&s, &p, StatusCode::OK, &c).await
}

/// List customers: filters, search (`q`), sort and keyset pagination.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(ListParams),
    responses((status = 200, body = CustomerList), (status = 400, body = crate::views::Problem, content_type = "application/problem+json"), (status = 422, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(s): State<AppState>,
    Auth(p): Auth,
    QueryParams(l): QueryParams<ListParams>,
) -> ApiResult<SizedJson<CustomerList>> {
    let q = to_query(&p, &l)?;
    let sort = sort_name(q.sort);
    // A search's customers are seldom the same from one search to the next: they are
    // written without being kept, so they do not push out the list pages' customers.
    let keep = q.q.is_none();
    let page = s.app.list_customers(&p, q).await?;
    let currency = s.base_currency(p.tenant_id).await?;
    let list = CustomerList {
        data: page
            .rows
            .iter()
            .map(|c| s.rendered.render(c, &currency, keep))
            .collect::<Result<_, _>>()
            .map_err(|e| AppError::Internal(format!("a customer could not be written as JSON: {e}")))?,
        next_cursor: page.next.as_ref().map(|c| cursor::encode(&sort, c)),
    };
    // About 1.3 KB a customer as the generator's data sets have them.
    Ok(SizedJson { capacity: 256 + list.data.len() * 1536, value: list })
}

/// The tenant's customer figures (002's totals: customers, active, per type, lifecycle
/// stage and status, total revenue and average value) over live customers, read from
/// counters kept by every change. Tenant-wide: roles that see only some customers (sales,
/// portal) are refused.
#[utoipa::path(get, path = "/api/v1/customers/stats", tag = "customers",
    responses((status = 200, body = crate::views::CustomerStatsView),
        (status = 403, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn stats(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<crate::views::CustomerStatsView>> {
    let stats = s.app.customer_stats(&p).await?;
    let currency = s.base_currency(p.tenant_id).await?;
    Ok(Json(crate::views::CustomerStatsView::new(&stats, &currency)))
}

/// A customer's timeline, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/timeline", tag = "customers", params(("id" = Uuid, Path), TimelineParams),
    responses((status = 200, body = EventList), (status = 404, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn timeline(
    State(s): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId,
    QueryParams(t): QueryParams<TimelineParams>,
) -> ApiResult<Json<EventList>> {
    let limit = t.limit.unwrap_or(50).clamp(1, 200);
    let before = cursor::before_id(&t.cursor)?;
    let events = s.app.customer_timeline(&p, id, &comma_list(&t.event_type), before, limit).await?;
    let next_cursor = cursor::next_id(events.len(), limit, events.last().map(|e| e.id));
    Ok(Json(EventList { data: events.iter().map(EventView::from).collect(), next_cursor }))
}

/// The audit entries of one customer, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/audit", tag = "customers", params(("id" = Uuid, Path), PageParams),
    responses((status = 200, body = AuditList), (status = 403, body = crate::views::Problem, content_type = "application/problem+json"), (status = 404, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn audit(
    State(s): State<AppState>,
    Auth(p): Auth,
    PathId(id): PathId,
    QueryParams(pp): QueryParams<PageParams>,
) -> ApiResult<Json<AuditList>> {
    let limit = pp.limit.unwrap_or(50).clamp(1, 200);
    let before = super::audit::seq_cursor(&pp.cursor)?;
    let rows = s.app.customer_audit(&p, id, before, limit).await?;
    Ok(Json(super::audit::page(&rows, limit)))
}

/// A look-up body for `/customers/match`: at least one of name, email, phone.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)] // documents the body; the use case reads it field by field
pub struct MatchInput {
    pub name: Option<String>,
    pub email: Option<String>,
    /// Any format; one that does not parse is looked up by its digits.
    pub phone: Option<String>,
    pub company_name: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
}

/// The customers this person may already be, best first, with confidence and reasons.
/// Writes nothing.
#[utoipa::path(post, path = "/api/v1/customers/match", tag = "customers", request_body = MatchInput,
    responses((status = 200, body = crate::views::MatchList), (status = 422, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn find_matches(
    State(s): State<AppState>,
    Auth(p): Auth,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<crate::views::MatchList>> {
    let ranked = s.app.match_customers(&p, &body).await?;
    Ok(Json(crate::views::MatchList { data: ranked.iter().map(crate::views::MatchView::from).collect() }))
}
