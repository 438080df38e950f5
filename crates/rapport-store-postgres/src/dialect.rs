//! What PostgreSQL does its own way: native timestamps, advisory locks that serialize
//! writers deciding on the same identity keys, and search through pg_trgm.

use rapport_core::search::{Document, Query, WordVariants, LOOSE_BELOW};
use rapport_store::StoreResult;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, QueryBuilder, Type};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::sql::{map_err, Ts};

/// The `n`th placeholder.
pub fn push_placeholder(s: &mut String, n: usize) {
    s.push('$');
    s.push_str(&n.to_string());
}

pub type Db = sqlx::Postgres;

/// A statement with bound values is one command on PostgreSQL's extended protocol.
pub const STATEMENTS_IN_ONE_COMMAND: bool = false;

impl Type<Db> for Ts {
    fn type_info() -> PgTypeInfo {
        <OffsetDateTime as Type<Db>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <OffsetDateTime as Type<Db>>::compatible(ty)
    }
}

impl Encode<'_, Db> for Ts {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <OffsetDateTime as Encode<'_, Db>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Db> for Ts {
    fn decode(v: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Ts(<OffsetDateTime as Decode<'r, Db>>::decode(v)?))
    }
}

/// The UTC day (days since 1970-01-01) of a conversation's activity, as SQL over its row.
pub const ACTIVITY_DAY: &str = "CAST(floor(extract(epoch FROM COALESCE(started_at, created_at)) / 86400) AS BIGINT)";

/// `strpos(haystack, needle)`: where `needle` begins in `haystack` (1-based), 0 when absent.
pub const POSITION: &str = "strpos";

/// The customers table as the look-up of live customers' names reads it (the planner
/// picks `customers_live_names_idx` itself).
pub const LIVE_NAMES: &str = "customers";

/// Takes a transaction-scoped advisory lock per key, in sorted order so that two writers
/// never wait on each other in a cycle; all in one statement.
pub async fn lock_identity(tx: &mut super::sql::Conn, keys: &[String]) -> StoreResult<()> {
    if keys.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "SELECT pg_advisory_xact_lock(h) FROM (SELECT hashtextextended(k, 0) AS h FROM unnest($1::text[]) AS k \
         ORDER BY k) s",
    )
    .bind(keys)
    .execute(&mut **tx)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Keys one look-up statement takes at most.
const KEYS_PER_STATEMENT: usize = 20_000;

/// For each key of each set, the newest `per_key` customers holding it, as `(set index,
/// customer_id)`. The keys go in as three arrays and a lateral join seeks each one, so the
/// statement's text is always the same (a union of one branch per key took PostgreSQL most
/// of a second to plan).
pub async fn key_hits(
    tx: &mut super::sql::Conn,
    tenant: Uuid,
    sets: &[Vec<(&'static str, String)>],
    per_key: i64,
    except: &std::collections::HashSet<Uuid>,
) -> StoreResult<Vec<(usize, Uuid)>> {
    let except: Vec<Uuid> = except.iter().copied().collect();
    let (mut probes, mut kinds, mut values) = (Vec::new(), Vec::new(), Vec::new());
    for (i, keys) in sets.iter().enumerate() {
        for (kind, value) in keys {
            probes.push(i as i64);
            kinds.push(kind.to_string());
            values.push(value.clone());
        }
    }
    let mut out = Vec::with_capacity(probes.len());
    for at in (0..probes.len()).step_by(KEYS_PER_STATEMENT) {
        let to = (at + KEYS_PER_STATEMENT).min(probes.len());
        let hits: Vec<(i64, Uuid)> = sqlx::query_as(
            "SELECT q.probe, k.customer_id FROM unnest($1::bigint[], $2::text[], $3::text[]) AS q(probe, key_type, key_value) \
             CROSS JOIN LATERAL (SELECT k.customer_id FROM customer_matching_keys k WHERE k.tenant_id = $4 \
             AND k.key_type = q.key_type AND k.key_value = q.key_value \
             AND k.customer_id NOT IN (SELECT unnest($6::uuid[])) ORDER BY k.customer_id DESC LIMIT $5) k",
        )
        .bind(&probes[at..to])
        .bind(&kinds[at..to])
        .bind(&values[at..to])
        .bind(tenant)
        .bind(per_key)
        .bind(&except)
        .fetch_all(&mut **tx)
        .await
        .map_err(map_err)?;
        out.extend(hits.into_iter().map(|(p, id)| (p as usize, id)));
    }
    Ok(out)
}

// ---- Search: pg_trgm and full-text keys -----------------------------------------------------
//
// `customer_search` holds one document per live customer: `doc`, every field in one folded
// text (`Document::flat`) under a GIN trigram index, and `keys`, the whole tokens of name,
// company and their sorted-letters and phonetic keys (`Document::key_tokens`) as a tsvector
// under a GIN index. The look-ups mirror SQLite's (see its dialect): whole words from
// `keys` first, substrings (`LIKE`, which the trigram index answers by intersecting the
// pattern's trigrams) only while few were found, and last, while nothing was, the word
// similarity of pg_trgm (`%>`), which scores every document holding half of the query's
// trigrams and is the costly one: a common name's trigrams are in thousands of documents.

/// How much of the query's trigrams a document must hold for `%>` (pg_trgm's default is
/// 0.6).
const WORD_SIMILARITY_THRESHOLD: &str = "0.5";

/// PostgreSQL answers a look-up's candidates row by row (its look-ups never run alone:
/// `SEARCH_PLANS_HOLD_DOCUMENTS` is false).
pub const HITS_IN_ONE_ROW: Option<(&str, &str)> = None;

/// The look-ups answer ids alone: ranking reads the candidates' fields from their rows.
pub const SEARCH_PLANS_HOLD_DOCUMENTS: bool = false;

/// The columns of a search candidate (`id, name, company, email, phone`) over the look-up
/// `s` and the customers `c`.
pub const SEARCH_HIT_COLUMNS: &str =
    "c.id, c.name, c.company_name AS company, c.email_normalized AS email, c.phone_e164 AS phone";

/// One look-up of search candidates.
#[derive(Debug, Clone, PartialEq)]
pub enum SearchPlan {
    /// Documents whose `keys` answer a tsquery (whole tokens).
    Keys { query: String, below: Option<usize> },
    /// Documents holding every substring of one of the groups. With `settles`, what it finds
    /// is the answer: the later look-ups run only when it finds nobody.
    Like { any_of: Vec<Vec<String>>, below: Option<usize>, settles: bool },
    /// Documents resembling any of the weighted texts (word similarity), best first.
    Similar { terms: Vec<(String, f64)>, below: Option<usize> },
    /// Customers whose phone is this one (E.164), from the phone index.
    Phone(String),
}

impl SearchPlan {
    /// Whether candidates come ordered by `s.score` (lower is better).
    pub fn ranked(&self) -> bool {
        matches!(self, SearchPlan::Similar { .. })
    }

    /// Run this look-up only while fewer candidates than this were found.
    pub fn below(&self) -> Option<usize> {
        match self {
            SearchPlan::Keys { below, .. } | SearchPlan::Like { below, .. } | SearchPlan::Similar { below, .. } => {
                *below
            }
            SearchPlan::Phone(_) => None,
        }
    }

    /// Whether candidates found by this look-up end the search (no later look-up runs).
    pub fn settles(&self) -> bool {
        matches!(self, SearchPlan::Like { settles: true, .. })
    }
}

/// A tsquery lexeme: tokens are letters and digits only, so quoting is all it needs.
fn lexeme(t: &str) -> String {
    format!("'{}'", t.replace('\\', "\\\\").replace('\'', "''"))
}

/// A term as a tsquery: its tokens, all of them.
fn term_query(term: &str) -> Option<String> {
    let t: Vec<String> = rapport_core::search::tokens(term).map(lexeme).collect();
    match t.len() {
        0 => None,
        1 => t.into_iter().next(),
        _ => Some(format!("({})", t.join(" & "))),
    }
}

/// Every word must appear, in any of the ways `alts` gives.
fn all_words(words: &[WordVariants], alts: impl Fn(&WordVariants) -> Vec<String>) -> Option<String> {
    let mut out = Vec::new();
    for w in words {
        let any: Vec<String> = alts(w).iter().filter_map(|a| term_query(a)).collect();
        if any.is_empty() {
            return None;
        }
        out.push(format!("({})", any.join(" | ")));
    }
    (!out.is_empty()).then(|| out.join(" & "))
}

/// A word, or its letters in another order (transpositions).
fn key_alts(w: &WordVariants) -> Vec<String> {
    let mut a = vec![w.word.clone()];
    a.extend(w.sorted.iter().filter(|s| **s != w.word).cloned());
    a
}

/// `text` as a LIKE pattern matching itself alone.
fn escaped(text: &str) -> String {
    let mut p = String::new();
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p
}

/// `text` anywhere in a document, as a LIKE pattern.
fn substring(text: &str) -> String {
    format!("%{}%", escaped(text))
}

/// `text` at the beginning of a document or of a field or word of it (they are separated by
/// spaces), as LIKE patterns of which one must match: an email as typed begins its holder's.
fn beginning(text: &str) -> Vec<Vec<String>> {
    let e = escaped(text);
    vec![vec![format!("{e}%")], vec![format!("% {e}%")]]
}

/// The look-ups of a search, in order, as SQLite's dialect plans them: a whole phone number
/// exactly, then (while nothing was found) a phone number's digits as substrings; an email
/// as typed at the beginning of a field or word, and only when nobody's begins with it its
/// words as substrings (while few) and the rest; every word or its
/// letters in another order as whole tokens, or the words run together; without an email, while few, every word as a substring; while few, words that
/// sound alike. Last, while nothing was found, the word similarity of pg_trgm (beginnings
/// of short words, typos the keys do not catch).
pub fn search_plans(q: &Query) -> Vec<SearchPlan> {
    if !q.phones.is_empty() {
        let digits = |below| SearchPlan::Like {
            any_of: q.phones.iter().map(|p| vec![substring(p)]).collect(),
            below,
            settles: false,
        };
        return match &q.phone_e164 {
            Some(e164) => vec![SearchPlan::Phone(e164.clone()), digits(Some(1))],
            None => vec![digits(None)],
        };
    }
    let mut plans = Vec::new();
    // An email as typed: its holders, then its pieces as names; those of an address of one
    // word only when nobody holds it (as on SQLite).
    let email =
        q.email_literal().map(|e| SearchPlan::Like { any_of: beginning(e), below: None, settles: q.address_settles() });
    let words = q.index_words();
    let exact = (!words.is_empty()).then(|| SearchPlan::Like {
        any_of: vec![words.iter().map(|w| substring(&w.word)).collect()],
        below: Some(LOOSE_BELOW),
        settles: false,
    });
    let mut typos = all_words(&words, key_alts);
    if let (Some(t), Some(c)) = (&typos, q.compact().as_deref().and_then(term_query)) {
        // The name with a space typed one letter off ("PedroR ossi").
        typos = Some(format!("({t}) | {c}"));
    }
    let typos = typos.map(|query| SearchPlan::Keys { query, below: None });
    match email {
        Some(e) => plans.extend([Some(e), exact, typos].into_iter().flatten()),
        None => plans.extend([typos, exact].into_iter().flatten()),
    }
    if words.iter().any(|w| w.phonetic.is_some()) {
        let sounds = all_words(&words, |w| {
            let mut a = key_alts(w);
            a.extend(w.phonetic.iter().cloned());
            a
        });
        plans.extend(sounds.map(|query| SearchPlan::Keys { query, below: Some(LOOSE_BELOW) }));
    }
    let mut terms: Vec<(String, f64)> = vec![(q.text(), 1.0), (q.sorted_keys(), 0.5), (q.phonetic_keys(), 0.3)];
    terms.retain(|(t, _)| !t.is_empty());
    if !terms.is_empty() {
        plans.push(SearchPlan::Similar { terms, below: Some(1) });
    }
    plans
}

/// Pushes the candidates of `plan` as `(…) s` with the column `customer_id` (and `score`
/// when the plan is ranked).
pub fn push_search_plan(qb: &mut QueryBuilder<'_, Db>, tenant: Uuid, plan: &SearchPlan) {
    match plan {
        SearchPlan::Phone(e164) => {
            qb.push("(SELECT p.id AS customer_id FROM customers p WHERE p.tenant_id = ").push_bind(tenant);
            qb.push(" AND p.phone_e164 = ").push_bind(e164.clone()).push(") s");
        }
        SearchPlan::Keys { query, .. } => {
            qb.push("(SELECT customer_id FROM customer_search WHERE tenant_id = ").push_bind(tenant);
            qb.push(" AND keys @@ CAST(").push_bind(query.clone()).push(" AS tsquery)) s");
        }
        SearchPlan::Like { any_of, .. } => {
            qb.push("(SELECT customer_id FROM customer_search WHERE tenant_id = ").push_bind(tenant).push(" AND (");
            for (i, group) in any_of.iter().enumerate() {
                qb.push(if i > 0 { " OR (" } else { "(" });
                for (j, p) in group.iter().enumerate() {
                    if j > 0 {
                        qb.push(" AND ");
                    }
                    qb.push("doc LIKE ").push_bind(p.clone());
                }
                qb.push(")");
            }
            qb.push(")) s");
        }
        SearchPlan::Similar { terms, .. } => {
            qb.push("(SELECT customer_id, -(0");
            for (t, w) in terms {
                qb.push(" + ").push_bind(*w).push(" * word_similarity(").push_bind(t.clone()).push(", doc)");
            }
            qb.push(") AS score FROM customer_search WHERE tenant_id = ").push_bind(tenant).push(" AND (");
            for (i, (t, _)) in terms.iter().enumerate() {
                if i > 0 {
                    qb.push(" OR ");
                }
                qb.push("doc %> ").push_bind(t.clone());
            }
            qb.push(")) s");
        }
    }
}

/// Nothing to do on PostgreSQL: its search indexes are PostgreSQL's own, kept by the
/// database from the documents (SQLite spells its index's terms itself).
pub async fn rebuild_search_terms(_pool: &sqlx::Pool<Db>) -> StoreResult<()> {
    Ok(())
}

/// Sets the word similarity threshold of `%>` for the rest of the transaction, before the
/// look-up that uses it (most searches never reach it).
pub async fn before_plan(tx: &mut super::sql::Conn, plan: &SearchPlan) -> StoreResult<()> {
    if !matches!(plan, SearchPlan::Similar { .. }) {
        return Ok(());
    }
    sqlx::query("SELECT set_config('pg_trgm.word_similarity_threshold', $1, true)")
        .bind(WORD_SIMILARITY_THRESHOLD)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    Ok(())
}

/// Writes (or, with `None`, removes) a customer's search document.
pub async fn write_search(tx: &mut super::sql::Conn, tenant: Uuid, customer: Uuid, doc: &Document) -> StoreResult<()> {
    insert_search(tx, tenant, &[(customer, doc.clone())]).await
}

/// Writes the search documents of these customers, many to a statement.
pub async fn insert_search(tx: &mut super::sql::Conn, tenant: Uuid, docs: &[(Uuid, Document)]) -> StoreResult<()> {
    for chunk in docs.chunks(crate::sql::MAX_BINDS / 4) {
        let mut qb = QueryBuilder::<Db>::new("INSERT INTO customer_search (tenant_id, customer_id, doc, keys) ");
        qb.push_values(chunk, |mut b, (customer, d)| {
            b.push_bind(tenant).push_bind(*customer).push_bind(d.flat());
            b.push_unseparated(", array_to_tsvector(").push_bind_unseparated(d.key_tokens()).push_unseparated(")");
        });
        qb.push(" ON CONFLICT (tenant_id, customer_id) DO UPDATE SET doc = excluded.doc, keys = excluded.keys");
        qb.build().persistent(crate::sql::keep_prepared(chunk.len() * 4)).execute(&mut **tx).await.map_err(map_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plans(q: &str) -> Vec<SearchPlan> {
        search_plans(&Query::parse(q, "US").unwrap())
    }

    #[test]
    fn a_name_is_looked_up_by_whole_words_first_and_by_similarity_only_when_nothing_else_found() {
        let p = plans("Mraia García");
        let SearchPlan::Keys { query, below: None } = &p[0] else { panic!("{p:?}") };
        assert_eq!(query, "(('mraia' | 'aaimr') & ('garcia' | 'aacgir')) | 'mraiagarcia'");
        assert!(matches!(&p[1], SearchPlan::Like { below: Some(LOOSE_BELOW), .. }), "{p:?}");
        assert!(matches!(p.last(), Some(SearchPlan::Similar { below: Some(1), .. })), "{p:?}");
        assert!(p.iter().filter(|x| x.ranked()).count() == 1);
    }

    #[test]
    fn an_email_and_a_phone_are_substrings_with_like_wildcards_escaped() {
        let p = plans("ann_o%b.");
        let SearchPlan::Like { any_of, below: None, settles: true } = &p[0] else { panic!("{p:?}") };
        assert_eq!(any_of, &[vec![r"ann\_o\%b.%".to_string()], vec![r"% ann\_o\%b.%".to_string()]]);
        // A whole number exactly; its digits as substrings only if nobody has it.
        let p = plans("(617) 555-0100");
        assert_eq!(p[0], SearchPlan::Phone("+16175550100".to_string()), "{p:?}");
        let SearchPlan::Like { any_of, below: Some(1), settles: false } = &p[1] else { panic!("{p:?}") };
        assert!(any_of.contains(&vec!["%16175550100%".to_string()]), "{any_of:?}");
        let p = plans("555-01");
        let [SearchPlan::Like { below: None, .. }] = p.as_slice() else { panic!("part of a number: {p:?}") };
    }
}
