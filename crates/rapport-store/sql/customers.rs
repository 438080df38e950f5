//! The customer table, its tag index, its search documents and counters, and the
//! filtered, keyset-paginated list. Its matching keys are in `matching_keys`.

use std::sync::Arc;

use rapport_core::contact::{Email, Phone};
use rapport_core::customer::{Address, CustomerData, CustomerType, LifecycleStage, Source, Status};
use rapport_core::search::Document;
use rapport_store::stats::{self, CounterRow};
use rapport_store::*;
use sqlx::types::Json;
use sqlx::{FromRow, QueryBuilder};
use uuid::Uuid;

use super::dialect::{self, Db};
use super::matching_keys;
use super::{decode_err, keep_prepared, map_err, ts, un_ts, values_rows, Query, SqlTx, Ts, MAX_BINDS};

#[derive(FromRow)]
struct CustomerRecord {
    tenant_id: Uuid,
    id: Uuid,
    name: String,
    company_name: Option<String>,
    job_title: Option<String>,
    industry: Option<String>,
    customer_type: String,
    email: Option<String>,
    email_normalized: Option<String>,
    phone: Option<String>,
    phone_e164: Option<String>,
    phone_verified: bool,
    website: Option<String>,
    street: Option<String>,
    city: Option<String>,
    state: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    status: String,
    lifecycle_stage: String,
    lifecycle_updated_at: Ts,
    tags: Json<Vec<String>>,
    source: String,
    source_detail: Option<String>,
    assigned_to: Option<Uuid>,
    portal_user_id: Option<Uuid>,
    currency: Option<String>,
    language: Option<String>,
    timezone: Option<String>,
    bant: Json<rapport_core::customer::Bant>,
    preferences: Json<rapport_core::customer::Preferences>,
    notes: Option<String>,
    custom_fields: Json<serde_json::Map<String, serde_json::Value>>,
    last_contact_at: Option<Ts>,
    next_follow_up_at: Option<Ts>,
    total_revenue: i64,
    total_invoices: i64,
    lifetime_value: i64,
    lead_score: Option<i32>,
    churn_risk: Option<String>,
    deleted_at: Option<Ts>,
    deleted_by: Option<Uuid>,
    merged_into_customer_id: Option<Uuid>,
    created_at: Ts,
    created_by: Option<Uuid>,
    updated_at: Ts,
    updated_by: Option<Uuid>,
    version: i64,
}

fn vocab<T>(what: &str, s: &str, parse: fn(&str) -> Option<T>) -> StoreResult<T> {
    parse(s).ok_or_else(|| decode_err(what, s))
}

impl TryFrom<CustomerRecord> for CustomerRow {
    type Error = StoreError;

    fn try_from(r: CustomerRecord) -> StoreResult<Self> {
        let email = match (r.email, r.email_normalized) {
            (Some(raw), Some(norm)) => Some(Email::from_stored(raw, norm)),
            _ => None,
        };
        let phone = match (r.phone, r.phone_e164) {
            (Some(raw), Some(e164)) => Some(Phone::from_stored(raw, e164, r.phone_verified)),
            _ => None,
        };
        let data = CustomerData {
            name: r.name,
            company_name: r.company_name,
            job_title: r.job_title,
            industry: r.industry,
            customer_type: vocab("type", &r.customer_type, CustomerType::parse)?,
            email,
            phone,
            website: r.website,
            address: Address {
                street: r.street,
                city: r.city,
                state: r.state,
                postal_code: r.postal_code,
                country: r.country,
            },
            status: vocab("status", &r.status, Status::parse)?,
            lifecycle_stage: vocab("lifecycle_stage", &r.lifecycle_stage, LifecycleStage::parse)?,
            tags: r.tags.0,
            source: vocab("source", &r.source, Source::parse)?,
            source_detail: r.source_detail,
            assigned_to: r.assigned_to,
            portal_user_id: r.portal_user_id,
            currency: r.currency,
            language: r.language,
            timezone: r.timezone,
            bant: r.bant.0,
            preferences: r.preferences.0,
            notes: r.notes,
            custom_fields: r.custom_fields.0,
            last_contact_at: un_ts(r.last_contact_at),
            next_follow_up_at: un_ts(r.next_follow_up_at),
        };
        Ok(CustomerRow {
            id: r.id,
            tenant_id: r.tenant_id,
            data,
            lifecycle_updated_at: r.lifecycle_updated_at.0,
            derived: CustomerDerived {
                total_revenue: r.total_revenue,
                total_invoices: r.total_invoices,
                lifetime_value: r.lifetime_value,
                lead_score: r.lead_score,
                churn_risk: r.churn_risk,
            },
            deleted_at: un_ts(r.deleted_at),
            deleted_by: r.deleted_by,
            merged_into_customer_id: r.merged_into_customer_id,
            created_at: r.created_at.0,
            created_by: r.created_by,
            updated_at: r.updated_at.0,
            updated_by: r.updated_by,
            version: r.version,
        })
    }
}

/// The writable columns, each with the value it is written from: `WRITABLE` names them in
/// order, `BIND` binds each one's value, and `SAME` tells whether two rows hold the same
/// value in it (an update writes only the columns whose value changed).
macro_rules! writable_columns {
    ($($col:ident => |$c:ident| $value:expr,)*) => {
        const WRITABLE: [&str; [$(stringify!($col)),*].len()] = [$(stringify!($col)),*];

        mod bind_column {
            use super::*;
            $(pub(super) fn $col<'q>(q: Query<'q>, $c: &'q CustomerRow) -> Query<'q> {
                q.bind($value)
            })*
        }

        mod same_column {
            use super::*;
            $(pub(super) fn $col(a: &CustomerRow, b: &CustomerRow) -> bool {
                let $c = a;
                let before = $value;
                let $c = b;
                before == $value
            })*
        }

        const BIND: [for<'q> fn(Query<'q>, &'q CustomerRow) -> Query<'q>; WRITABLE.len()] =
            [$(bind_column::$col),*];
        const SAME: [fn(&CustomerRow, &CustomerRow) -> bool; WRITABLE.len()] = [$(same_column::$col),*];
    };
}

writable_columns! {
    name => |c| &c.data.name,
    company_name => |c| &c.data.company_name,
    job_title => |c| &c.data.job_title,
    industry => |c| &c.data.industry,
    customer_type => |c| c.data.customer_type.as_str(),
    email => |c| c.data.email.as_ref().map(|e| e.as_str()),
    email_normalized => |c| c.data.email.as_ref().map(|e| e.normalized()),
    phone => |c| c.data.phone.as_ref().map(|p| p.as_str()),
    phone_e164 => |c| c.data.phone.as_ref().map(|p| p.e164()),
    phone_verified => |c| c.data.phone.as_ref().is_some_and(|p| p.verified()),
    website => |c| &c.data.website,
    street => |c| &c.data.address.street,
    city => |c| &c.data.address.city,
    state => |c| &c.data.address.state,
    postal_code => |c| &c.data.address.postal_code,
    country => |c| &c.data.address.country,
    status => |c| c.data.status.as_str(),
    lifecycle_stage => |c| c.data.lifecycle_stage.as_str(),
    lifecycle_updated_at => |c| Ts(c.lifecycle_updated_at),
    tags => |c| Json(&c.data.tags),
    tag_keys => |c| tag_keys_of(&c.data.tags),
    source => |c| c.data.source.as_str(),
    source_detail => |c| &c.data.source_detail,
    assigned_to => |c| c.data.assigned_to,
    portal_user_id => |c| c.data.portal_user_id,
    currency => |c| &c.data.currency,
    language => |c| &c.data.language,
    timezone => |c| &c.data.timezone,
    bant => |c| Json(c.data.bant),
    preferences => |c| Json(c.data.preferences),
    notes => |c| &c.data.notes,
    custom_fields => |c| Json(&c.data.custom_fields),
    last_contact_at => |c| ts(c.data.last_contact_at),
    next_follow_up_at => |c| ts(c.data.next_follow_up_at),
    total_revenue => |c| c.derived.total_revenue,
    total_invoices => |c| c.derived.total_invoices,
    lifetime_value => |c| c.derived.lifetime_value,
    lead_score => |c| c.derived.lead_score,
    churn_risk => |c| &c.derived.churn_risk,
    deleted_at => |c| ts(c.deleted_at),
    deleted_by => |c| c.deleted_by,
    merged_into_customer_id => |c| c.merged_into_customer_id,
    updated_at => |c| Ts(c.updated_at),
    updated_by => |c| c.updated_by,
    // `version` is the last writable column: an update requires the one before it.
    version => |c| c.version,
}

/// Binds every writable column of `c`, in `WRITABLE`'s order.
fn bind_writable<'q>(q: Query<'q>, c: &'q CustomerRow) -> Query<'q> {
    BIND.iter().fold(q, |q, bind| bind(q, c))
}

/// Inserts new customers, many rows to a statement, with their tag index, matching keys,
/// search documents and counters.
pub(super) async fn insert(tx: &mut SqlTx, rows: &[CustomerRow]) -> StoreResult<()> {
    let cols = WRITABLE.len() + 4;
    for chunk in rows.chunks(MAX_BINDS / cols) {
        let sql = format!(
            "INSERT INTO customers (tenant_id, id, {}, created_at, created_by) VALUES {}",
            WRITABLE.join(", "),
            values_rows(chunk.len(), cols)
        );
        let mut q = sqlx::query(&sql);
        for c in chunk {
            q = bind_writable(q.bind(tx.tenant).bind(c.id), c).bind(Ts(c.created_at)).bind(c.created_by);
        }
        q.persistent(keep_prepared(chunk.len() * cols)).execute(&mut *tx.tx).await.map_err(map_err)?;
    }
    matching_keys::insert_own_keys(tx, rows).await?;
    let mut docs = Vec::with_capacity(rows.len());
    for c in rows {
        let after = Indexed::of(c);
        docs.extend(after.document().map(|d| (c.id, d)));
        stats::add_delta(&mut tx.counter_deltas, None, Some(&after.counter_row()));
    }
    dialect::insert_search(&mut tx.tx, tx.tenant, &docs).await
}

pub(super) async fn update(tx: &mut SqlTx, c: &CustomerRow) -> StoreResult<()> {
    // The row as it stands: what its search document and counters held, and which columns
    // this update changes.
    let stored = get(tx, c.id).await?.ok_or(StoreError::NotFound)?;
    if stored.version + 1 != c.version {
        return Err(StoreError::StaleVersion);
    }
    write_over(tx, &stored, c).await
}

/// Writes `c` over `stored`, the row as the caller read it in this transaction, without
/// reading it again (a chat's customer, an imported row's match). A caller's row of another
/// version than the one `c` follows is read afresh.
pub(super) async fn update_over(tx: &mut SqlTx, stored: &CustomerRow, c: &CustomerRow) -> StoreResult<()> {
    if stored.version + 1 != c.version || stored.id != c.id {
        return update(tx, c).await;
    }
    write_over(tx, stored, c).await
}

/// Writes `c` over `stored`. The UPDATE requires the version `c` follows, which `stored`
/// holds, and every write of a customer raises its version: a row found at that version
/// is `stored`, whose search document, counters and keys are replaced. A write undone by a
/// rollback gives its version back, so `stored` must be read after the transaction's last
/// rollback to a savepoint (every caller reads its row within the change it makes).
async fn write_over(tx: &mut SqlTx, stored: &CustomerRow, c: &CustomerRow) -> StoreResult<()> {
    let before = Indexed::of(stored);
    // Only the changed columns are written: SQLite rewrites the entries of every index on a
    // column the statement sets, changed or not (an update of `last_contact_at` alone
    // leaves the name, email, phone and tag indexes be).
    let columns: Vec<usize> = (0..WRITABLE.len()).filter(|&i| !SAME[i](stored, c)).collect();
    let sets: Vec<String> = columns.iter().enumerate().map(|(j, &i)| format!("{} = ${}", WRITABLE[i], j + 3)).collect();
    // `version` is always among them (it is the last): the row must still hold the one
    // before it.
    let sql = format!(
        "UPDATE customers SET {} WHERE tenant_id = $1 AND id = $2 AND version = ${} - 1",
        sets.join(", "),
        columns.len() + 2
    );
    let q = columns.iter().fold(sqlx::query(&sql).bind(tx.tenant).bind(c.id), |q, &i| BIND[i](q, c));
    let done = q.execute(&mut *tx.tx).await.map_err(map_err)?;
    if done.rows_affected() == 0 {
        return Err(match get(tx, c.id).await? {
            Some(_) => StoreError::StaleVersion,
            None => StoreError::NotFound,
        });
    }
    // The matching keys are rewritten only when what they are made of changed: most
    // updates (a chat advancing last_contact_at) do not touch them.
    let after = Indexed::of(c);
    if before.identity() != after.identity() {
        matching_keys::rewrite_keys(tx, c).await?;
    }
    // A customer merged into another, or given back by an undo, changes the other's keys: it
    // is known by the contact points of those merged into it.
    let moved = Some(before.merged_into_customer_id).filter(|m| *m != c.merged_into_customer_id);
    if let Some(old_target) = moved {
        for target in [old_target, c.merged_into_customer_id].into_iter().flatten() {
            if let Some(t) = get(tx, target).await? {
                matching_keys::rewrite_keys(tx, &t).await?;
            }
        }
    }
    write_search_and_counters(tx, Some(&before), c).await
}

/// What closes each folded tag in `tag_keys` (and opens the first): a tag cannot hold a
/// control character.
const TAG_SEPARATOR: char = '\u{1f}';

/// A customer's tags as its row's `tag_keys` holds them: folded, each closed by the
/// separator, after a leading one ("", or "\u{1f}vip\u{1f}new\u{1f}").
pub(crate) fn tag_keys_of(tags: &[String]) -> String {
    if tags.is_empty() {
        return String::new();
    }
    let mut s = String::from(TAG_SEPARATOR);
    for t in tags {
        s.push_str(&t.to_lowercase());
        s.push(TAG_SEPARATOR);
    }
    s
}

/// What `tag_keys` holds when a customer carries `tag`.
fn tag_needle(tag: &str) -> String {
    format!("{TAG_SEPARATOR}{}{TAG_SEPARATOR}", tag.to_lowercase())
}

/// The customers merged into `id`, whole.
pub(super) async fn merged_into(tx: &mut SqlTx, id: Uuid) -> StoreResult<Vec<CustomerRow>> {
    let rs: Vec<CustomerRecord> =
        sqlx::query_as("SELECT * FROM customers WHERE tenant_id = $1 AND merged_into_customer_id = $2")
            .bind(tx.tenant)
            .bind(id)
            .fetch_all(&mut *tx.tx)
            .await
            .map_err(map_err)?;
    rs.into_iter().map(CustomerRow::try_from).collect()
}

pub(super) async fn get(tx: &mut SqlTx, id: Uuid) -> StoreResult<Option<CustomerRow>> {
    let r: Option<CustomerRecord> = sqlx::query_as("SELECT * FROM customers WHERE tenant_id = $1 AND id = $2")
        .bind(tx.tenant)
        .bind(id)
        .fetch_optional(&mut *tx.tx)
        .await
        .map_err(map_err)?;
    r.map(CustomerRow::try_from).transpose()
}

pub(super) async fn find_by_email(tx: &mut SqlTx, email: &str, except: Option<Uuid>) -> StoreResult<Vec<CustomerRow>> {
    let rs: Vec<CustomerRecord> = sqlx::query_as(
        "SELECT * FROM customers WHERE tenant_id = $1 AND email_normalized = $2 AND deleted_at IS NULL \
         AND ($3 IS NULL OR id <> $3) ORDER BY created_at, id LIMIT 10",
    )
    .bind(tx.tenant)
    .bind(email)
    .bind(except)
    .fetch_all(&mut *tx.tx)
    .await
    .map_err(map_err)?;
    rs.into_iter().map(CustomerRow::try_from).collect()
}

fn sort_column(f: SortField) -> (&'static str, bool) {
    match f {
        SortField::Name => ("c.name", false),
        SortField::CreatedAt => ("c.created_at", false),
        SortField::UpdatedAt => ("c.updated_at", false),
        SortField::LastContactAt => ("c.last_contact_at", true),
        SortField::NextFollowUpAt => ("c.next_follow_up_at", true),
        SortField::TotalRevenue => ("c.total_revenue", false),
        SortField::LifetimeValue => ("c.lifetime_value", false),
        SortField::LeadScore => ("c.lead_score", true),
        // Never reaches SQL: `list_sql` refuses it, and a search is ranked by the caller.
        SortField::Relevance => ("c.updated_at", false),
    }
}

fn push_value(qb: &mut QueryBuilder<'_, Db>, v: &SortValue) {
    match v {
        SortValue::Text(s) => qb.push_bind(s.clone()),
        SortValue::Int(i) => qb.push_bind(*i),
        SortValue::Time(t) => qb.push_bind(Ts(*t)),
        SortValue::Missing => qb.push("NULL"),
    };
}

fn push_eq_ci(qb: &mut QueryBuilder<'_, Db>, col: &str, v: &Option<String>) {
    if let Some(v) = v {
        qb.push(format!(" AND lower({col}) = lower(")).push_bind(v.clone()).push(")");
    }
}

fn push_range(
    qb: &mut QueryBuilder<'_, Db>,
    col: &str,
    after: Option<time::OffsetDateTime>,
    before: Option<time::OffsetDateTime>,
) {
    if let Some(t) = after {
        qb.push(format!(" AND {col} >= ")).push_bind(Ts(t));
    }
    if let Some(t) = before {
        qb.push(format!(" AND {col} < ")).push_bind(Ts(t));
    }
}

pub(super) async fn list(tx: &mut SqlTx, q: &CustomerQuery) -> StoreResult<Vec<Arc<CustomerRow>>> {
    let Some(cache) = tx.row_cache.clone() else {
        let mut qb = list_sql(tx.tenant, q, None, "c.*")?;
        let rs: Vec<CustomerRecord> = qb.build_query_as().fetch_all(&mut *tx.tx).await.map_err(map_err)?;
        return rs.into_iter().map(|r| CustomerRow::try_from(r).map(Arc::new)).collect();
    };
    // The page's ids and versions, then whole rows only when some are not kept at that
    // version: decoding a customer (about fifty columns, four JSON documents) was most of a
    // page. Kept rows are shared with the cache, not copied.
    list_once(&mut tx.tx, tx.tenant, q, &cache).await
}

/// A page of the list (no search) for a reader: its ids and versions in one statement and,
/// when every row is kept at its version (`row_cache`), nothing more; else the page again,
/// whole, in one statement. Either answer is one statement, so one snapshot even outside a
/// transaction: SQLite runs it so (`Store::list_page`), and the common answer (a page whose
/// rows did not change) costs its reader no BEGIN and no ROLLBACK, each a round trip to the
/// driver's thread.
pub(crate) async fn list_once(
    conn: &mut <Db as sqlx::Database>::Connection,
    tenant: Uuid,
    q: &CustomerQuery,
    cache: &rapport_store::row_cache::RowCache,
) -> StoreResult<Vec<Arc<CustomerRow>>> {
    let page: Vec<(Uuid, i64)> =
        list_sql(tenant, q, None, "c.id, c.version")?.build_query_as().fetch_all(&mut *conn).await.map_err(map_err)?;
    // Shared with the cache, not copied: a page of kept rows was a copy of fifty records.
    let kept: Option<Vec<Arc<CustomerRow>>> =
        page.iter().map(|&(id, version)| cache.get(tenant, id, version)).collect();
    if let Some(rows) = kept {
        return Ok(rows);
    }
    let rs: Vec<CustomerRecord> =
        list_sql(tenant, q, None, "c.*")?.build_query_as().fetch_all(&mut *conn).await.map_err(map_err)?;
    let rows = rs.into_iter().map(|r| CustomerRow::try_from(r).map(Arc::new)).collect::<StoreResult<Vec<_>>>()?;
    for c in &rows {
        cache.put(c.clone());
    }
    Ok(rows)
}

/// The rows of `page` (ids with the versions just read), in its order: those kept at that
/// version from `cache`, the others read whole (and kept). A row erased since is left out.
async fn through_cache(
    tx: &mut SqlTx,
    cache: &rapport_store::row_cache::RowCache,
    page: &[(Uuid, i64)],
) -> StoreResult<Vec<CustomerRow>> {
    let mut rows: Vec<Option<CustomerRow>> =
        page.iter().map(|&(id, version)| cache.get(tx.tenant, id, version).map(|r| CustomerRow::clone(&r))).collect();
    let missing: Vec<Uuid> = page.iter().zip(&rows).filter(|(_, r)| r.is_none()).map(|(&(id, _), _)| id).collect();
    if !missing.is_empty() {
        let mut read: std::collections::HashMap<Uuid, CustomerRow> =
            read_many(tx, &missing).await?.into_iter().map(|c| (c.id, c)).collect();
        for (&(id, _), slot) in page.iter().zip(rows.iter_mut()) {
            if slot.is_none() {
                *slot = read.remove(&id).inspect(|c| cache.put(std::sync::Arc::new(c.clone())));
            }
        }
    }
    Ok(rows.into_iter().flatten().collect())
}

/// The list of `q` as SQL selecting `columns`: from the customers table or, for a search,
/// from the candidates of one look-up in the search index (`s.customer_id`, ranked by
/// `s.score` when the dialect ranks). A search takes the filters of `q` but not its sort or
/// cursor.
fn list_sql<'a>(
    tenant: Uuid,
    q: &CustomerQuery,
    plan: Option<&dialect::SearchPlan>,
    columns: &str,
) -> StoreResult<QueryBuilder<'a, Db>> {
    let mut qb = QueryBuilder::<Db>::new(format!("SELECT {columns} FROM "));
    if let Some(plan) = plan {
        // CROSS JOIN keeps the index look-up as the outer loop on SQLite; for PostgreSQL it
        // is an inner join like any other.
        dialect::push_search_plan(&mut qb, tenant, plan);
        qb.push(" CROSS JOIN customers c WHERE c.id = s.customer_id AND c.tenant_id = ");
    } else {
        qb.push("customers c WHERE c.tenant_id = ");
    }
    qb.push_bind(tenant);
    if !q.include_deleted {
        qb.push(" AND c.deleted_at IS NULL");
    }
    if let Some(me) = q.sales_scope {
        qb.push(" AND (c.assigned_to = ")
            .push_bind(me)
            .push(" OR (c.assigned_to IS NULL AND c.lifecycle_stage IN ('prospect', 'lead')))");
    }
    if let Some(u) = q.portal_user {
        qb.push(" AND c.portal_user_id = ").push_bind(u);
    }
    if let Some(s) = q.status {
        qb.push(" AND c.status = ").push_bind(s.as_str());
    }
    if let Some(s) = q.lifecycle_stage {
        qb.push(" AND c.lifecycle_stage = ").push_bind(s.as_str());
    }
    if let Some(t) = q.customer_type {
        qb.push(" AND c.customer_type = ").push_bind(t.as_str());
    }
    if let Some(s) = q.source {
        qb.push(" AND c.source = ").push_bind(s.as_str());
    }
    push_eq_ci(&mut qb, "c.source_detail", &q.source_detail);
    push_eq_ci(&mut qb, "c.company_name", &q.company);
    push_eq_ci(&mut qb, "c.city", &q.city);
    push_eq_ci(&mut qb, "c.state", &q.state);
    push_eq_ci(&mut qb, "c.industry", &q.industry);
    if let Some(c) = &q.country {
        qb.push(" AND c.country = ").push_bind(c.to_ascii_uppercase());
    }
    match &q.assigned_to {
        Some(AssignedFilter::User(u)) => {
            qb.push(" AND c.assigned_to = ").push_bind(*u);
        }
        Some(AssignedFilter::Unassigned) => {
            qb.push(" AND c.assigned_to IS NULL");
        }
        None => {}
    }
    // From the row's `tag_keys`, which the list page's index holds.
    let has_tag = |qb: &mut QueryBuilder<'a, Db>, tag: &str| {
        qb.push(format!("{}(c.tag_keys, ", dialect::POSITION)).push_bind(tag_needle(tag)).push(") > 0");
    };
    for tag in &q.tags_all {
        qb.push(" AND ");
        has_tag(&mut qb, tag);
    }
    if !q.tags_any.is_empty() {
        qb.push(" AND (");
        for (i, tag) in q.tags_any.iter().enumerate() {
            if i > 0 {
                qb.push(" OR ");
            }
            has_tag(&mut qb, tag);
        }
        qb.push(")");
    }
    push_range(&mut qb, "c.created_at", q.created_after, q.created_before);
    push_range(&mut qb, "c.updated_at", q.updated_after, q.updated_before);
    push_range(&mut qb, "c.last_contact_at", q.last_contact_after, q.last_contact_before);
    if let Some(topic) = &q.topic {
        qb.push(
            " AND EXISTS (SELECT 1 FROM conversation_topics t JOIN conversations v ON v.tenant_id = t.tenant_id \
             AND v.id = t.conversation_id WHERE t.tenant_id = c.tenant_id AND v.customer_id = c.id AND t.topic = ",
        )
        .push_bind(topic.clone());
        if let Some(after) = q.discussed_after {
            qb.push(" AND t.at >= ").push_bind(Ts(after));
        }
        qb.push(")");
    }
    if let Some(t) = q.follow_up_due_by {
        qb.push(" AND c.next_follow_up_at <= ").push_bind(Ts(t));
    }

    if let Some(plan) = plan {
        if plan.ranked() {
            qb.push(" ORDER BY s.score, c.id");
        }
        qb.push(" LIMIT ").push_bind(i64::from(q.limit));
        return Ok(qb);
    }
    if q.sort.field == SortField::Relevance {
        return Err(StoreError::Other("sorting by relevance needs a search".into()));
    }

    let (col, nullable) = sort_column(q.sort.field);
    let (op, dir) = if q.sort.descending { ("<", "DESC") } else { (">", "ASC") };
    if let Some(cur) = &q.after {
        match (&cur.value, nullable) {
            // Rows without a value come last, ordered by id alone.
            (SortValue::Missing, _) => {
                qb.push(format!(" AND {col} IS NULL AND c.id {op} ")).push_bind(cur.id);
            }
            (v, _) => {
                qb.push(format!(" AND ({col} {op} "));
                push_value(&mut qb, v);
                qb.push(format!(" OR ({col} = "));
                push_value(&mut qb, v);
                qb.push(format!(" AND c.id {op} ")).push_bind(cur.id).push(")");
                if nullable {
                    qb.push(format!(" OR {col} IS NULL"));
                }
                qb.push(")");
            }
        }
    }
    if nullable {
        qb.push(format!(" ORDER BY ({col} IS NULL), {col} {dir}, c.id {dir}"));
    } else {
        qb.push(format!(" ORDER BY {col} {dir}, c.id {dir}"));
    }
    qb.push(" LIMIT ").push_bind(i64::from(q.limit));
    Ok(qb)
}

/// What the search index and the counters know of a stored customer.
#[derive(FromRow)]
struct Indexed {
    name: String,
    company_name: Option<String>,
    email_normalized: Option<String>,
    phone_e164: Option<String>,
    customer_type: String,
    status: String,
    lifecycle_stage: String,
    total_revenue: i64,
    deleted_at: Option<Ts>,
    merged_into_customer_id: Option<Uuid>,
}

impl Indexed {
    /// What the matching keys are made of (`identity::matching_keys`).
    fn identity(&self) -> (&str, Option<&str>, Option<&str>, bool) {
        (&self.name, self.email_normalized.as_deref(), self.phone_e164.as_deref(), self.deleted_at.is_none())
    }

    fn of(c: &CustomerRow) -> Self {
        let d = &c.data;
        Self {
            name: d.name.clone(),
            company_name: d.company_name.clone(),
            email_normalized: d.email.as_ref().map(|e| e.normalized().to_string()),
            phone_e164: d.phone.as_ref().map(|p| p.e164().to_string()),
            customer_type: d.customer_type.as_str().to_string(),
            status: d.status.as_str().to_string(),
            lifecycle_stage: d.lifecycle_stage.as_str().to_string(),
            total_revenue: c.derived.total_revenue,
            deleted_at: ts(c.deleted_at),
            merged_into_customer_id: c.merged_into_customer_id,
        }
    }

    /// The search document of a live customer; a deleted one has none.
    fn document(&self) -> Option<Document> {
        self.deleted_at.is_none().then(|| {
            Document::new(
                &self.name,
                self.company_name.as_deref(),
                self.email_normalized.as_deref(),
                self.phone_e164.as_deref(),
            )
        })
    }

    fn counter_row(&self) -> CounterRow<'_> {
        CounterRow {
            live: self.deleted_at.is_none(),
            customer_type: &self.customer_type,
            status: &self.status,
            lifecycle_stage: &self.lifecycle_stage,
            total_revenue: self.total_revenue,
        }
    }
}

/// Keeps the search document equal to the record's (live customers only; rewritten only
/// when a searched field changed) and adds the record's change to the tenant's counters.
async fn write_search_and_counters(tx: &mut SqlTx, before: Option<&Indexed>, c: &CustomerRow) -> StoreResult<()> {
    let after = Indexed::of(c);
    let (old_doc, new_doc) = (before.and_then(Indexed::document), after.document());
    if old_doc != new_doc {
        match &new_doc {
            Some(d) => dialect::write_search(&mut tx.tx, tx.tenant, c.id, d).await?,
            // A customer deleted, or merged away, is no longer found.
            None => {
                sqlx::query("DELETE FROM customer_search WHERE tenant_id = $1 AND customer_id = $2")
                    .bind(tx.tenant)
                    .bind(c.id)
                    .execute(&mut *tx.tx)
                    .await
                    .map_err(map_err)?;
            }
        }
    }
    stats::add_delta(&mut tx.counter_deltas, before.map(Indexed::counter_row).as_ref(), Some(&after.counter_row()));
    // Engagement counts live customers only: deleting drops it, restoring brings it back.
    if let Some(b) = before {
        if b.deleted_at.is_none() != after.deleted_at.is_none() {
            super::conversations::refresh_engagement(tx, &[c.id]).await?;
        }
    }
    Ok(())
}

/// Adds the counter changes of the transaction to the tenant's counters. It runs just
/// before commit, so the counter rows (which every write of a tenant updates) stay locked
/// only for the commit itself, taken in one order by every transaction.
pub(super) async fn flush_counters(tx: &mut SqlTx) -> StoreResult<()> {
    let deltas: Vec<(String, i64)> = std::mem::take(&mut tx.counter_deltas).into_iter().collect();
    if deltas.is_empty() {
        return Ok(());
    }
    let sql = counters_sql(deltas.len());
    bind_counters(sqlx::query(&sql), tx.tenant, &deltas).execute(&mut *tx.tx).await.map_err(map_err)?;
    Ok(())
}

/// Adds `rows` deltas to the tenant's counters.
pub(super) fn counters_sql(rows: usize) -> String {
    format!(
        "INSERT INTO tenant_stats (tenant_id, stat_key, value) VALUES {} \
         ON CONFLICT (tenant_id, stat_key) DO UPDATE SET value = tenant_stats.value + excluded.value",
        values_rows(rows, 3)
    )
}

pub(super) fn bind_counters<'q>(mut q: Query<'q>, tenant: Uuid, deltas: &'q [(String, i64)]) -> Query<'q> {
    for (key, delta) in deltas {
        q = q.bind(tenant).bind(key).bind(*delta);
    }
    q
}

/// The tenant's stored counters.
pub(super) async fn counters(tx: &mut SqlTx) -> StoreResult<Vec<(String, i64)>> {
    sqlx::query_as("SELECT stat_key, value FROM tenant_stats WHERE tenant_id = $1 AND stat_key <> $2 ORDER BY stat_key")
        .bind(tx.tenant)
        .bind(stats::ENGAGEMENT_CHANGES)
        .fetch_all(&mut *tx.tx)
        .await
        .map_err(map_err)
}

/// One of the tenant's counters: zero when never written.
pub(super) async fn counter(tx: &mut SqlTx, key: &str) -> StoreResult<i64> {
    let v: Option<i64> = sqlx::query_scalar("SELECT value FROM tenant_stats WHERE tenant_id = $1 AND stat_key = $2")
        .bind(tx.tenant)
        .bind(key)
        .fetch_optional(&mut *tx.tx)
        .await
        .map_err(map_err)?;
    Ok(v.unwrap_or(0))
}

/// The counters counted afresh from the customers themselves: a scan of the tenant, for
/// rebuilding and checking, never for answering a request.
pub(super) async fn count_afresh(tx: &mut SqlTx) -> StoreResult<Vec<(String, i64)>> {
    let groups: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT customer_type, status, lifecycle_stage, COUNT(*), CAST(COALESCE(SUM(total_revenue), 0) AS BIGINT) \
         FROM customers WHERE tenant_id = $1 AND deleted_at IS NULL GROUP BY customer_type, status, lifecycle_stage",
    )
    .bind(tx.tenant)
    .fetch_all(&mut *tx.tx)
    .await
    .map_err(map_err)?;
    let mut totals = std::collections::BTreeMap::<String, i64>::new();
    for (customer_type, status, lifecycle_stage, n, revenue) in &groups {
        let row = CounterRow { live: true, customer_type, status, lifecycle_stage, total_revenue: *revenue };
        for (k, v) in row.counters() {
            // The revenue is already the group's sum; every other counter counts customers.
            *totals.entry(k.clone()).or_default() += if k == stats::TOTAL_REVENUE { v } else { *n };
        }
    }
    totals.retain(|_, v| *v != 0);
    Ok(totals.into_iter().collect())
}

/// Rewrites the tenant's search documents, matching keys and counters from its customers
/// (after a migration that changed how they are made, or to repair them).
pub(super) async fn rebuild_index(tx: &mut SqlTx) -> StoreResult<()> {
    tx.counter_deltas.retain(|k, _| k == stats::ENGAGEMENT_CHANGES);
    sqlx::query("DELETE FROM customer_search WHERE tenant_id = $1")
        .bind(tx.tenant)
        .execute(&mut *tx.tx)
        .await
        .map_err(map_err)?;
    let mut after = Uuid::nil();
    loop {
        let page: Vec<CustomerRecord> = sqlx::query_as(
            "SELECT * FROM customers WHERE tenant_id = $1 AND deleted_at IS NULL AND id > $2 ORDER BY id LIMIT 500",
        )
        .bind(tx.tenant)
        .bind(after)
        .fetch_all(&mut *tx.tx)
        .await
        .map_err(map_err)?;
        let Some(last) = page.last().map(|r| r.id) else { break };
        let mut docs = Vec::with_capacity(page.len());
        for r in page {
            let c = CustomerRow::try_from(r)?;
            docs.extend(Indexed::of(&c).document().map(|d| (c.id, d)));
            matching_keys::rewrite_keys(tx, &c).await?;
        }
        dialect::insert_search(&mut tx.tx, tx.tenant, &docs).await?;
        after = last;
    }
    let fresh = count_afresh(tx).await?;
    sqlx::query("DELETE FROM tenant_stats WHERE tenant_id = $1 AND stat_key <> $2")
        .bind(tx.tenant)
        .bind(stats::ENGAGEMENT_CHANGES)
        .execute(&mut *tx.tx)
        .await
        .map_err(map_err)?;
    tx.counter_deltas.extend(fresh);
    Ok(())
}

/// What ranking a search candidate needs: from its search document where the dialect's
/// look-ups hold it (already folded), else from its customer row.
#[derive(FromRow)]
struct HitRecord {
    id: Uuid,
    name: String,
    company: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

impl HitRecord {
    /// The candidates of a look-up answered as one row (`dialect::HITS_IN_ONE_ROW`): a JSON
    /// array of `[id in hex, name, company, email, phone]`.
    fn from_json(json: &str) -> StoreResult<Vec<Self>> {
        type Hit = (String, String, Option<String>, Option<String>, Option<String>);
        super::json_rows::<Hit>(json)?
            .into_iter()
            .map(|(id, name, company, email, phone)| {
                Ok(HitRecord { id: super::uuid_of_hex(&id)?, name, company, email, phone })
            })
            .collect()
    }

    fn hit(self) -> SearchHit {
        let document = if dialect::SEARCH_PLANS_HOLD_DOCUMENTS {
            Document {
                name: self.name,
                company: self.company.unwrap_or_default(),
                email: self.email.unwrap_or_default(),
                phone: self.phone.unwrap_or_default(),
                alt: String::new(),
            }
        } else {
            Document::for_ranking(&self.name, self.company.as_deref(), self.email.as_deref(), self.phone.as_deref())
        };
        SearchHit { id: self.id, document }
    }
}

/// The candidates of a search: each look-up the dialect plans, in turn, with the filters
/// of `q`, until `limit` distinct customers are found (or a loose look-up is not needed).
/// Without filters, where the look-ups hold the documents, no customer row is read.
pub(super) async fn search(
    tx: &mut SqlTx,
    q: &CustomerQuery,
    s: &rapport_core::search::Query,
    limit: u32,
) -> StoreResult<Vec<SearchHit>> {
    let mut sub = q.clone();
    // Deleted customers have no search document.
    sub.include_deleted = false;
    let unfiltered = sub
        == CustomerQuery {
            limit: sub.limit,
            q: sub.q.clone(),
            after: sub.after.clone(),
            sort: sub.sort,
            ..CustomerQuery::default()
        };
    let mut out: Vec<SearchHit> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for plan in dialect::search_plans(s) {
        let want = (limit as usize).saturating_sub(out.len());
        if want == 0 || plan.below().is_some_and(|n| out.len() >= n) {
            break;
        }
        sub.limit = want as u32;
        dialect::before_plan(&mut tx.tx, &plan).await?;
        let started = std::time::Instant::now();
        let hits: Vec<HitRecord> = match dialect::HITS_IN_ONE_ROW {
            // Without filters, where the look-ups hold the documents (SQLite), the look-up
            // alone, its candidates in one row.
            Some((open, close)) if unfiltered && dialect::SEARCH_PLANS_HOLD_DOCUMENTS => {
                let mut qb = QueryBuilder::<Db>::new(open);
                plan_alone(&mut qb, tx.tenant, &plan, sub.limit);
                qb.push(close);
                let (json,): (String,) = qb.build_query_as().fetch_one(&mut *tx.tx).await.map_err(map_err)?;
                HitRecord::from_json(&json)?
            }
            _ => list_sql(tx.tenant, &sub, Some(&plan), dialect::SEARCH_HIT_COLUMNS)?
                .build_query_as()
                .fetch_all(&mut *tx.tx)
                .await
                .map_err(map_err)?,
        };
        tracing::debug!(?plan, found = hits.len(), elapsed = ?started.elapsed(), "search look-up");
        let settled = plan.settles() && !hits.is_empty();
        out.extend(hits.into_iter().filter(|h| seen.insert(h.id)).map(HitRecord::hit));
        if settled {
            break;
        }
    }
    Ok(out)
}

/// Pushes a look-up's candidates without the customers' rows, in the order `list_sql` gives
/// them.
fn plan_alone(qb: &mut QueryBuilder<'_, Db>, tenant: Uuid, plan: &dialect::SearchPlan, limit: u32) {
    qb.push(format!("SELECT {} FROM ", dialect::SEARCH_HIT_COLUMNS));
    dialect::push_search_plan(qb, tenant, plan);
    if plan.ranked() {
        qb.push(" ORDER BY s.score, s.customer_id");
    }
    qb.push(" LIMIT ").push_bind(i64::from(limit));
}

/// These customers of the tenant (deleted ones too), in no particular order: through the
/// row cache in a read-only transaction.
pub(super) async fn get_many(tx: &mut SqlTx, ids: &[Uuid]) -> StoreResult<Vec<CustomerRow>> {
    let mut out = Vec::with_capacity(ids.len());
    // Any number of ids (a large import's revert reads all its customers): a statement
    // holds at most `MAX_BINDS` values.
    for chunk in ids.chunks(MAX_BINDS - 1) {
        let Some(cache) = tx.row_cache.clone() else {
            out.extend(read_many(tx, chunk).await?);
            continue;
        };
        // The customers kept at some version are checked for their version first; the
        // others are read whole at once (one statement instead of two).
        let (held, unknown): (Vec<Uuid>, Vec<Uuid>) = chunk.iter().partition(|id| cache.holds(tx.tenant, **id));
        if !held.is_empty() {
            let page: Vec<(Uuid, i64)> = by_ids(tx.tenant, "id, version", &held)
                .build_query_as()
                .persistent(keep_prepared(held.len() + 1))
                .fetch_all(&mut *tx.tx)
                .await
                .map_err(map_err)?;
            out.extend(through_cache(tx, &cache, &page).await?);
        }
        if !unknown.is_empty() {
            let read = read_many(tx, &unknown).await?;
            for c in &read {
                cache.put(std::sync::Arc::new(c.clone()));
            }
            out.extend(read);
        }
    }
    Ok(out)
}

/// These customers of the tenant read whole from the database.
async fn read_many(tx: &mut SqlTx, ids: &[Uuid]) -> StoreResult<Vec<CustomerRow>> {
    let rs: Vec<CustomerRecord> = by_ids(tx.tenant, "*", ids)
        .build_query_as()
        .persistent(keep_prepared(ids.len() + 1))
        .fetch_all(&mut *tx.tx)
        .await
        .map_err(map_err)?;
    rs.into_iter().map(CustomerRow::try_from).collect()
}

/// `SELECT columns FROM customers` of these ids of the tenant.
pub(super) fn by_ids<'a>(tenant: Uuid, columns: &str, ids: &[Uuid]) -> QueryBuilder<'a, Db> {
    by_ids_from("customers", tenant, columns, ids)
}

/// The same from `table`: the customers table, or one of its indexes named for SQLite
/// (`customers INDEXED BY …`).
pub(super) fn by_ids_from<'a>(table: &str, tenant: Uuid, columns: &str, ids: &[Uuid]) -> QueryBuilder<'a, Db> {
    let mut qb = QueryBuilder::<Db>::new(format!("SELECT {columns} FROM {table} WHERE tenant_id = "));
    qb.push_bind(tenant).push(" AND id IN (");
    let mut sep = qb.separated(", ");
    for id in ids {
        sep.push_bind(*id);
    }
    qb.push(")");
    qb
}

/// `columns` of those of these customers that are live, from `table` (the customers table
/// or an index of it), in statements of at most `MAX_BINDS` values.
pub(super) async fn live_by_ids<T>(tx: &mut SqlTx, table: &str, columns: &str, ids: &[Uuid]) -> StoreResult<Vec<T>>
where
    T: for<'r> FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin,
{
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(MAX_BINDS - 1) {
        let mut qb = by_ids_from(table, tx.tenant, columns, chunk);
        qb.push(" AND deleted_at IS NULL");
        let rows: Vec<T> = qb
            .build_query_as()
            .persistent(keep_prepared(chunk.len() + 1))
            .fetch_all(&mut *tx.tx)
            .await
            .map_err(map_err)?;
        out.extend(rows);
    }
    Ok(out)
}
