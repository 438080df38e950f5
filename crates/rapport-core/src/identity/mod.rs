//! Identity resolution (SPEC section 4): normalized matching keys and the confidence ladder
//! that decides whether two records are the same person.

mod confidence;
mod normalize;
pub mod scan;

pub use confidence::{score, Candidate, Match, Probe, Reason, Thresholds};
pub use normalize::{fold_name, name_similarity, phone_digits, NameKeys};

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
}

/// Tokens of a name beyond this many make no pair keys (a name of 6 makes 15 pairs).
const PAIRED_TOKENS: usize = 6;

/// Every pair of `items` (each sorted and joined by a space), and each item alone: a record
/// of one token is found by the pairs of a longer name that contains it.
fn pairs(items: &[String]) -> Vec<String> {
    let items: Vec<&String> = items.iter().take(PAIRED_TOKENS).collect();
    let mut out: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    for (i, a) in items.iter().enumerate() {
        for b in &items[i + 1..] {
            let (x, y) = if a <= b { (a, b) } else { (b, a) };
            out.push(format!("{x} {y}"));
        }
    }
    out
}

/// The matching keys of a customer record, deduplicated.
pub fn matching_keys(d: &CustomerData) -> Vec<(&'static str, String)> {
    probe_keys(&probe_of(d))
}

/// The keys to look candidates up by, for what is known of a person.
pub fn probe_keys(p: &Probe) -> Vec<(&'static str, String)> {
    let mut keys: Vec<(&'static str, String)> = Vec::new();
    keys.extend(p.emails.iter().map(|e| (key::EMAIL, e.clone())));
    keys.extend(p.phones.iter().map(|ph| (key::PHONE, ph.clone())));
    if let Some(n) = &p.name {
        let nk = NameKeys::new(n);
        let tokens: Vec<String> = nk.tokens.into_iter().filter(|t| t.chars().count() > 1).collect();
        keys.extend(pairs(&tokens).into_iter().map(|t| (key::NAME_PAIR, t)));
        keys.extend(pairs(&nk.phonetic).into_iter().map(|c| (key::PHONETIC_PAIR, c)));
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
