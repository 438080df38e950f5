//! The agreement level of each field for one pair: the comparison vector that EM learns from
//! and that the pair is scored by.

use std::collections::HashMap;

use strsim::jaro_winkler;

use super::address;
use super::features::{num, Email, Features, Phone, Strings, Sym, Token};

/// A field the scan weighs, with its agreement levels from strongest to weakest agreement.
#[derive(Debug, Clone, Copy)]
pub(super) struct FieldSpec {
    pub name: &'static str,
    pub levels: &'static [&'static str],
}

pub(super) const FIRST_NAME: usize = 0;
pub(super) const LAST_NAME: usize = 1;
pub(super) const EMAIL: usize = 2;
pub(super) const PHONE: usize = 3;
pub(super) const STREET: usize = 4;
pub(super) const CITY: usize = 5;
pub(super) const POSTAL: usize = 6;
pub(super) const COMPANY: usize = 7;
pub(super) const BIRTH: usize = 8;
pub(super) const EXTERNAL: usize = 9;
pub(super) const N_FIELDS: usize = 10;

const NAME_LEVELS: &[&str] = &["exact", "similar", "initial", "different"];
const TEXT_LEVELS: &[&str] = &["exact", "similar", "different"];

pub(super) const FIELDS: [FieldSpec; N_FIELDS] = [
    FieldSpec { name: "name_best_part", levels: NAME_LEVELS },
    FieldSpec { name: "name_other_parts", levels: NAME_LEVELS },
    FieldSpec { name: "email", levels: &["exact", "similar", "different"] },
    FieldSpec { name: "phone", levels: &["exact", "last_7_digits", "different"] },
    FieldSpec { name: "street", levels: TEXT_LEVELS },
    FieldSpec { name: "city", levels: TEXT_LEVELS },
    FieldSpec { name: "postal_code", levels: &["exact", "partial", "different"] },
    FieldSpec { name: "company", levels: TEXT_LEVELS },
    FieldSpec { name: "birth_date", levels: TEXT_LEVELS },
    FieldSpec { name: "external_id", levels: &["exact", "different"] },
];

/// The fields of the probability model: the detail fields, with street, city and postal
/// code joined into one address field (see `address`).
pub(super) const N_MODEL: usize = 8;
pub(super) const ADDRESS: usize = 4;
/// The model field each detail field is weighed in.
pub(super) const MODEL_OF: [usize; N_FIELDS] = [0, 1, 2, 3, ADDRESS, ADDRESS, ADDRESS, 5, 6, 7];

/// One level per model field.
pub(super) type Vector = [u8; N_MODEL];

pub(super) fn vector(l: &Levels) -> Vector {
    let address = address::cell(l[STREET], l[CITY], l[POSTAL]);
    [l[FIRST_NAME], l[LAST_NAME], l[EMAIL], l[PHONE], address, l[COMPANY], l[BIRTH], l[EXTERNAL]]
}

/// How many levels a model field has, missing excluded.
pub(super) fn model_levels(field: usize) -> usize {
    if field == ADDRESS {
        address::CELLS
    } else {
        FIELDS[MODEL_OF.iter().position(|m| *m == field).unwrap_or(0)].levels.len()
    }
}

/// The level of a field that one side lacks: it carries no evidence either way.
pub(super) const MISSING: u8 = u8::MAX;

/// One agreement level per field (an index into `FIELDS[f].levels`, or `MISSING`).
pub(super) type Levels = [u8; N_FIELDS];

/// Jaro-Winkler above which two name tokens count as one spelled two ways. Typos,
/// transpositions and dropped letters in names of five letters or more land above it.
const NAME_SIMILAR: f64 = 0.88;
const TEXT_SIMILAR: f64 = 0.9;

/// Similarities one comparer remembers at most (about 20 bytes each). A memo of 524,288
/// took 18 MB a worker at 100,000 records and saved no measurable time.
const SIMILARITY_CACHE: usize = 1 << 15;

/// Compares pairs of records, remembering the Jaro-Winkler similarity of the texts it has
/// met: names and places repeat so much across a tenant that most similarities are asked
/// for many times. One per thread.
pub(super) struct Comparer<'s> {
    strings: &'s Strings,
    similarity: HashMap<(u32, u32), f32>,
}

impl<'s> Comparer<'s> {
    pub(super) fn new(strings: &'s Strings) -> Self {
        Self { strings, similarity: HashMap::new() }
    }

    /// The similarity of two folded strings (Jaro-Winkler is symmetric).
    fn similar(&mut self, x: Sym, y: Sym) -> f64 {
        let (a, b) = (num(x), num(y));
        let key = if a < b { (a, b) } else { (b, a) };
        // Bounded, so a large tenant's scan stays within the server's memory: started afresh
        // when full, the pairs that recur most are soon back.
        if self.similarity.len() >= SIMILARITY_CACHE && !self.similarity.contains_key(&key) {
            self.similarity = HashMap::new();
        }
        let strings = self.strings;
        f64::from(*self.similarity.entry(key).or_insert_with(|| jaro_winkler(strings.text(x), strings.text(y)) as f32))
    }

    pub(super) fn compare(&mut self, a: &Features, b: &Features) -> Levels {
        compare_with(self, a, b)
    }
}

/// Compares one pair (tests and samples; the scan keeps a `Comparer`).
pub(super) fn compare(strings: &Strings, a: &Features, b: &Features) -> Levels {
    Comparer::new(strings).compare(a, b)
}

fn compare_with(c: &mut Comparer, a: &Features, b: &Features) -> Levels {
    let (first, last) = names(c, &a.name, &b.name);
    [
        first,
        last,
        emails(c.strings, &a.emails, &b.emails),
        phones(c.strings, &a.phones, &b.phones),
        text(c, a.street, b.street, 0.88),
        text(c, a.city, b.city, TEXT_SIMILAR),
        postal(c.strings, a.postal, b.postal),
        text(c, a.company, b.company, TEXT_SIMILAR),
        birth(c.strings, a.birth, b.birth),
        match (a.external, b.external) {
            (Some(x), Some(y)) => u8::from(x != y),
            _ => MISSING,
        },
    ]
}

/// The level of two name tokens and a score to choose the alignment by.
fn token(c: &mut Comparer, a: &Token, b: &Token) -> (u8, f64) {
    if a.id == b.id {
        return (0, 1.0);
    }
    if (a.is_initial || b.is_initial) && a.initial == b.initial {
        return (2, 0.6);
    }
    if a.is_initial || b.is_initial {
        return (3, 0.0);
    }
    let s = c.similar(a.id, b.id);
    if s >= NAME_SIMILAR {
        (1, s)
    } else {
        (3, s * 0.5)
    }
}

/// Names are compared without deciding which token is the given name: entries come in
/// either order ("Smith John", Vietnamese and Hungarian family-first), with a middle name or
/// second surname dropped, so roles guessed from positions are wrong too often. The tokens are
/// aligned one to one, most alike first, and the pair is described by its best-agreeing part
/// and the worst of the other aligned parts: a duplicate agrees on both, a relative on the
/// family name only, a namesake on both, a stranger on neither. Tokens left over when one
/// name has more are missing parts and say nothing.
fn names(c: &mut Comparer, a: &[Token], b: &[Token]) -> (u8, u8) {
    if a.is_empty() || b.is_empty() {
        return (MISSING, MISSING);
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let mut sim = [[(3u8, 0.0f64); 6]; 6];
    for (i, x) in short.iter().enumerate() {
        for (j, y) in long.iter().enumerate() {
            sim[i][j] = token(c, x, y);
        }
    }
    let mut best = Alignment { score: -1.0, levels: [3; 6] };
    let mut current = [3u8; 6];
    align(&sim, short.len(), long.len(), 0, 0, 0.0, &mut current, &mut best);
    let levels = &best.levels[..short.len()];
    let top = levels.iter().copied().min().unwrap_or(3);
    let rest = if levels.len() < 2 {
        MISSING
    } else {
        // The worst part other than one instance of the best.
        let mut sorted = levels.to_vec();
        sorted.sort_unstable();
        sorted[sorted.len() - 1]
    };
    (top, rest)
}

struct Alignment {
    score: f64,
    levels: [u8; 6],
}

/// Tries every one-to-one assignment of the short name's tokens to the long name's (at most
/// 6 × 5 × … — names are short) and keeps the most alike; on a tie the first found, which is
/// the one closest to the written order.
#[allow(clippy::too_many_arguments)]
fn align(
    sim: &[[(u8, f64); 6]; 6],
    n: usize,
    m: usize,
    i: usize,
    used: u8,
    score: f64,
    current: &mut [u8; 6],
    best: &mut Alignment,
) {
    if i == n {
        if score > best.score + 1e-9 {
            best.score = score;
            best.levels = *current;
        }
        return;
    }
    for j in 0..m {
        if used & (1 << j) == 0 {
            current[i] = sim[i][j].0;
            align(sim, n, m, i + 1, used | (1 << j), score + sim[i][j].1, current, best);
        }
    }
}

fn emails(s: &Strings, a: &[Email], b: &[Email]) -> u8 {
    if a.is_empty() || b.is_empty() {
        return MISSING;
    }
    let mut level = 2;
    for x in a {
        for y in b {
            if x.id == y.id {
                return 0;
            }
            if x.local == y.local || within_two_edits(s, x, y) {
                level = 1;
            }
        }
    }
    level
}

fn phones(s: &Strings, a: &[Phone], b: &[Phone]) -> u8 {
    if a.is_empty() || b.is_empty() {
        return MISSING;
    }
    let mut level = 2;
    for x in a {
        for y in b {
            if x.digits == y.digits {
                return 0;
            }
            let (x_digits, y_digits) = (s.text(x.digits), s.text(y.digits));
            let (short, long) =
                if x_digits.len() <= y_digits.len() { (x_digits, y_digits) } else { (y_digits, x_digits) };
            // A number written without its country code is still the same number.
            if short.len() >= 8 && long.ends_with(short) {
                return 0;
            }
            if x.last7.is_some() && x.last7 == y.last7 {
                level = 1;
            }
        }
    }
    level
}

/// Two addresses a typo or two apart. The character counts rule most pairs out cheaply: an
/// edit changes them by at most two.
fn within_two_edits(s: &Strings, x: &Email, y: &Email) -> bool {
    let apart: u32 = x.shape.iter().zip(&y.shape).map(|(p, q)| u32::from(p.abs_diff(*q))).sum();
    apart <= 4 && strsim::osa_distance(s.text(x.id), s.text(y.id)) <= 2
}

fn text(c: &mut Comparer, a: Option<Sym>, b: Option<Sym>, similar: f64) -> u8 {
    match (a, b) {
        (Some(x), Some(y)) if x == y => 0,
        (Some(x), Some(y)) if c.similar(x, y) >= similar => 1,
        (Some(_), Some(_)) => 2,
        _ => MISSING,
    }
}

/// Postal codes share their leading part across a district (US ZIP3, UK outward code).
fn postal(s: &Strings, a: Option<Sym>, b: Option<Sym>) -> u8 {
    match (a, b) {
        (Some(x), Some(y)) if x == y => 0,
        (Some(x), Some(y)) if district(s.text(x)).is_some_and(|d| district(s.text(y)) == Some(d)) => 1,
        (Some(_), Some(_)) => 2,
        _ => MISSING,
    }
}

/// The leading part of a postal code of four characters or more.
fn district(code: &str) -> Option<&str> {
    (code.len() >= 4).then(|| code.get(..3)).flatten()
}

/// A birth date mistyped by one digit, or with day and month swapped, is likely the same date.
fn birth(s: &Strings, a: Option<Sym>, b: Option<Sym>) -> u8 {
    match (a, b) {
        (Some(x), Some(y)) if x == y => 0,
        (Some(x), Some(y)) => {
            let (x, y) = (s.text(x).as_bytes(), s.text(y).as_bytes());
            let swapped = x.len() == 8 && y.len() == 8 && x[..4] == y[..4] && x[4..6] == y[6..8] && x[6..8] == y[4..6];
            let one_off = x.len() == y.len() && x.iter().zip(y).filter(|(p, q)| p != q).count() == 1;
            if swapped || one_off {
                1
            } else {
                2
            }
        }
        _ => MISSING,
    }
}

#[cfg(test)]
mod tests {
    use super::super::features::build;
    use super::super::ScanRecord;
    use super::*;

    fn levels(a: &str, b: &str) -> (u8, u8) {
        let (f, s) = build(&[ScanRecord::new(uuid::Uuid::nil(), a), ScanRecord::new(uuid::Uuid::nil(), b)]);
        names(&mut Comparer::new(&s), &f[0].name, &f[1].name)
    }

    /// The levels of two records that differ in one field (`set` fills it in).
    fn field(set: impl Fn(&mut ScanRecord, &str), a: &str, b: &str) -> Levels {
        let records: Vec<ScanRecord> = [a, b]
            .iter()
            .map(|v| {
                let mut r = ScanRecord::new(uuid::Uuid::nil(), "");
                if !v.is_empty() {
                    set(&mut r, v);
                }
                r
            })
            .collect();
        let (f, s) = build(&records);
        compare(&s, &f[0], &f[1])
    }

    #[test]
    fn names_align_in_either_order() {
        assert_eq!(levels("John Smith", "john smith"), (0, 0));
        assert_eq!(levels("Smith John", "John Smith"), (0, 0));
        assert_eq!(levels("Nguyễn Văn An", "An Nguyen"), (0, 0));
        assert_eq!(levels("Jon Smith", "John Smith"), (0, 1));
        assert_eq!(levels("J. Smith", "John Smith"), (0, 2));
        assert_eq!(levels("María García López", "Maria Garcia"), (0, 0));
        assert_eq!(levels("Jane Smith", "John Smith"), (0, 3));
        assert_eq!(levels("Muñoz Niamh", "Muñoz Ángel"), (0, 3));
        assert_eq!(levels("Marta Martínez Alonso", "Ewa Martínez Alonso"), (0, 3));
        assert_eq!(levels("Nguyễn Văn An", "Nguyễn Văn Bảo"), (0, 3));
        assert_eq!(levels("Wojciech Kowalski", "Aoife Byrne"), (3, 3));
    }

    #[test]
    fn a_missing_part_is_missing_not_different() {
        assert_eq!(levels("Smith", "John Smith"), (0, MISSING));
        assert_eq!(levels("John", "Jane Smith"), (3, MISSING));
        assert_eq!(levels("", "John Smith"), (MISSING, MISSING));
    }

    #[test]
    fn phones_and_dates_have_partial_levels() {
        let phone = |a: &str, b: &str| field(|r, v| r.phones = vec![v.into()], a, b)[PHONE];
        assert_eq!(phone("+14155551234", "4155551234"), 0);
        assert_eq!(phone("+14155551234", "+12125551234"), 1);
        assert_eq!(phone("+14155551234", "+14155559999"), 2);
        let date = |a: &str, b: &str| field(|r, v| r.birth_date = Some(v.into()), a, b)[BIRTH];
        assert_eq!(date("1980-04-12", "1980-12-04"), 1);
        assert_eq!(date("1980-04-12", "1980-04-13"), 1);
        assert_eq!(date("1980-04-12", "1975-01-01"), 2);
        assert_eq!(date("1980-04-12", ""), MISSING);
        let postal = |a: &str, b: &str| field(|r, v| r.postal_code = Some(v.into()), a, b)[POSTAL];
        assert_eq!(postal("94105", "94107"), 1);
        assert_eq!(postal("94105", "10001"), 2);
    }
}
