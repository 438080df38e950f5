//! What SQLite does its own way: times as integer microseconds, no identity locks (the
//! single writer connection already serializes every write transaction), and search
//! through an FTS5 trigram index.

use rapport_core::search::{Document, Query, WordVariants, LOOSE_BELOW};
use rapport_store::{StoreError, StoreResult};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, QueryBuilder, Type};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::sql::{map_err, Ts};

/// An anonymous placeholder: values are bound in order (see `sql::values_rows`).
pub fn push_placeholder(s: &mut String, _n: usize) {
    s.push('?');
}

pub type Db = sqlx::Sqlite;

/// Several statements may go to SQLite as one command (`sql::audit::flush_at_commit`): the
/// driver runs them in order and numbers the anonymous placeholders of each after the last
/// one's.
pub const STATEMENTS_IN_ONE_COMMAND: bool = true;

fn micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1000) as i64
}

impl Type<Db> for Ts {
    fn type_info() -> SqliteTypeInfo {
        <i64 as Type<Db>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <i64 as Type<Db>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Db> for Ts {
    fn encode_by_ref(&self, buf: &mut Vec<SqliteArgumentValue<'q>>) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<'q, Db>>::encode(micros(self.0), buf)
    }
}

impl<'r> Decode<'r, Db> for Ts {
    fn decode(v: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let m = <i64 as Decode<'r, Db>>::decode(v)?;
        Ok(Ts(OffsetDateTime::from_unix_timestamp_nanos(i128::from(m) * 1000)?))
    }
}

/// The UTC day (days since 1970-01-01) of a conversation's activity, as SQL over its row.
pub const ACTIVITY_DAY: &str = "COALESCE(started_at, created_at) / 86400000000";

/// `instr(haystack, needle)`: where `needle` begins in `haystack` (1-based), 0 when absent.
pub const POSITION: &str = "instr";

/// The customers table as the look-up of live customers' names reads it: from their index
/// (`customers_live_names_idx`), which the planner might pass over for the primary key,
/// the table itself, whose rows are a hundred times wider.
pub const LIVE_NAMES: &str = "customers INDEXED BY customers_live_names_idx";

pub async fn lock_identity(_tx: &mut super::sql::Conn, _keys: &[String]) -> StoreResult<()> {
    Ok::<(), StoreError>(())
}

/// For each key of each set, the newest `per_key` customers holding it, as `(set index,
/// customer_id)`, in one statement: the keys go in as one JSON array, and for each the
/// `per_key`-th newest holder bounds the seek of its holders (SQLite has no lateral join to
/// put a limit on each). One statement per key spent more in the driver than in SQLite, and
/// a union of a branch per key more in parsing it.
pub async fn key_hits(
    tx: &mut super::sql::Conn,
    tenant: Uuid,
    sets: &[Vec<(&'static str, String)>],
    per_key: i64,
    except: &std::collections::HashSet<Uuid>,
) -> StoreResult<Vec<(usize, Uuid)>> {
    let mut keys = Vec::new();
    let mut set_of = Vec::new();
    for (i, set) in sets.iter().enumerate() {
        for (kind, value) in set {
            keys.push([*kind, value.as_str()]);
            set_of.push(i);
        }
    }
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let keys = serde_json::to_string(&keys).map_err(|e| StoreError::Other(e.to_string()))?;
    let except: Vec<String> = except.iter().map(|id| id.simple().to_string()).collect();
    let except = serde_json::to_string(&except).map_err(|e| StoreError::Other(e.to_string()))?;
    // The hits come back as one row (a JSON array of `[key number, customer id in hex]`):
    // an import's chunk finds tens of thousands, each a message from SQLite's thread when
    // passed as rows. The customers left out (?4, ids in hex) are left out before each
    // key's limit, so they take no holder's place.
    let (hits,): (String,) = sqlx::query_as(
        "WITH q AS MATERIALIZED (SELECT j.key AS n, j.value ->> 0 AS kind, j.value ->> 1 AS value, \
         (SELECT b.customer_id FROM customer_matching_keys b WHERE b.tenant_id = ?1 AND b.key_type = j.value ->> 0 \
         AND b.key_value = j.value ->> 1 AND b.customer_id NOT IN (SELECT unhex(e.value) FROM json_each(?4) e) \
         ORDER BY b.customer_id DESC LIMIT 1 OFFSET ?3 - 1) AS lowest \
         FROM json_each(?2) j) \
         SELECT json_group_array(json_array(q.n, hex(k.customer_id))) FROM q JOIN customer_matching_keys k \
         ON k.tenant_id = ?1 AND k.key_type = q.kind AND k.key_value = q.value AND k.customer_id >= COALESCE(q.lowest, x'') \
         AND k.customer_id NOT IN (SELECT unhex(e.value) FROM json_each(?4) e)",
    )
    .bind(tenant)
    .bind(keys)
    .bind(per_key)
    .bind(except)
    .fetch_one(&mut **tx)
    .await
    .map_err(map_err)?;
    crate::sql::json_rows::<(usize, String)>(&hits)?
        .into_iter()
        .map(|(n, id)| Ok((set_of[n], crate::sql::uuid_of_hex(&id)?)))
        .collect()
}

// ---- Search: FTS5 ----------------------------------------------------------------------------
//
// `customer_search` holds one document per live customer (what ranking reads); the FTS5
// index `customer_search_terms` holds its terms, each spelled with the tenant's number so
// that a term's list of documents is that tenant's alone (migration 0020): trigrams of the
// words of name and company (`12gmar`), trigrams of the phone digits (`12p555`), and whole
// tokens of name, company and their sorted-letters and phonetic keys (`12kmaria`). Rapport
// writes the terms with the documents (`terms_of`); a document's delete removes them (a
// trigger). Row ids are `tenant_no << 32 | n` (`search_tenants` numbers the tenants), so a
// tenant's documents are also one range of row ids, which every look-up names as well.

/// What a term of the index stands for: the letter after the tenant's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Term {
    /// A trigram of a word of the name or company.
    NameGram,
    /// A trigram of the phone digits.
    PhoneGram,
    /// A whole token of name, company or their keys.
    Key,
}

impl Term {
    fn letter(self) -> char {
        match self {
            Term::NameGram => 'g',
            Term::PhoneGram => 'p',
            Term::Key => 'k',
        }
    }
}

/// Where a look-up's terms hold the tenant's number: replaced in SQL by the tenant's
/// `tenant_no` (never in a term: terms are letters and digits).
const TENANT_MARK: char = '$';

/// The trigrams of each token of `s`, in order (tokens of fewer than three characters have
/// none).
fn trigrams(s: &str) -> impl Iterator<Item = String> + '_ {
    rapport_core::search::tokens(s).flat_map(|t| {
        let chars: Vec<char> = t.chars().collect();
        chars.windows(3).map(|w| w.iter().collect::<String>()).collect::<Vec<_>>()
    })
}

/// The terms of a document of tenant `tenant_no`, space-separated, each once: what
/// `customer_search_terms` indexes of it.
pub fn terms_of(tenant_no: i64, d: &Document) -> String {
    let spell = |kind: Term, text: String| format!("{tenant_no}{}{text}", kind.letter());
    let mut terms: Vec<String> = trigrams(&d.name)
        .chain(trigrams(&d.company))
        .map(|g| spell(Term::NameGram, g))
        .chain(trigrams(&d.phone).map(|g| spell(Term::PhoneGram, g)))
        .chain(d.key_tokens().into_iter().map(|k| spell(Term::Key, k)))
        .collect();
    terms.sort_unstable();
    terms.dedup();
    terms.join(" ")
}

/// One look-up of search candidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchPlan {
    /// An FTS5 query over the tenant's terms (`TENANT_MARK` for its number), run only while
    /// fewer than `below` candidates are found (when given); with `digits`, only documents
    /// whose phone holds one of them (the trigrams of digits match apart: "5555" is only
    /// "555"), checked before the candidate cap, not after it by ranking.
    Fts { query: String, below: Option<usize>, digits: Vec<String> },
    /// Names with a word beginning with these two characters, from the matching keys (too
    /// short for trigrams).
    NamePrefix(String),
    /// Customers whose phone is this one (E.164), from the phone index.
    Phone(String),
    /// Customers whose email begins with `prefix` (lowercase), from the email index: the
    /// customers an email scores for (ranking credits the beginning of an email only). With
    /// `settles`, what it finds is the answer: the later look-ups run only when it finds
    /// nobody.
    EmailPrefix { prefix: String, settles: bool },
}

impl SearchPlan {
    /// Whether candidates come ordered by `s.score`. FTS5's bm25 costs more than it gives
    /// here: the plans below go from exact to loose instead.
    pub fn ranked(&self) -> bool {
        false
    }

    /// Run this look-up only while fewer candidates than this were found.
    pub fn below(&self) -> Option<usize> {
        match self {
            SearchPlan::Fts { below, .. } => *below,
            SearchPlan::NamePrefix(_) | SearchPlan::Phone(_) | SearchPlan::EmailPrefix { .. } => None,
        }
    }

    /// Whether candidates found by this look-up end the search (no later look-up runs).
    pub fn settles(&self) -> bool {
        matches!(self, SearchPlan::EmailPrefix { settles: true, .. })
    }
}

/// A term of the tenant's, as an FTS5 query (the text is letters and digits; quoted anyway).
fn term(kind: Term, text: &str) -> String {
    format!("\"{TENANT_MARK}{}{}\"", kind.letter(), text.replace('"', "\"\""))
}

/// Every term of `kind` for `text`, all required: its trigrams, or its whole tokens.
fn all_terms(kind: Term, text: &str) -> String {
    let mut t: Vec<String> = match kind {
        Term::Key => rapport_core::search::tokens(text).map(|k| term(kind, k)).collect(),
        Term::NameGram | Term::PhoneGram => trigrams(text).map(|g| term(kind, &g)).collect(),
    };
    t.sort_unstable();
    t.dedup();
    match t.len() {
        // Too short for a trigram (or no token at all): nobody's term.
        0 => term(kind, ""),
        1 => t.remove(0),
        _ => format!("({})", t.join(" AND ")),
    }
}

/// Documents holding `s` in their name or company, as near as trigrams tell: every trigram
/// of it (ranking then drops what only looks alike). The index keeps no positions, so there
/// are no phrases of several trigrams; nor would they pay (a phrase nobody has cost 1.3 ms
/// at a million customers against 0.02 ms for two of its trigrams; measured, not traced).
fn trigrams_of(s: &str) -> String {
    all_terms(Term::NameGram, s)
}

/// Every word must appear, in any of the ways `alts` gives.
fn all_words(words: &[WordVariants], alts: impl Fn(&WordVariants) -> Vec<String>) -> String {
    words.iter().map(|w| format!("({})", alts(w).join(" OR "))).collect::<Vec<_>>().join(" AND ")
}

/// A word, or its letters in another order, as whole tokens.
fn key_alts(w: &WordVariants) -> Vec<String> {
    let mut a = vec![all_terms(Term::Key, &w.word)];
    a.extend(w.sorted.iter().filter(|s| **s != w.word).map(|s| all_terms(Term::Key, s)));
    a
}

/// The look-ups of a search, in order (the store drops what an earlier one found; "while
/// few" means while fewer than `LOOSE_BELOW` were found):
/// 1. with an email literal (a query without spaces holding `@`, dots or other punctuation):
///    the emails beginning with it, then its words as names (below); but for an address
///    (`@`, dots, `_` or `+`) of one word long enough to look up (`Query::address_settles`)
///    its words only when nobody's email begins with it. Its word alone (a first name) found
///    hundreds of namesakes, 300 of them read and ranked below the address's holders, and
///    dropped (half a search's time at full size), while "Mary-Jane" is a name first,
///    whoever's email begins with it, and "ann.lee" finds Ann Lee by both words;
/// 2. every word, or its letters in another order (transpositions), as whole tokens, or the
///    words run together (a space typed in the wrong place); a single word, then, may be the
///    beginning of an email;
/// 3. while few, every word or (a long word) one of its halves or ends as a substring (one
///    typo in a long word leaves one part intact), in one look-up; with an email literal,
///    only when a word has halves, and after 4;
/// 4. while few, also words that sound alike.
///
/// Emails come from the documents' email index, not as substrings from trigrams: ranking credits
/// the beginning of an email only, and a common first name (the beginning of an email typed)
/// is in thousands of documents' trigrams (1.0 ms a look-up at full size against a range
/// of one index).
///
/// A phone number is looked up among the phone digits only; a whole number first exactly,
/// in the phone index, and as digits only when nobody has it.
pub fn search_plans(q: &Query) -> Vec<SearchPlan> {
    let fts = |query, below| SearchPlan::Fts { query, below, digits: Vec::new() };
    if !q.phones.is_empty() {
        let query = q.phones.iter().map(|p| all_terms(Term::PhoneGram, p)).collect::<Vec<_>>().join(" OR ");
        let digits = |below| SearchPlan::Fts { query, below, digits: q.phones.clone() };
        // A whole number is looked up exactly; its digits inside other numbers only when
        // nobody has it (digit trigrams are in most documents).
        return match &q.phone_e164 {
            Some(e164) => vec![SearchPlan::Phone(e164.clone()), digits(Some(1))],
            None => vec![digits(None)],
        };
    }
    let literal =
        q.email_literal().map(|e| SearchPlan::EmailPrefix { prefix: e.to_string(), settles: q.address_settles() });
    let words = q.index_words();
    if words.is_empty() {
        let mut plans: Vec<SearchPlan> = literal.into_iter().collect();
        plans.extend(q.short_words().first().map(|w| SearchPlan::NamePrefix(w.to_string())));
        return plans;
    }
    let mut typos = all_words(&words, key_alts);
    if let Some(c) = q.compact() {
        // The name with a space typed one letter off ("PedroR ossi").
        typos = format!("({typos}) OR {}", all_terms(Term::Key, &c));
    }
    // Every word as a substring, or (a long word) one of its halves: one typo in a long
    // word leaves one half intact. A word's halves stand for the word itself: each half's
    // trigrams are some of the word's, so whoever holds the word holds both halves, and
    // looking the word up beside them finds nobody more (it cost 0.1 ms a look-up at a
    // million customers, measured).
    let substrings = |halves: bool| {
        all_words(&words, |w| {
            if halves && !w.halves.is_empty() {
                w.halves.iter().map(|h| trigrams_of(h)).collect()
            } else {
                vec![trigrams_of(&w.word)]
            }
        })
    };
    let has_halves = words.iter().any(|w| !w.halves.is_empty());
    let sounds = words.iter().any(|w| w.phonetic.is_some()).then(|| {
        let q = all_words(&words, |w| {
            let mut a = key_alts(w);
            a.extend(w.phonetic.iter().map(|p| all_terms(Term::Key, p)));
            a
        });
        fts(q, Some(LOOSE_BELOW))
    });
    let mut plans = Vec::new();
    match literal {
        // An email as typed: its holders, then its pieces as names; those of an address of
        // one word only when nobody holds it.
        Some(e) => {
            plans.push(e);
            plans.push(fts(typos, None));
            plans.extend(sounds);
            if has_halves {
                plans.push(fts(substrings(true), Some(LOOSE_BELOW)));
            }
        }
        // Whole words first; words as substrings (beginnings) only while those are few. A
        // common name as a substring is thousands of documents (2.2 ms for "maria garcia"
        // at 200,000 customers against 0.5 ms for its words, before the terms were the
        // tenant's), and when they passed the candidate cap they were the first 300 in the
        // tenant's order, not the whole-word matches.
        None => {
            plans.push(fts(typos, None));
            plans.extend(q.email.as_ref().map(|e| SearchPlan::EmailPrefix { prefix: e.clone(), settles: false }));
            plans.push(fts(substrings(has_halves), Some(LOOSE_BELOW)));
            plans.extend(sounds);
        }
    }
    plans
}

/// What every look-up answers of a candidate: its id and its search document, which holds
/// the fields ranking reads already folded (`Document::for_ranking`).
const SEARCH_DOCUMENT: &str =
    "d.customer_id AS customer_id, d.name AS name, d.company AS company, d.email AS email, d.phone AS phone";

/// A look-up without filters answers its candidates as one row, a JSON array, around the
/// look-up's statement: each row passed on its own from SQLite's thread to the request
/// costs the request a wake-up when the look-up finds rows slower than they are read.
pub const HITS_IN_ONE_ROW: Option<(&str, &str)> =
    Some(("SELECT json_group_array(json_array(hex(id), name, company, email, phone)) FROM (", ")"));

/// The look-ups answer the candidates' documents: a search without filters needs no
/// customer rows (a deleted or merged customer has no document).
pub const SEARCH_PLANS_HOLD_DOCUMENTS: bool = true;

/// The columns of a search candidate (`id, name, company, email, phone`) over the look-up
/// `s` and the customers `c`.
pub const SEARCH_HIT_COLUMNS: &str = "s.customer_id AS id, s.name, s.company, s.email, s.phone";

/// Pushes the candidates of `plan` as `(…) s` with the columns `customer_id`, `name`,
/// `company`, `email` and `phone` (the customer's search document).
pub fn push_search_plan(qb: &mut QueryBuilder<'_, Db>, tenant: Uuid, plan: &SearchPlan) {
    match plan {
        SearchPlan::Fts { query, digits, .. } => {
            // The tenant's number goes into its terms; a tenant without documents has none
            // (0 numbers nobody). The range of its row ids holds the look-up to the tenant
            // whatever the terms say.
            qb.push(format!(
                "(SELECT {SEARCH_DOCUMENT} FROM customer_search_terms CROSS JOIN customer_search d \
                 WHERE customer_search_terms MATCH replace("
            ))
            .push_bind(query.clone())
            .push(format!(", '{TENANT_MARK}', COALESCE((SELECT tenant_no FROM search_tenants WHERE tenant_id = "))
            .push_bind(tenant)
            .push("), 0)) AND customer_search_terms.rowid BETWEEN (SELECT tenant_no * 4294967296 FROM search_tenants WHERE tenant_id = ")
            .push_bind(tenant)
            .push(") AND (SELECT tenant_no * 4294967296 + 4294967295 FROM search_tenants WHERE tenant_id = ")
            .push_bind(tenant)
            .push(") AND d.row_id = customer_search_terms.rowid");
            if !digits.is_empty() {
                qb.push(" AND (");
                for (i, d) in digits.iter().enumerate() {
                    qb.push(if i == 0 { "d.phone LIKE " } else { " OR d.phone LIKE " }).push_bind(format!("%{d}%"));
                }
                qb.push(")");
            }
            qb.push(") s");
        }
        SearchPlan::Phone(e164) => push_phone_plan(qb, tenant, e164),
        // The documents themselves, by their email index: one seek a customer instead of
        // the customers' email index and then the document's key.
        SearchPlan::EmailPrefix { prefix: e, .. } => {
            qb.push(format!("(SELECT {SEARCH_DOCUMENT} FROM customer_search d WHERE d.email <> '' AND d.tenant_id = "))
                .push_bind(tenant);
            push_beginning(qb, "d.email", e);
        }
        SearchPlan::NamePrefix(p) => {
            push_documents_of(qb, "customer_matching_keys x", "x.customer_id", tenant);
            qb.push(" AND x.key_type = 'name_token'");
            push_beginning(qb, "x.key_value", p);
        }
    }
}

/// Closes a look-up of the values of `column` that begin with `prefix` (a range of the
/// column's index).
fn push_beginning(qb: &mut QueryBuilder<'_, Db>, column: &str, prefix: &str) {
    qb.push(format!(" AND {column} >= "))
        .push_bind(prefix.to_string())
        .push(format!(" AND {column} < "))
        .push_bind(format!("{prefix}\u{10FFFF}"))
        .push(") s");
}

/// The customers of the tenant with this phone (E.164), from the phone index.
fn push_phone_plan(qb: &mut QueryBuilder<'_, Db>, tenant: Uuid, e164: &str) {
    push_documents_of(qb, "customers x", "x.id", tenant);
    qb.push(" AND x.phone_e164 = ").push_bind(e164.to_string()).push(") s");
}

/// Opens `(SELECT` the documents of the customers `customer` of the rows `x` of `table` of
/// the tenant; the caller adds its conditions on `x` and closes the look-up.
fn push_documents_of(qb: &mut QueryBuilder<'_, Db>, table: &str, customer: &str, tenant: Uuid) {
    qb.push(format!(
        "(SELECT {SEARCH_DOCUMENT} FROM {table} CROSS JOIN customer_search d \
         WHERE d.tenant_id = x.tenant_id AND d.customer_id = {customer} AND x.tenant_id = "
    ))
    .push_bind(tenant);
}

/// Nothing to set up on SQLite.
pub async fn before_plan(_tx: &mut super::sql::Conn, _plan: &SearchPlan) -> StoreResult<()> {
    Ok(())
}

/// Writes a customer's search document and its terms.
pub async fn write_search(tx: &mut super::sql::Conn, tenant: Uuid, customer: Uuid, d: &Document) -> StoreResult<()> {
    let row_id: Option<i64> = sqlx::query_scalar(
        "UPDATE customer_search SET name = $3, company = $4, email = $5, phone = $6, alt = $7 \
         WHERE tenant_id = $1 AND customer_id = $2 RETURNING row_id",
    )
    .bind(tenant)
    .bind(customer)
    .bind(&d.name)
    .bind(&d.company)
    .bind(&d.email)
    .bind(&d.phone)
    .bind(&d.alt)
    .fetch_optional(&mut **tx)
    .await
    .map_err(map_err)?;
    let Some(row_id) = row_id else {
        return insert_search(tx, tenant, &[(customer, d.clone())]).await;
    };
    // A contentless index with deletes takes an update of every column as delete and insert.
    sqlx::query("UPDATE customer_search_terms SET terms = $1 WHERE rowid = $2")
        .bind(terms_of(row_id >> 32, d))
        .bind(row_id)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    Ok(())
}

/// Inserts the search documents of customers that have none yet, many to a statement, at
/// the next row ids of the tenant's range.
pub async fn insert_search(tx: &mut super::sql::Conn, tenant: Uuid, docs: &[(Uuid, Document)]) -> StoreResult<()> {
    if docs.is_empty() {
        return Ok(());
    }
    // The tenant's number (given at its first document) and its last row id, in one
    // command of two statements: one hand-off to the connection's thread.
    let last: i64 = sqlx::query_scalar(
        "INSERT OR IGNORE INTO search_tenants (tenant_id, tenant_no) \
         SELECT ?, COALESCE(MAX(tenant_no), 0) + 1 FROM search_tenants; \
         SELECT COALESCE((SELECT d.row_id FROM customer_search d \
                          WHERE d.row_id BETWEEN t.tenant_no * 4294967296 AND t.tenant_no * 4294967296 + 4294967295 \
                          ORDER BY d.row_id DESC LIMIT 1), t.tenant_no * 4294967296) \
         FROM search_tenants t WHERE t.tenant_id = ?",
    )
    .bind(tenant)
    .bind(tenant)
    .fetch_one(&mut **tx)
    .await
    .map_err(map_err)?;
    let mut next = last;
    for chunk in docs.chunks(crate::sql::MAX_BINDS / 8) {
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO customer_search (row_id, tenant_id, customer_id, name, company, email, phone, alt) ",
        );
        qb.push_values(chunk, |mut b, (customer, d)| {
            next += 1;
            b.push_bind(next)
                .push_bind(tenant)
                .push_bind(*customer)
                .push_bind(d.name.clone())
                .push_bind(d.company.clone())
                .push_bind(d.email.clone())
                .push_bind(d.phone.clone())
                .push_bind(d.alt.clone());
        });
        qb.build().persistent(crate::sql::keep_prepared(chunk.len() * 8)).execute(&mut **tx).await.map_err(map_err)?;
    }
    let rows = (last + 1..).zip(docs.iter().map(|(_, d)| d)).collect::<Vec<_>>();
    insert_terms(tx, &rows).await
}

/// Writes the terms of these documents (row id and document) into the index.
async fn insert_terms(conn: &mut sqlx::SqliteConnection, rows: &[(i64, &Document)]) -> StoreResult<()> {
    for chunk in rows.chunks(crate::sql::MAX_BINDS / 2) {
        let mut qb = QueryBuilder::<Db>::new("INSERT INTO customer_search_terms (rowid, terms) ");
        qb.push_values(chunk, |mut b, (row_id, d)| {
            b.push_bind(*row_id).push_bind(terms_of(row_id >> 32, d));
        });
        qb.build().persistent(crate::sql::keep_prepared(chunk.len() * 2)).execute(&mut *conn).await.map_err(map_err)?;
    }
    Ok(())
}

/// Writes the terms of every search document afresh, a batch of row ids to a transaction,
/// and merges the index: once, after migration 0020 created it empty.
pub async fn rebuild_search_terms(pool: &sqlx::Pool<Db>) -> StoreResult<()> {
    const BATCH: i64 = 5_000;
    // From nothing: a job cut short, or one after the `customer_index` job (which writes
    // terms with the documents), finds terms already there, and a row id takes one set.
    sqlx::query("INSERT INTO customer_search_terms (customer_search_terms) VALUES ('delete-all')")
        .execute(pool)
        .await
        .map_err(map_err)?;
    let mut after = i64::MIN;
    loop {
        let mut tx = pool.begin().await.map_err(map_err)?;
        let page: Vec<(i64, String, String, String, String)> = sqlx::query_as(
            "SELECT row_id, name, company, phone, alt FROM customer_search WHERE row_id > $1 ORDER BY row_id LIMIT $2",
        )
        .bind(after)
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        let Some(last) = page.last().map(|p| p.0) else { break };
        let docs: Vec<(i64, Document)> = page
            .into_iter()
            .map(|(row_id, name, company, phone, alt)| {
                (row_id, Document { name, company, email: String::new(), phone, alt })
            })
            .collect();
        insert_terms(&mut tx, &docs.iter().map(|(r, d)| (*r, d)).collect::<Vec<_>>()).await?;
        tx.commit().await.map_err(map_err)?;
        after = last;
    }
    // Written a batch at a time, the index is in as many segments: one, as a bulk load
    // leaves it (`Store::analyze`).
    sqlx::query("INSERT INTO customer_search_terms (customer_search_terms) VALUES ('optimize')")
        .execute(pool)
        .await
        .map_err(map_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rapport_core::search::sorted_key;

    #[test]
    fn a_documents_terms_are_its_tenants_trigrams_and_keys() {
        let d = Document::new("José O'Brien", Some("Acme"), Some("jose@acme.test"), Some("+15551234"));
        let terms = terms_of(12, &d);
        let t: Vec<&str> = terms.split(' ').collect();
        for want in
            ["12gjos", "12gose", "12gobr", "12gien", "12gacm", "12gcme", "12p155", "12p234", "12kjose", "12kobrien"]
        {
            assert!(t.contains(&want), "{want} in {terms}");
        }
        // No trigram across words, none of the email; the keys as whole tokens.
        assert!(!t.iter().any(|x| x.contains(' ') || x.starts_with("12gseo") || x.contains("test")), "{terms}");
        assert!(t.contains(&format!("12k{}", sorted_key("jose")).as_str()), "{terms}");
        // Each term is one token of the `ascii` tokenizer: letters and digits only, once.
        assert!(t.iter().all(|x| x.chars().all(char::is_alphanumeric)), "{terms}");
        let mut sorted = t.clone();
        sorted.dedup();
        assert_eq!(sorted.len(), t.len());
    }

    #[test]
    fn a_querys_terms_carry_the_tenant_mark() {
        assert_eq!(trigrams_of("smith"), "(\"$gith\" AND \"$gmit\" AND \"$gsmi\")");
        assert_eq!(trigrams_of("ann"), "\"$gann\"");
        // Too short for a trigram: a term nobody has.
        assert_eq!(trigrams_of("an"), "\"$g\"");
        assert_eq!(all_terms(Term::Key, "maria"), "\"$kmaria\"");
        assert_eq!(all_terms(Term::PhoneGram, "5551"), "(\"$p551\" AND \"$p555\")");
        let q = Query::parse("Jhon Smith", "US").unwrap();
        let plans = search_plans(&q);
        let SearchPlan::Fts { query, below: None, .. } = &plans[0] else { panic!("{plans:?}") };
        assert!(
            query.contains("\"$kjhon\"") && query.contains("\"$khjno\"") && query.contains("\"$ksmith\""),
            "{query}"
        );
        assert!(plans.iter().all(|p| !matches!(p, SearchPlan::Fts { query, .. } if !query.contains(TENANT_MARK))));
    }

    #[test]
    fn a_long_word_is_looked_up_by_its_halves_alone() {
        let q = Query::parse("Quarrngton Li", "US").unwrap();
        let substrings = search_plans(&q)
            .into_iter()
            .find_map(|p| match p {
                SearchPlan::Fts { query, .. } if query.contains("$g") => Some(query),
                _ => None,
            })
            .unwrap();
        // "quarrngton" halves into "quarr" and "ngton": their trigrams, not the word's.
        assert_eq!(substrings, "((\"$garr\" AND \"$gqua\" AND \"$guar\") OR (\"$ggto\" AND \"$gngt\" AND \"$gton\"))");
        let q = Query::parse("Ann", "US").unwrap();
        let plans = search_plans(&q);
        assert!(
            plans.iter().any(|p| matches!(p, SearchPlan::Fts { query, .. } if query == "(\"$gann\")")),
            "{plans:?}"
        );
    }
}
