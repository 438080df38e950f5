//! Identity resolution (SPEC section 4): normalized matching keys and the confidence ladder
//! that decides whether two records are the same person.

mod confidence;
mod normalize;
pub mod scan;

pub use confidence::{name_may_match, score, Candidate, Match, Probe, Reason, Thresholds, NAME_FLOOR};
pub use normalize::{fold_name, name_similarity, name_tokens, phone_digits, tokens_similarity, NameKeys};

use crate::customer::CustomerData;

/// The kinds of matching key.
pub mod key {
    pub const EMAIL: &str = "email";
    pub const PHONE: &str = "phone";
    /// One folded token of a name.
    pub const NAME_TOKEN: &str = "name_token";
    /// The phonetic code of one token of a name.
    pub const PHONETIC: &str = "phonetic";
    /// Two folded tokens of a name, sorted ("john smith" for "Smith, John"); a name of one
    /// token is its own pair. Selective where one token is not: thousands share "john".
    pub const NAME_PAIR: &str = "name_pair";
    /// The phonetic codes of two tokens of a name, sorted ("JN SM0" for "Jon Smyth").
    pub const PHONETIC_PAIR: &str = "phonetic_pair";
    /// One token of a name with the initial of another ("maria r" for "María Rodríguez"):
    /// survives a typo in the other token that changes its sound, and stays selective.
    pub const NAME_INITIAL: &str = "name_initial";
}

/// Tokens of a name beyond this many make no pair keys (a name of 6 makes 15 pairs).
const PAIRED_TOKENS: usize = 6;

/// Every pair of `items` (each sorted and joined by a space), and with `singles` each item
/// alone.
fn pairs(items: &[String], singles: bool) -> Vec<String> {
    let items: Vec<&String> = items.iter().take(PAIRED_TOKENS).collect();
    let mut out: Vec<String> = if singles { items.iter().map(|s| s.to_string()).collect() } else { Vec::new() };
    for (i, a) in items.iter().enumerate() {
        for b in &items[i + 1..] {
            let (x, y) = if a <= b { (a, b) } else { (b, a) };
            out.push(format!("{x} {y}"));
        }
    }
    out
}

/// The matching keys of a customer record, deduplicated. A name of one word is its own
/// pair; longer names have only true pairs, so the pair keys stay selective: thousands of
/// customers have a "john" in their name, few are called just "John".
pub fn matching_keys(d: &CustomerData) -> Vec<(&'static str, String)> {
    keys_of(&probe_of(d), false)
}

/// The keys to look candidates up by, for what is known of a person: its pairs, and each
/// word alone, which finds the customers whose whole name is that word.
pub fn probe_keys(p: &Probe) -> Vec<(&'static str, String)> {
    keys_of(p, true)
}

/// Whether a look-up for this name needs the keys of single words (`name_token`,
/// `phonetic`): only a name of one word does; a longer one finds its candidates by pairs.
pub fn needs_word_keys(name: &str) -> bool {
    NameKeys::new(name).tokens.iter().filter(|t| t.chars().count() > 1).count() < 2
}

fn keys_of(p: &Probe, probe: bool) -> Vec<(&'static str, String)> {
    let mut keys: Vec<(&'static str, String)> = Vec::new();
    keys.extend(p.emails.iter().map(|e| (key::EMAIL, e.clone())));
    keys.extend(p.phones.iter().map(|ph| (key::PHONE, ph.clone())));
    if let Some(n) = &p.name {
        let nk = NameKeys::new(n);
        let tokens: Vec<String> = nk.tokens.into_iter().filter(|t| t.chars().count() > 1).collect();
        let singles = probe || tokens.len() == 1;
        let codes_single = probe || nk.phonetic.len() == 1;
        keys.extend(pairs(&tokens, singles).into_iter().map(|t| (key::NAME_PAIR, t)));
        keys.extend(pairs(&nk.phonetic, codes_single).into_iter().map(|c| (key::PHONETIC_PAIR, c)));
        for (i, t) in tokens.iter().enumerate() {
            for (j, o) in tokens.iter().enumerate().take(PAIRED_TOKENS) {
                if i != j && i < PAIRED_TOKENS {
                    keys.push((key::NAME_INITIAL, format!("{t} {}", o.chars().next().unwrap_or(' '))));
                }
            }
        }
        keys.extend(tokens.into_iter().map(|t| (key::NAME_TOKEN, t)));
        keys.extend(nk.phonetic.into_iter().map(|c| (key::PHONETIC, c)));
    }
    keys.sort();
    keys.dedup();
    keys
}

/// What a customer record says about the person, for scoring.
pub fn probe_of(d: &CustomerData) -> Probe {
    Probe {
        name: Some(d.name.clone()).filter(|n| !n.is_empty()),
        emails: d.email.iter().map(|e| e.normalized().to_string()).collect(),
        phones: d.phone.iter().map(|p| p.e164().to_string()).collect(),
        company: d.company_name.clone(),
        city: d.address.city.clone(),
        postal_code: d.address.postal_code.clone(),
    }
}
