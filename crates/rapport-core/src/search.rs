//! Customer search (SPEC section 10, `q`): what is indexed of each customer, what a query
//! looks for, and how a found customer ranks.
//!
//! Each database finds candidates through its own trigram index (SQLite FTS5, PostgreSQL
//! pg_trgm) over the [`Document`] of every live customer; the ranking below runs once, on
//! those candidates, so both databases answer in the same order.
//!
//! Typo tolerance has four sources, because trigrams alone miss short words with a typo
//! ("Jhon" shares no trigram with "John"):
//! - trigrams of the words themselves (and, for words of 8 letters or more, of either half:
//!   one typo leaves one half intact);
//! - a *sorted-letters* key per word ("jhon" and "john" are both "hjno"), which makes any
//!   transposition an exact match;
//! - a *phonetic* key per word (Double Metaphone: "Smyth" = "Smith", "Jon" = "John");
//! - the name's words run together, for a space typed in the wrong place ("PedroR ossi").

use rphonetic::{DoubleMetaphone, Encoder};

use crate::contact::Phone;
use crate::error::FieldError;
use crate::identity::{fold_name, phone_digits};

/// Longest accepted query, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// Candidates scoring below this are not answers.
pub const MIN_SCORE: f64 = 0.5;

/// Fewest letters of a word that a trigram index can look up.
pub const MIN_INDEX_CHARS: usize = 3;

/// The loose look-ups of a search (substrings, sound-alikes, halves) run only while the
/// exact ones found fewer candidates than this: their matches rank below the others', and
/// common ones match many names.
pub const LOOSE_BELOW: usize = 50;

/// Fewest letters of a word whose halves are looked up (each half has four or more: shorter
/// ones are in too many names to narrow anything down).
pub const HALVES_FROM_CHARS: usize = 8;

/// Fewest letters of a word whose first four and last four are looked up when it is too
/// short to halve: one typo in a word of six or seven letters leaves one of them intact
/// unless it falls in their overlap ("olusegn", a letter dropped from "Olusegun", is found
/// by "olus").
pub const ENDS_FROM_CHARS: usize = 6;

/// The letters of a word in order: a transposition keeps the same key.
pub fn sorted_key(word: &str) -> String {
    let mut c: Vec<char> = word.chars().collect();
    c.sort_unstable();
    c.into_iter().collect()
}

/// The phonetic code of a word between underscores (`_sm0_`), so that a trigram index
/// matches the whole code and not a code it begins. Words shorter than three letters have
/// none: their codes ("Li", "Lee" and "Lu" are all `L`) say too little. Nor have words
/// with letters beyond ASCII once folded (ø, ß, other scripts): the encoder reads English
/// spelling only.
pub fn phonetic_key(word: &str) -> Option<String> {
    if word.len() < MIN_INDEX_CHARS || !word.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let code = DoubleMetaphone::default().encode(word);
    (!code.is_empty()).then(|| format!("_{}_", code.to_lowercase()))
}

/// The typo-tolerant keys of some folded words, space-separated.
fn alt_keys<'a>(words: impl Iterator<Item = &'a str>) -> String {
    let mut keys: Vec<String> = Vec::new();
    for w in words.filter(|w| !w.is_empty()) {
        if w.chars().count() >= MIN_INDEX_CHARS {
            keys.push(sorted_key(w));
        }
        keys.extend(phonetic_key(w));
    }
    let mut seen = std::collections::HashSet::new();
    keys.retain(|k| seen.insert(k.clone()));
    keys.join(" ")
}

/// The runs of letters and digits of a text: its whole tokens.
pub fn tokens(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty())
}

fn words(s: &str) -> Vec<&str> {
    s.split(' ').filter(|w| !w.is_empty()).collect()
}

/// The words of a name run together, when there are several: a space typed one letter off
/// ("PedroR ossi") or left out ("Maryann") keeps the same key.
pub fn compact_key<S: AsRef<str>>(words: &[S]) -> Option<String> {
    let c: String = words.iter().map(AsRef::as_ref).collect();
    (words.len() >= 2 && c.chars().count() >= 4).then_some(c)
}

/// What the search index holds of one live customer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    /// The name folded (accents, case, punctuation): "José O'Brien" is "jose obrien".
    pub name: String,
    pub company: String,
    /// The normalized email.
    pub email: String,
    /// The digits of the E.164 phone, country code first.
    pub phone: String,
    /// The sorted-letters and phonetic keys of the words of name and company.
    pub alt: String,
}

impl Document {
    pub fn new(name: &str, company: Option<&str>, email_normalized: Option<&str>, phone_e164: Option<&str>) -> Self {
        let mut d = Self::for_ranking(name, company, email_normalized, phone_e164);
        let mut alt = alt_keys(words(&d.name).into_iter().chain(words(&d.company)));
        if let Some(c) = compact_key(&words(&d.name)) {
            alt.push(' ');
            alt.push_str(&c);
        }
        d.alt = alt.trim_start().to_string();
        d
    }

    /// The document without its `alt` keys, which [`score`] does not read.
    pub fn for_ranking(
        name: &str,
        company: Option<&str>,
        email_normalized: Option<&str>,
        phone_e164: Option<&str>,
    ) -> Self {
        Self {
            name: fold_name(name),
            company: company.map(fold_name).unwrap_or_default(),
            email: email_normalized.unwrap_or_default().to_lowercase(),
            phone: phone_e164.map(phone_digits).unwrap_or_default(),
            alt: String::new(),
        }
    }

    /// The whole tokens of name, company and `alt`, sorted and deduplicated: what an index
    /// of whole words holds (FTS5's `unicode61` tokenizer splits these texts the same way).
    pub fn key_tokens(&self) -> Vec<String> {
        let mut t: Vec<String> =
            [&self.name, &self.company, &self.alt].into_iter().flat_map(|s| tokens(s)).map(str::to_string).collect();
        t.sort_unstable();
        t.dedup();
        t
    }

    /// Every field in one text, for an index over a single column.
    pub fn flat(&self) -> String {
        [&self.name, &self.company, &self.email, &self.phone, &self.alt]
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The ways a word of a query may appear in a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordVariants {
    /// The word itself, as a substring of any field.
    pub word: String,
    /// Its halves, for words of [`HALVES_FROM_CHARS`] or more, or its first and last four
    /// letters, for words of [`ENDS_FROM_CHARS`] or more: one typo leaves one part intact.
    pub halves: Vec<String>,
    /// Its sorted-letters key, to look up among the keys of `Document::alt`.
    pub sorted: Option<String>,
    /// Its phonetic key, to look up among the keys of `Document::alt`.
    pub phonetic: Option<String>,
}

/// A parsed `q`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// The folded words of the query (name, company, parts of an email).
    pub words: Vec<String>,
    /// The query as the beginning of an email, lowercased, when it has no spaces.
    pub email: Option<String>,
    /// When the query is a phone number: its digits as typed, without a trunk zero, and in
    /// E.164 by the tenant's region.
    pub phones: Vec<String>,
    /// When the query is a whole phone number in the tenant's region: it in E.164, as
    /// customers' phones are stored (looked up exactly before any substring).
    pub phone_e164: Option<String>,
}

impl Query {
    /// Parses `raw` (already trimmed and not empty); `region` reads national phone numbers.
    /// A query needs a word of two letters or digits, or four digits of a phone.
    pub fn parse(raw: &str, region: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        if raw.chars().count() > MAX_QUERY_CHARS {
            return Err(FieldError::new("q", "too_long", format!("q must be at most {MAX_QUERY_CHARS} characters")));
        }
        let digits = phone_digits(raw);
        let q = if Self::is_phone(raw) {
            let mut phones = vec![digits.clone()];
            let national = digits.trim_start_matches('0');
            if national.len() >= 4 {
                phones.push(national.to_string());
            }
            let phone = Phone::parse("q", raw, region).ok();
            if let Some(p) = &phone {
                phones.push(phone_digits(p.e164()));
            }
            phones.sort();
            phones.dedup();
            Query { words: Vec::new(), email: None, phones, phone_e164: phone.map(|p| p.e164().to_string()) }
        } else {
            let folded = fold_name(raw);
            let compact = raw.to_lowercase();
            Query {
                words: words(&folded).into_iter().map(str::to_string).collect(),
                email: (!compact.contains(char::is_whitespace) && compact.chars().count() >= MIN_INDEX_CHARS)
                    .then_some(compact),
                phones: Vec::new(),
                phone_e164: None,
            }
        };
        if q.phones.is_empty() && q.email.is_none() && !q.words.iter().any(|w| w.chars().count() >= 2) {
            return Err(FieldError::new("q", "too_short", "q needs at least two letters or digits"));
        }
        Ok(q)
    }

    /// Whether `raw` is read as a phone number (digits and phone punctuation, four digits or
    /// more): only then does [`Query::parse`] read its region.
    pub fn is_phone(raw: &str) -> bool {
        let raw = raw.trim();
        raw.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)) && phone_digits(raw).len() >= 4
    }

    /// The words long enough for a trigram index, with their typo-tolerant variants.
    pub fn index_words(&self) -> Vec<WordVariants> {
        let mut out: Vec<WordVariants> = Vec::new();
        for w in self.words.iter().filter(|w| w.chars().count() >= MIN_INDEX_CHARS) {
            if out.iter().any(|v| &v.word == w) {
                continue;
            }
            let chars: Vec<char> = w.chars().collect();
            let n = chars.len();
            let halves = if n >= HALVES_FROM_CHARS {
                let mid = n / 2;
                vec![chars[..mid].iter().collect(), chars[mid..].iter().collect()]
            } else if n >= ENDS_FROM_CHARS {
                vec![chars[..4].iter().collect(), chars[n - 4..].iter().collect()]
            } else {
                Vec::new()
            };
            out.push(WordVariants { word: w.clone(), halves, sorted: Some(sorted_key(w)), phonetic: phonetic_key(w) });
        }
        out
    }

    /// Words of exactly two characters ("Li", "Wu"): looked up as the beginning of a word
    /// of the name when the query has nothing longer.
    pub fn short_words(&self) -> Vec<&str> {
        self.words.iter().filter(|w| w.chars().count() == 2).map(String::as_str).collect()
    }

    /// The email literal when it holds more than its words say (dots, `@`), so that it is
    /// worth looking up as one substring.
    pub fn email_literal(&self) -> Option<&str> {
        self.email.as_deref().filter(|e| e.chars().any(|c| !c.is_alphanumeric()))
    }

    /// Whether the query is an address being typed: an email literal holding a character
    /// of an email that names do not hold (`@`, `.`, `_`, `+`). "Mary-Jane" or "O'Brien" is
    /// a name first, whoever's email begins with it.
    pub fn is_address(&self) -> bool {
        self.email_literal().is_some_and(|e| e.contains(['@', '.', '_', '+']))
    }

    /// Whether the customers whose email begins with the query are its whole answer when
    /// there are any: an address with at most one word long enough to look up as a name
    /// ("priya.jo", "lakshmi."), whose word alone would find every namesake for ranking to
    /// drop. With two words ("ann.lee") a name's look-up needs both, stays narrow, and may
    /// find the exact name.
    pub fn address_settles(&self) -> bool {
        self.is_address() && self.index_words().len() <= 1
    }

    /// The query's words as one text, for an index over a single column.
    pub fn text(&self) -> String {
        self.words.join(" ")
    }

    /// The query's words run together (see [`compact_key`]).
    pub fn compact(&self) -> Option<String> {
        compact_key(&self.words)
    }

    /// The sorted-letters keys of the query's words, and its words run together, as
    /// `Document::alt` holds them.
    pub fn sorted_keys(&self) -> String {
        let mut keys: Vec<String> = self.index_words().into_iter().filter_map(|w| w.sorted).collect();
        keys.extend(self.compact());
        keys.join(" ")
    }

    /// The phonetic keys of the query's words, as `Document::alt` holds them.
    pub fn phonetic_keys(&self) -> String {
        let mut keys: Vec<String> = self.words.iter().filter_map(|w| phonetic_key(w)).collect();
        keys.dedup();
        keys.join(" ")
    }
}

/// A word of the query with its keys, computed once per search.
struct QueryWord<'a> {
    text: &'a str,
    chars: usize,
    sorted: String,
    phonetic: Option<String>,
}

impl<'a> QueryWord<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, chars: text.chars().count(), sorted: sorted_key(text), phonetic: phonetic_key(text) }
    }
}

/// A word of a document; its phonetic key is computed only if some query word needs it.
struct DocWord<'a> {
    text: &'a str,
    chars: usize,
    phonetic: std::cell::OnceCell<Option<String>>,
}

impl<'a> DocWord<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, chars: text.chars().count(), phonetic: std::cell::OnceCell::new() }
    }
}

/// How well a word of a query answers a word of a document, 0..=1.
fn word_score(q: &QueryWord<'_>, d: &DocWord<'_>) -> f64 {
    if q.text == d.text {
        return 1.0;
    }
    if d.text.starts_with(q.text) {
        // Typing the beginning of a word; an initial stands for the whole word.
        return if q.chars == 1 { 0.8 } else { 0.85 + 0.1 * q.chars as f64 / d.chars as f64 };
    }
    if q.chars < 2 {
        return 0.0;
    }
    let mut s: f64 = 0.0;
    if q.chars >= MIN_INDEX_CHARS && q.chars == d.chars && q.sorted == sorted_key(d.text) {
        s = 0.9;
    }
    let jw = strsim::jaro_winkler(q.text, d.text);
    if jw >= 0.85 {
        s = s.max(0.95 * jw);
    }
    if s == 0.0 && q.phonetic.is_some() && q.phonetic == *d.phonetic.get_or_init(|| phonetic_key(d.text)) {
        s = 0.6;
    }
    s
}

/// How well the words of a query answer the words of one field: each query word takes the
/// best unused word of the field; the mean is lowered a little for words of the field left
/// unmatched, so "John Smith" ranks "John Smith" above "John Smith Jr". Only an exact match
/// scores 1.
fn words_score(q: &[QueryWord<'_>], d: &[DocWord<'_>]) -> f64 {
    if q.is_empty() || d.is_empty() {
        return 0.0;
    }
    if q.len() == d.len() && q.iter().zip(d).all(|(a, b)| a.text == b.text) {
        return 1.0;
    }
    let mut used = vec![false; d.len()];
    let mut total = 0.0;
    for w in q {
        let best = d
            .iter()
            .enumerate()
            .filter(|(i, _)| !used[*i])
            .map(|(i, x)| (i, word_score(w, x)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((i, s)) = best.filter(|(_, s)| *s > 0.0) {
            used[i] = true;
            total += s;
        }
    }
    let mean = total / q.len() as f64;
    let covered = used.iter().filter(|u| **u).count() as f64 / d.len() as f64;
    (mean * (0.85 + 0.15 * covered)).min(0.99)
}

fn email_score(q: &str, email: &str) -> f64 {
    if email.is_empty() {
        0.0
    } else if email == q {
        1.0
    } else if email.starts_with(q) {
        0.75 + 0.2 * q.len() as f64 / email.len() as f64
    } else {
        0.0
    }
}

fn phone_score(q: &str, phone: &str) -> f64 {
    if phone.is_empty() {
        0.0
    } else if phone == q {
        1.0
    } else if phone.ends_with(q) && q.len() >= 7 {
        // The national number without its country code.
        0.95
    } else if phone.contains(q) {
        0.6 + 0.3 * q.len() as f64 / phone.len() as f64
    } else {
        0.0
    }
}

/// How well a customer's document answers a query, 0..=1: 1 for the exact name, email or
/// phone; the beginning of an email or of words, typos and sound-alikes lower; a match in
/// the company ranks below the same match in the name. Below [`MIN_SCORE`] it is no answer.
pub fn score(q: &Query, d: &Document) -> f64 {
    Ranker::new(q).score(d)
}

/// Scores many documents against one query, preparing the query's words once.
pub struct Ranker<'q> {
    q: &'q Query,
    words: Vec<QueryWord<'q>>,
    /// The query's letters without spaces, to compare with a name's.
    compact: Option<String>,
}

impl<'q> Ranker<'q> {
    pub fn new(q: &'q Query) -> Self {
        let all: String = q.words.concat();
        let compact = (all.chars().count() >= 4).then_some(all);
        Self { q, words: q.words.iter().map(|w| QueryWord::new(w)).collect(), compact }
    }

    /// See [`score`].
    pub fn score(&self, d: &Document) -> f64 {
        let mut best: f64 = 0.0;
        if let Some(e) = &self.q.email {
            best = best.max(email_score(e, &d.email));
        }
        for p in &self.q.phones {
            best = best.max(phone_score(p, &d.phone));
        }
        if let (Some(qc), Some(dc)) = (&self.compact, compact_key(&words(&d.name))) {
            // A space typed in the wrong place, or left out.
            if *qc == dc {
                best = best.max(0.95);
            } else {
                let jw = strsim::jaro_winkler(qc, &dc);
                if jw >= 0.9 {
                    best = best.max(0.9 * jw);
                }
            }
        }
        if !self.words.is_empty() {
            let name: Vec<DocWord<'_>> = words(&d.name).into_iter().map(DocWord::new).collect();
            let company: Vec<DocWord<'_>> = words(&d.company).into_iter().map(DocWord::new).collect();
            best = best.max(words_score(&self.words, &name));
            best = best.max(0.9 * words_score(&self.words, &company));
            if !name.is_empty() && !company.is_empty() {
                let both: Vec<DocWord<'_>> =
                    words(&d.name).into_iter().chain(words(&d.company)).map(DocWord::new).collect();
                best = best.max(0.9 * words_score(&self.words, &both));
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Query {
        Query::parse(s, "US").unwrap()
    }

    fn doc(name: &str) -> Document {
        Document::new(name, None, None, None)
    }

    fn rank(query: &str, names: &[&str]) -> Vec<String> {
        let q = q(query);
        let mut scored: Vec<(f64, &str)> = names.iter().map(|n| (score(&q, &doc(n)), *n)).collect();
        scored.retain(|(s, _)| *s >= MIN_SCORE);
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.into_iter().map(|(_, n)| n.to_string()).collect()
    }

    #[test]
    fn only_phone_like_queries_read_the_region() {
        for raw in ["+1 (617) 555-0100", " 020 7946 0018 ", "5550"] {
            assert!(Query::is_phone(raw), "{raw}");
            assert!(!Query::parse(raw, "US").unwrap().phones.is_empty(), "{raw}");
        }
        for raw in ["617", "john", "ann.lee@example.com", "+1 617 x"] {
            assert!(!Query::is_phone(raw), "{raw}");
            assert!(Query::parse(raw, "").is_ok_and(|q| q.phones.is_empty()), "{raw}");
        }
    }

    #[test]
    fn words_of_any_script_have_keys_without_panicking() {
        for name in ["Søren Ærø", "Łukasz Straße", "王伟", "Þór Ðóra", "Nguyễn Văn An", "Ивана Петрова"]
        {
            let d = Document::new(name, Some(name), None, None);
            assert!(!d.alt.is_empty() || name == "王伟", "{name}: {d:?}");
            assert!(score(&q(name), &d) >= 0.99, "{name}");
        }
    }

    #[test]
    fn documents_fold_and_key_every_field() {
        let d = Document::new("José  O'Brien", Some("Ácme, Inc."), Some("Jo@Example.com"), Some("+15551234567"));
        assert_eq!(d.name, "jose obrien");
        assert_eq!(d.company, "acme inc");
        assert_eq!(d.email, "jo@example.com");
        assert_eq!(d.phone, "15551234567");
        assert!(d.alt.split(' ').any(|k| k == "ejos"), "{}", d.alt);
        assert!(d.alt.contains("_hs_"), "{}", d.alt); // Double Metaphone reads José the Spanish way
        assert!(d.flat().starts_with("jose obrien acme inc jo@example.com 15551234567 "));
    }

    #[test]
    fn queries_are_words_emails_or_phones() {
        let t = q("  Jhon  Smtih ");
        assert_eq!(t.words, ["jhon", "smtih"]);
        assert_eq!(t.email, None);
        assert_eq!(t.index_words()[0].sorted.as_deref(), Some("hjno"));
        assert_eq!(q("ann.lee@exa").email_literal(), Some("ann.lee@exa"));
        assert_eq!(q("smith").email_literal(), None);
        // An address is typed with what emails hold and names do not.
        for a in ["ann.lee@exa", "priya.", "pat_doe", "ann+crm", "jo@"] {
            assert!(q(a).is_address(), "{a}");
        }
        for name in ["mary-jane", "o'brien", "smith", "Mary Jane"] {
            assert!(!q(name).is_address(), "{name}");
        }
        assert!(q("priya.jo").address_settles());
        assert!(!q("ann.lee").address_settles(), "two words find the name narrowly");
        let p = q("(555) 123-4567");
        assert!(p.words.is_empty());
        assert!(p.phones.contains(&"5551234567".to_string()));
        assert!(p.phones.contains(&"15551234567".to_string()));
        assert!(q("020 7946 0018").phones.contains(&"2079460018".to_string()));
        assert_eq!(q("Li").short_words(), ["li"]);
        assert_eq!(Query::parse("J", "US").unwrap_err().code, "too_short");
        assert_eq!(Query::parse("a b", "US").unwrap_err().code, "too_short");
        assert_eq!(Query::parse(&"x".repeat(201), "US").unwrap_err().code, "too_long");
        let long = &q("jonathan").index_words()[0];
        assert_eq!(long.halves, ["jona", "than"]);
        assert_eq!(q("olusegn").index_words()[0].halves, ["olus", "segn"]);
        assert_eq!(q("marcus").index_words()[0].halves, ["marc", "rcus"]);
        assert!(q("smith").index_words()[0].halves.is_empty());
    }

    #[test]
    fn typos_transpositions_and_accents_match() {
        assert!(score(&q("Jhon Smtih"), &doc("John Smith")) >= 0.85);
        assert!(score(&q("Jose"), &doc("José García")) >= 0.9);
        assert!(score(&q("jonathon"), &doc("Jonathan Price")) >= MIN_SCORE);
        assert!(score(&q("smyth"), &doc("Smith")) >= MIN_SCORE);
        assert!(score(&q("Mary Smith"), &doc("John Smith")) < MIN_SCORE);
        assert!(score(&q("zzz"), &doc("John Smith")) < MIN_SCORE);
    }

    #[test]
    fn a_misplaced_or_missing_space_matches() {
        assert!(score(&q("PedroR ossi"), &doc("Pedro Rossi")) >= 0.9);
        assert!(score(&q("maryann"), &doc("Mary Ann Lee")) >= MIN_SCORE, "the name's beginning run together");
        assert!(score(&q("maryann lee"), &doc("Mary Ann Lee")) >= 0.9);
        assert!(score(&q("PedroR osis"), &doc("Pedro Rossi")) >= 0.8);
        assert!(Document::new("Pedro Rossi", None, None, None).alt.ends_with(" pedrorossi"));
        assert_eq!(q("pedroR ossi").sorted_keys(), "deoprr ioss pedrorossi");
    }

    #[test]
    fn the_exact_name_ranks_first() {
        let names =
            ["Johnny Smith", "Jon Smith", "John Smithson", "Smith John", "John Smith", "Jane Smith", "Mary Smith"];
        let r = rank("John Smith", &names);
        assert_eq!(r[0], "John Smith");
        assert_eq!(r[1], "Smith John");
        assert!(!r.contains(&"Mary Smith".to_string()));
        assert_eq!(r.last().map(String::as_str), Some("Jane Smith"));
    }

    #[test]
    fn emails_match_by_prefix_and_phones_in_any_format() {
        let d = Document::new("Ann Lee", None, Some("ann.lee@example.com"), Some("+15551234567"));
        assert!(score(&q("ann.lee@exa"), &d) > 0.8);
        assert_eq!(score(&q("ann.lee@example.com"), &d), 1.0);
        assert!(score(&q("lee@example.com"), &d) < MIN_SCORE);
        assert_eq!(score(&q("555.123.4567"), &d), 1.0);
        assert_eq!(score(&q("+1 (555) 123 4567"), &d), 1.0);
        assert!(score(&q("123-4567"), &d) >= MIN_SCORE);
        assert!(score(&q("999-4567"), &d) < MIN_SCORE);
    }

    #[test]
    fn a_company_match_ranks_below_the_same_name_match() {
        let person = Document::new("Acme Jones", None, None, None);
        let firm = Document::new("Bob Stone", Some("Acme"), None, None);
        let (a, b) = (score(&q("acme"), &person), score(&q("acme"), &firm));
        assert!(b >= MIN_SCORE && a > b, "{a} {b}");
        assert!(score(&q("stone acme"), &firm) >= 0.85);
    }
}
