//! What the scan compares, folded once per record: a 100,000-record scan compares millions of
//! pairs, so nothing that depends on one record alone may be recomputed per pair.

use lasso::{Key, Rodeo, RodeoResolver, Spur};
use rphonetic::{DoubleMetaphone, Encoder};
use uuid::Uuid;

use super::ScanRecord;
use crate::identity::{fold_name, phone_digits};

/// Names longer than this are rare and would make the token alignment quadratic for nothing.
const MAX_NAME_TOKENS: usize = 6;

/// A folded string's number: every distinct string is kept once (`Strings`), and most
/// comparisons (which are equalities) cost one integer compare instead of a string compare.
/// Four bytes where a `String` took 24 and a heap block of its own: at 100,000 records that
/// was most of the scan's memory.
pub(super) type Sym = Spur;

/// The small number of a `Sym`, for keys of the comparers' memo.
pub(super) fn num(s: Sym) -> u32 {
    u32::try_from(s.into_usize()).unwrap_or(u32::MAX)
}

/// The folded strings of a scan, each once, looked up by number while comparing. Read by
/// every worker at once.
pub(super) struct Strings(RodeoResolver<Sym>);

impl Strings {
    pub(super) fn text(&self, s: Sym) -> &str {
        self.0.resolve(&s)
    }
}

/// One folded token of a name.
#[derive(Debug, Clone, Copy)]
pub(super) struct Token {
    pub id: Sym,
    /// Double Metaphone primary code; none for tokens without Latin letters.
    pub phonetic: Option<Sym>,
    pub initial: char,
    /// An initial ("J.") stands for any name with that first letter.
    pub is_initial: bool,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Email {
    pub id: Sym,
    pub local: Sym,
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

#[derive(Debug, Clone, Copy)]
pub(super) struct Phone {
    /// Digits without leading zeros, so a national "030 …" and "+49 30 …" end alike.
    pub digits: Sym,
    pub last7: Option<u32>,
}

/// Everything the comparison and the blocking read of one record.
#[derive(Debug, Clone)]
pub(super) struct Features {
    pub name: Box<[Token]>,
    pub emails: Box<[Email]>,
    pub phones: Box<[Phone]>,
    pub street: Option<Sym>,
    pub city: Option<Sym>,
    pub postal: Option<Sym>,
    pub company: Option<Sym>,
    /// Digits of the date, "19800412".
    pub birth: Option<Sym>,
    pub external: Option<Sym>,
}

/// The records of a scan, folded one at a time as they are read: the caller need not hold
/// them all (at 100,000 customers their strings would double the scan's memory).
pub struct ScanInput {
    pub(super) ids: Vec<Uuid>,
    pub(super) features: Vec<Features>,
    strings: Rodeo<Sym>,
    dm: DoubleMetaphone,
}

impl Default for ScanInput {
    fn default() -> Self {
        Self { ids: Vec::new(), features: Vec::new(), strings: Rodeo::new(), dm: DoubleMetaphone::default() }
    }
}

impl ScanInput {
    /// Folds one record in.
    pub fn push(&mut self, r: &ScanRecord) {
        self.ids.push(r.id);
        let f = features(r, &mut self.strings, &self.dm);
        self.features.push(f);
    }

    /// Records folded in so far.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The folded records and their strings, read-only from here on (the look-up table
    /// from string to number is dropped).
    pub(super) fn finish(self) -> (Vec<Uuid>, Vec<Features>, Strings) {
        (self.ids, self.features, Strings(self.strings.into_resolver()))
    }
}

/// The features of `records` and their strings (tests).
#[cfg(test)]
pub(super) fn build(records: &[ScanRecord]) -> (Vec<Features>, Strings) {
    let mut input = ScanInput::default();
    records.iter().for_each(|r| input.push(r));
    let (_, features, strings) = input.finish();
    (features, strings)
}

fn features(r: &ScanRecord, it: &mut Rodeo<Sym>, dm: &DoubleMetaphone) -> Features {
    let name = fold_name(&r.name)
        .split(' ')
        .filter(|t| !t.is_empty())
        .take(MAX_NAME_TOKENS)
        .map(|t| {
            let ascii: String = t.chars().filter(char::is_ascii_alphabetic).collect();
            Token {
                id: it.get_or_intern(t),
                phonetic: (ascii.len() > 1).then(|| it.get_or_intern(dm.encode(&ascii))),
                initial: t.chars().next().unwrap_or(' '),
                is_initial: t.chars().count() == 1,
            }
        })
        .collect();
    let mut emails: Vec<Email> = r
        .emails
        .iter()
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty())
        .map(|e| {
            let local = e.split('@').next().unwrap_or("");
            Email { id: it.get_or_intern(&e), local: it.get_or_intern(format!("{local}@")), shape: shape(&e) }
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
            Phone { digits: it.get_or_intern(digits), last7 }
        })
        .collect();
    phones.sort_by_key(|p| p.digits);
    phones.dedup_by_key(|p| p.digits);
    let mut text = |s: Option<String>| s.filter(|s| !s.is_empty()).map(|s| it.get_or_intern(s));
    Features {
        name,
        emails: emails.into(),
        phones: phones.into(),
        street: text(opt(&r.street).map(street_form)),
        city: text(opt(&r.city).map(fold_name)),
        postal: text(opt(&r.postal_code).map(alnum_upper)),
        company: text(opt(&r.company).map(company_form)),
        birth: text(opt(&r.birth_date).map(phone_digits)),
        external: text(opt(&r.external_id).map(alnum_upper)),
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
        let r = ScanRecord {
            phones: vec!["+49 30 1234567".into(), "030 1234567".into()],
            ..ScanRecord::new(uuid::Uuid::nil(), "Jörg Groß")
        };
        let (f, s) = build(&[r]);
        let digits: Vec<&str> = f[0].phones.iter().map(|p| s.text(p.digits)).collect();
        assert_eq!(digits.len(), 2);
        assert!(digits[0].ends_with(digits[1]) || digits[1].ends_with(digits[0]));
        assert_eq!(s.text(f[0].name[1].id), "gross");
    }
}
