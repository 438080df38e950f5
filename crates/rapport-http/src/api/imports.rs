//! CSV imports: a dry run, an import, the journal, and reverting an import.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rapport_app::imports::{Counts, ImportOptions, ImportReport, OnDuplicate, Outcome, RowReport};
use rapport_app::AppError;
use rapport_store::ImportRow;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::cursor;
use crate::extract::{Auth, Meta, PathId, QueryParams};
use crate::problem::{problem, ApiResult};
use crate::views::{ot, t};
use crate::AppState;

/// Largest accepted import file.
pub const IMPORT_LIMIT: usize = 64 * 1024 * 1024;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// Report what each row would do, and write nothing.
    pub dry_run: Option<bool>,
    /// A row that may be a customer already on file (between the review and link
    /// thresholds): `skip` it (default) or `create` it and queue the pair for review.
    #[param(value_type = Option<String>)]
    pub on_duplicate: Option<OnDuplicate>,
    /// A JSON object from column header to customer field (`email`, `address.city`,
    /// `custom_fields.size`, `first_name` …), or null to ignore the column. Columns not
    /// named are recognised by their header.
    pub mapping: Option<String>,
    /// The file's name, kept with the import.
    pub file_name: Option<String>,
    /// Which rows the answer lists: `all` (default) or `problems` (errors and duplicates
    /// only; the counts still cover every row).
    #[param(value_type = Option<String>)]
    pub rows: Option<RowsShown>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowsShown {
    #[default]
    All,
    Problems,
}

/// The file, sent as `text/csv`.
pub struct CsvBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for CsvBody {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let csv = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| matches!(m.trim().to_ascii_lowercase().as_str(), "text/csv" | "application/csv"));
        if !csv {
            return Err(problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the file as text/csv.",
            ));
        }
        match Bytes::from_request(req, state).await {
            Ok(b) => Ok(CsvBody(b)),
            Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "The file is larger than the server accepts (64 MiB); split it.",
            )),
            Err(r) => Err(problem(StatusCode::BAD_REQUEST, "bad_request", &r.body_text())),
        }
    }
}

/// One import in the journal.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportView {
    /// What `POST /imports/{id}/revert` takes.
    pub id: Uuid,
    pub file_name: Option<String>,
    /// `running`, `completed`, `failed` (some chunks landed; revert them or import the rest)
    /// or `reverted`. A `running` import with no chunk landed for ten minutes was
    /// interrupted and may be reverted.
    pub status: String,
    #[schema(value_type = Object)]
    pub counts: Value,
    /// The mapping and policies it ran with.
    #[schema(value_type = Object)]
    pub options: Value,
    pub actor_type: String,
    pub actor_id: Option<Uuid>,
    pub created_at: String,
    /// When its last chunk landed (its counts are what landed).
    pub updated_at: String,
    pub finished_at: Option<String>,
    pub reverted_at: Option<String>,
    pub reverted_by: Option<Uuid>,
    /// After a revert: customers deleted, customers whose fields were put back, and what
    /// was kept because it changed since.
    #[schema(value_type = Option<Object>)]
    pub revert_report: Option<Value>,
}

impl From<&ImportRow> for ImportView {
    fn from(i: &ImportRow) -> Self {
        Self {
            id: i.id,
            file_name: i.file_name.clone(),
            status: i.status.clone(),
            counts: i.counts.clone(),
            options: i.options.clone(),
            actor_type: i.actor_type.clone(),
            actor_id: i.actor_id,
            created_at: t(i.created_at),
            updated_at: t(i.updated_at),
            finished_at: ot(i.finished_at),
            reverted_at: ot(i.reverted_at),
            reverted_by: i.reverted_by,
            revert_report: i.revert_report.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ColumnView {
    pub column: String,
    /// The field it goes to; null when it is ignored.
    pub field: Option<String>,
}

/// What an import did, or a dry run would do, row by row.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReportView {
    /// The journal entry; null for a dry run.
    pub import: Option<ImportView>,
    pub dry_run: bool,
    pub mapping: Vec<ColumnView>,
    /// Rows per outcome: create, update, duplicate, error.
    #[schema(value_type = Object)]
    pub counts: Counts,
    /// Every row: `line` (the header is line 1), `outcome`, and as it applies
    /// `customer_id`, `changed_fields`, `matched` {customer_id, name, confidence, reasons,
    /// vetoed}, `duplicate_of_line`, `errors` [{field, code, message}].
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<RowReport>,
}

impl From<ImportReport> for ImportReportView {
    fn from(r: ImportReport) -> Self {
        Self {
            import: r.import.as_ref().map(ImportView::from),
            dry_run: r.dry_run,
            mapping: r.mapping.into_iter().map(|(column, field)| ColumnView { column, field }).collect(),
            counts: r.counts,
            rows: r.rows,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportList {
    pub data: Vec<ImportView>,
    pub next_cursor: Option<String>,
}

/// Import customers from a CSV file (`text/csv`, header row first, at most 64 MiB). Each
/// row is created, fills the gaps of the customer it already is (`update`: an email or
/// phone on file, or a match at the tenant's link threshold), is left out as a `duplicate`
/// (of an earlier row, of a customer it may be, or of a customer it would add nothing to:
/// a file imported again is all duplicates), or is an `error` with its field
/// errors. Invalid rows never stop the others. With `dry_run=true` nothing is written and
/// the answer is the same report.
#[utoipa::path(post, path = "/api/v1/imports", tag = "imports", params(ImportParams),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 201, body = ImportReportView), (status = 200, description = "A dry run", body = ImportReportView),
        (status = 403, body = crate::views::Problem, content_type = "application/problem+json"),
        (status = 413, body = crate::views::Problem, content_type = "application/problem+json"),
        (status = 415, body = crate::views::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(s): State<AppState>,
    Auth(p): Auth,
    Meta(meta): Meta,
    QueryParams(q): QueryParams<ImportParams>,
    CsvBody(file): CsvBody,
) -> ApiResult<Response> {
    let mapping: BTreeMap<String, Option<String>> = match &q.mapping {
        None => BTreeMap::new(),
        Some(m) => serde_json::from_str(m).map_err(|_| {
            AppError::invalid(
                "mapping",
                "invalid_mapping",
                "mapping must be a JSON object of column to field name or null",
            )
        })?,
    };
    let options = ImportOptions {
        file_name: q.file_name.clone(),
        mapping,
        dry_run: q.dry_run.unwrap_or(false),
        on_duplicate: q.on_duplicate.unwrap_or_default(),
    };
    // The import runs to its end even if the client goes away or the request times out:
    // its journal then says what landed.
    let app = s.app.clone();
    let mut report = tokio::spawn(async move { app.import_customers(&p, &meta, &file, &options).await })
        .await
        .map_err(|e| AppError::Internal(format!("the import task failed: {e}")))??;
    if q.rows.unwrap_or_default() == RowsShown::Problems {
        report.rows.retain(|r| matches!(r.outcome, Outcome::Error | Outcome::Duplicate));
    }
    let status = if report.dry_run { StatusCode::OK } else { StatusCode::CREATED };
    let mut h = HeaderMap::new();
    if let Some(i) = &report.import {
        if let Ok(v) = format!("/api/v1/imports/{}", i.id).parse() {
            h.insert(header::LOCATION, v);
        }
    }
    Ok((status, h, Json(ImportReportView::from(report))).into_response())
}

/// The tenant's imports, newest first.
#[utoipa::path(get, path = "/api/v1/imports", tag = "imports", params(super::customers::PageParams),
    responses((status = 200, body = ImportList), (status = 403, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(s): State<AppState>,
    Auth(p): Auth,
    QueryParams(q): QueryParams<super::customers::PageParams>,
) -> ApiResult<Json<ImportList>> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let before = cursor::before_id(&q.cursor)?;
    let rows = s.app.list_imports(&p, before, limit).await?;
    let next_cursor = cursor::next_id(rows.len(), limit, rows.last().map(|r| r.id));
    Ok(Json(ImportList { data: rows.iter().map(ImportView::from).collect(), next_cursor }))
}

/// One import.
#[utoipa::path(get, path = "/api/v1/imports/{id}", tag = "imports", params(("id" = Uuid, Path)),
    responses((status = 200, body = ImportView), (status = 404, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn get(State(s): State<AppState>, Auth(p): Auth, PathId(id): PathId) -> ApiResult<Json<ImportView>> {
    Ok(Json(ImportView::from(&s.app.get_import(&p, id).await?)))
}

/// Revert an import: the customers it created are soft-deleted and the fields it filled are
/// put back, except what changed since (listed in `revert_report.kept`).
#[utoipa::path(post, path = "/api/v1/imports/{id}/revert", tag = "imports", params(("id" = Uuid, Path)),
    responses((status = 200, body = ImportView), (status = 404, body = crate::views::Problem, content_type = "application/problem+json"),
        (status = 409, body = crate::views::Problem, content_type = "application/problem+json")))]
pub async fn revert(
    State(s): State<AppState>,
    Auth(p): Auth,
    Meta(meta): Meta,
    PathId(id): PathId,
) -> ApiResult<Json<ImportView>> {
    let app = s.app.clone();
    let row = tokio::spawn(async move { app.revert_import(&p, &meta, id).await })
        .await
        .map_err(|e| AppError::Internal(format!("the revert task failed: {e}")))??;
    Ok(Json(ImportView::from(&row)))
}
