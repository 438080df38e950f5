//! What the scan compares, folded once per record: a 100,000-record scan compares millions of
//! pairs, so nothing that depends on one record alone may be recomputed per pair.

use std::collections::HashMap;

use rphonetic::{DoubleMetaphone, Encoder};

use super::ScanRecord;
use crate::identity::{fold_name, phone_digits};

/// Names longer than this are rare and would make the token alignment quadratic for nothing.
const MAX_NAME_TOKENS: usize = 6;

/// Gives every distinct folded string a small number, so that most comparisons (which are
/// equalities) cost one integer compare instead of a string compare.
#[derive(Default)]
pub(super) struct Interner(HashMap<String, u32>);

impl Interner {
    pub(super) fn id(&mut self, s: &str) -> u32 {
        if let Some(id) = self.0.get(s) {
            return *id;
        }
        let id = u32::try_from(self.0.len()).unwrap_or(u32::MAX);
        self.0.insert(s.to_string(), id);
        id
    }
}

/// A folded value and its interned number.
#[derive(Debug, Clone)]
pub(super) struct Text {
    pub id: u32,
    pub text: String,
}

impl Text {
    fn new(interner: &mut Interner, text: String) -> Option<Self> {
        if text.is_empty() {
            return None;
        }
        Some(Self { id: interner.id(&text), text })
    }
}

/// One folded token of a name.
#[derive(Debug, Clone)]
pub(super) struct Token {
    pub id: u32,
    pub text: String,
    pub initial: char,
    /// An initial ("J.") stands for any name with that first letter.
    pub is_initial: bool,
    /// Double Metaphone primary code; empty for tokens without Latin letters.
    pub phonetic: String,
}

#[derive(Debug, Clone)]
pub(super) struct Email {
    pub id: u32,
    pub text: String,
    pub local: u32,
    /// How many of each character it holds (letters, digits, the rest in one slot): two
    /// addresses within two edits differ by at most four in these counts, which rules most
    /// pairs out before the edit distance is computed.
    pub shape: [u8; SHAPE],
}

pub(super) const SHAPE: usize = 37;

fn shape(s: &str) -> [u8; SHAPE] {
    let mut h = [0u8; SHAPE];
    for c in s.chars() {
        let slot = match c {
            'a'..='z' => c as usize - 'a' as usize,
            '0'..='9' => 26 + (c as usize - '0' as usize),
            _ => 36,
        };
        h[slot] = h[slot].saturating_add(1);
    }
    h
}

#[derive(Debug, Clone)]
pub(super) struct Phone {
    /// Digits without leading zeros, so a national "030 …" and "+49 30 …" end alike.
    pub digits: String,
    pub last7: Option<u32>,
}

/// Everything the comparison and the blocking read of one record.
#[derive(Debug, Clone)]
pub(super) struct Features {
    pub name: Vec<Token>,
    pub emails: Vec<Email>,
    pub phones: Vec<Phone>,
    pub street: Option<Text>,
    pub city: Option<Text>,
    pub postal: Option<Text>,
    pub company: Option<Text>,
    /// Digits of the date, "19800412".
    pub birth: Option<Text>,
    pub external: Option<Text>,
}

pub(super) fn build(records: &[ScanRecord]) -> Vec<Features> {
    let mut interner = Interner::default();
    let dm = DoubleMetaphone::default();
    records.iter().map(|r| features(r, &mut interner, &dm)).collect()
}

fn features(r: &ScanRecord, it: &mut Interner, dm: &DoubleMetaphone) -> Features {
    let name = fold_name(&r.name)
        .split(' ')
        .filter(|t| !t.is_empty())
        .take(MAX_NAME_TOKENS)
        .map(|t| {
            let ascii: String = t.chars().filter(char::is_ascii_alphabetic).collect();
            Token {
                id: it.id(t),
                text: t.to_string(),
                initial: t.chars().next().unwrap_or(' '),
                is_initial: t.chars().count() == 1,
                phonetic: if ascii.len() > 1 { dm.encode(&ascii) } else { String::new() },
            }
        })
        .collect();
    let mut emails: Vec<Email> = r
        .emails
        .iter()
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty())
        .map(|e| {
            let local = e.split('@').next().unwrap_or("").to_string();
            Email { id: it.id(&e), local: it.id(&format!("{local}@")), shape: shape(&e), text: e }
        })
        .collect();
    emails.sort_by_key(|e| e.id);
    emails.dedup_by_key(|e| e.id);
    let mut phones: Vec<Phone> = r
        .phones
        .iter()
        .map(|p| phone_digits(p).trim_start_matches('0').to_string())
        .filter(|d| d.len() >= 5)
        .map(|digits| {
            let last7 = if digits.len() >= 7 { digits[digits.len() - 7..].parse().ok() } else { None };
            Phone { digits, last7 }
        })
        .collect();
    phones.sort_by(|a, b| a.digits.cmp(&b.digits));
    phones.dedup_by(|a, b| a.digits == b.digits);
    Features {
        name,
        emails,
        phones,
        street: opt(&r.street).and_then(|s| Text::new(it, street_form(s))),
        city: opt(&r.city).and_then(|s| Text::new(it, fold_name(s))),
        postal: opt(&r.postal_code).and_then(|s| Text::new(it, alnum_upper(s))),
        company: opt(&r.company).and_then(|s| Text::new(it, company_form(s))),
        birth: opt(&r.birth_date).and_then(|s| Text::new(it, phone_digits(s))),
        external: opt(&r.external_id).and_then(|s| Text::new(it, alnum_upper(s))),
    }
}

fn opt(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn alnum_upper(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

/// Street names are written with and without the usual abbreviations ("Main Street" =
/// "Main St", "Hauptstraße" = "Hauptstr."), so both spellings fold to the short one.
fn street_form(s: &str) -> String {
    let folded = fold_name(s);
    let mut out: Vec<String> = Vec::new();
    for t in folded.split(' ') {
        let short = match t {
            "street" => "st",
            "avenue" => "ave",
            "road" => "rd",
            "drive" => "dr",
            "lane" => "ln",
            "boulevard" => "blvd",
            "court" => "ct",
            "place" => "pl",
            "square" => "sq",
            "crescent" => "cres",
            "close" => "cl",
            "gardens" => "gdns",
            "terrace" => "ter",
            "north" => "n",
            "south" => "s",
            "east" => "e",
            "west" => "w",
            "ulica" => "ul",
            "strasse" => "str",
            "platz" => "pl",
            "apartment" | "apt" | "unit" | "suite" => "#",
            t => t,
        };
        let short = match short.strip_suffix("strasse") {
            Some(stem) if !stem.is_empty() => format!("{stem}str"),
            _ => short.to_string(),
        };
        out.push(short);
    }
    out.join(" ")
}

/// Legal forms say nothing about which company it is ("Acme Inc." = "ACME").
fn company_form(s: &str) -> String {
    const LEGAL: &[&str] = &[
        "inc",
        "incorporated",
        "llc",
        "ltd",
        "limited",
        "plc",
        "gmbh",
        "ag",
        "kg",
        "co",
        "corp",
        "corporation",
        "company",
        "sa",
        "sarl",
        "sas",
        "srl",
        "spa",
        "bv",
        "nv",
        "ab",
        "oy",
        "as",
        "sp",
        "z",
        "o",
        "oo",
        "the",
    ];
    fold_name(s).split(' ').filter(|t| !LEGAL.contains(t)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn street_abbreviations_fold_alike() {
        assert_eq!(street_form("12 Main Street"), street_form("12 main st."));
        assert_eq!(street_form("Hauptstraße 5"), street_form("Hauptstr. 5"));
        assert_eq!(company_form("Acme, Inc."), company_form("ACME"));
    }

    #[test]
    fn phones_keep_the_national_number() {
        let mut it = Interner::default();
        let r = ScanRecord {
            phones: vec!["+49 30 1234567".into(), "030 1234567".into()],
            ..ScanRecord::new(uuid::Uuid::nil(), "Jörg Groß")
        };
        let f = features(&r, &mut it, &DoubleMetaphone::default());
        assert_eq!(f.phones.len(), 2);
        assert!(f.phones[0].digits.ends_with(&f.phones[1].digits) || f.phones[1].digits.ends_with(&f.phones[0].digits));
        assert_eq!(f.name[1].text, "gross");
    }
}
