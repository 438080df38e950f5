//! Normal forms of names and phones that duplicates are found by.

use rphonetic::{DoubleMetaphone, Encoder};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// A name folded for comparison: NFKC, accents removed (Rodríguez = Rodriguez), Latin
/// letters that do not decompose spelled out (Søren = Soren, Straße = Strasse), lowercase,
/// punctuation to spaces (apostrophes dropped: O'Brien = OBrien), spaces collapsed.
pub fn fold_name(s: &str) -> String {
    let decomposed: String = s.nfkc().collect::<String>().nfkd().filter(|c| !is_combining_mark(*c)).collect();
    let mut out = String::with_capacity(decomposed.len());
    for c in decomposed.chars().flat_map(char::to_lowercase) {
        if c == '\'' || c == '’' || c == '`' {
            continue;
        }
        // Latin letters that do not decompose into a base letter and an accent.
        let spelled = match c {
            'ø' => "o",
            'æ' => "ae",
            'œ' => "oe",
            'ß' => "ss",
            'ł' => "l",
            'đ' | 'ð' => "d",
            'þ' => "th",
            'ı' => "i",
            _ => "",
        };
        if !spelled.is_empty() {
            out.push_str(spelled);
            continue;
        }
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with(' ') && !out.is_empty() {
            out.push(' ');
        }
    }
    out.trim_end().to_string()
}

/// The ASCII letters of a folded token, with the Latin letters that do not decompose
/// spelled out (ø → o, ß → ss, ł → l …): the phonetic encoder reads ASCII only.
fn latin_ascii(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    for c in token.chars() {
        match c {
            'ø' => out.push('o'),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            'ß' => out.push_str("ss"),
            'ł' => out.push('l'),
            'đ' | 'ð' => out.push('d'),
            'þ' => out.push_str("th"),
            'ı' => out.push('i'),
            c if c.is_ascii_alphabetic() => out.push(c),
            _ => {}
        }
    }
    out
}

/// Digits only: the fallback form of a phone that does not parse (000's normalize_phone).
pub fn phone_digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The keys of one name: its folded form, its tokens sorted ("Smith, John" = "John Smith"),
/// and a phonetic code per token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameKeys {
    pub folded: String,
    pub sorted: String,
    pub tokens: Vec<String>,
    pub phonetic: Vec<String>,
}

impl NameKeys {
    pub fn new(name: &str) -> Self {
        let folded = fold_name(name);
        let mut tokens: Vec<String> = folded.split(' ').filter(|t| !t.is_empty()).map(str::to_string).collect();
        let original_order = tokens.clone();
        tokens.sort();
        let dm = DoubleMetaphone::default();
        let mut phonetic: Vec<String> = original_order
            .iter()
            .map(|t| latin_ascii(t))
            .filter(|t| t.len() > 1)
            .map(|t| dm.encode(&t))
            .filter(|p| !p.is_empty())
            .collect();
        phonetic.sort();
        phonetic.dedup();
        Self { sorted: tokens.join(" "), folded, tokens: original_order, phonetic }
    }
}

fn token_similarity(a: &str, b: &str) -> f64 {
    // An initial stands for any name with that first letter ("J Smith" = "John Smith").
    if (a.chars().count() == 1 || b.chars().count() == 1) && a.chars().next() == b.chars().next() {
        return 0.9;
    }
    strsim::jaro_winkler(a, b)
}

/// How alike two names are, 0..1. Tokens of the shorter name are paired with the most alike
/// unused token of the longer; a pair counts when at least 0.85 alike. The mean over the
/// shorter name is scaled by how much of the longer it covers, so "John" is 0.85 like
/// "John Smith" while "John" and "Jane" do not match at all.
pub fn name_similarity(a: &NameKeys, b: &NameKeys) -> f64 {
    tokens_similarity(&a.tokens, &b.tokens)
}

/// The folded words of a name, in their order: all `name_similarity` needs of it.
pub fn name_tokens(name: &str) -> Vec<String> {
    fold_name(name).split(' ').filter(|t| !t.is_empty()).map(str::to_string).collect()
}

/// `name_similarity` over the words of two names (`name_tokens`).
pub fn tokens_similarity(a: &[String], b: &[String]) -> f64 {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return 0.0;
    }
    let mut used = vec![false; long.len()];
    let mut total = 0.0;
    for t in short {
        let best = long
            .iter()
            .enumerate()
            .filter(|(i, _)| !used[*i])
            .map(|(i, u)| (i, token_similarity(t, u)))
            .max_by(|x, y| x.1.total_cmp(&y.1));
        if let Some((i, s)) = best {
            if s >= 0.85 {
                used[i] = true;
                total += s;
            }
        }
    }
    let mean = total / short.len() as f64;
    mean * (0.7 + 0.3 * short.len() as f64 / long.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(a: &str, b: &str) -> f64 {
        name_similarity(&NameKeys::new(a), &NameKeys::new(b))
    }

    #[test]
    fn folding_removes_accents_case_and_punctuation() {
        assert_eq!(fold_name("  José   RODRÍGUEZ "), "jose rodriguez");
        assert_eq!(fold_name("O'Brien-Smith"), "obrien smith");
        assert_eq!(fold_name("Ｊｏｈｎ"), "john");
        assert_eq!(fold_name("Søren Ærø Straße Łukasz"), "soren aero strasse lukasz");
        assert_eq!(NameKeys::new("Smith, John").sorted, NameKeys::new("john smith").sorted);
    }

    #[test]
    fn similarity_follows_the_ladder() {
        assert!(sim("John Smith", "john smith") > 0.99);
        assert!(sim("Smith, John", "John Smith") > 0.99);
        assert!((sim("John", "John Smith") - 0.85).abs() < 1e-9);
        assert!(sim("Jon Smith", "John Smith") > 0.9);
        assert!(sim("Müller", "Muller") > 0.99);
        assert!(sim("J Smith", "John Smith") > 0.85);
        assert_eq!(sim("John", "Jane"), 0.0);
        assert!(sim("John Smith", "Jane Smith") < 0.7);
        assert_eq!(sim("", "John"), 0.0);
    }

    #[test]
    fn letters_that_do_not_decompose_never_break_the_keys() {
        let k = NameKeys::new("Søren Łukasz Ærø Straße Þór 王伟");
        assert!(k.phonetic.contains(&NameKeys::new("Soren").phonetic[0]), "{k:?}");
        assert!(k.phonetic.contains(&NameKeys::new("Lukasz").phonetic[0]), "{k:?}");
        assert!(k.tokens.contains(&"王伟".to_string()));
    }

    #[test]
    fn phonetic_codes_group_spellings() {
        assert_eq!(NameKeys::new("Smith").phonetic, NameKeys::new("Smyth").phonetic);
        assert_eq!(phone_digits("(555) 123-4567"), "5551234567");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::contact::Phone;

    proptest! {
        #[test]
        fn keys_of_any_name_never_panic(s in "\\PC{0,40}") {
            let _ = NameKeys::new(&s);
        }

        #[test]
        fn folding_is_idempotent(s in "\\PC{0,40}") {
            let once = fold_name(&s);
            prop_assert_eq!(fold_name(&once), once);
        }

        #[test]
        fn folding_ignores_case_and_accents(s in "[a-zA-Z ]{1,30}") {
            let accented: String = s.chars().map(|c| match c { 'e' => 'é', 'a' => 'á', 'o' => 'ö', 'u' => 'ü', 'n' => 'ñ', x => x }).collect();
            prop_assert_eq!(fold_name(&accented.to_uppercase()), fold_name(&s));
        }

        #[test]
        fn token_order_does_not_matter(a in "[a-z]{2,8}", b in "[a-z]{2,8}") {
            prop_assert_eq!(NameKeys::new(&format!("{a} {b}")).sorted, NameKeys::new(&format!("{b}, {a}")).sorted);
        }

        #[test]
        fn every_format_of_a_number_has_one_e164(area in 201u32..989, exch in 200u32..999, line in 0u32..9999) {
            let want = format!("+1{area}{exch}{line:04}");
            for raw in [format!("({area}) {exch}-{line:04}"), format!("{area}.{exch}.{line:04}"), format!("+1 {area} {exch} {line:04}"), format!("1-{area}-{exch}-{line:04}")] {
                let p = Phone::parse("phone", &raw, "US");
                prop_assert!(p.is_ok(), "{} does not parse", raw);
                let p = p.unwrap();
                prop_assert_eq!(p.e164(), want.as_str(), "{}", raw);
            }
            let de = Phone::parse("phone", &format!("030 {exch}{line:04}"), "DE");
            let intl = Phone::parse("phone", &format!("+49 30 {exch}{line:04}"), "US");
            if let (Ok(a), Ok(b)) = (de, intl) {
                prop_assert_eq!(a.e164(), b.e164());
            }
        }
    }
}
