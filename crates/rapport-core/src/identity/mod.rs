//! Identity resolution (SPEC section 4): normalized matching keys and the confidence ladder
//! that decides whether two records are the same person.

mod confidence;
mod normalize;

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
        keys.extend(nk.tokens.into_iter().filter(|t| t.chars().count() > 1).map(|t| (key::NAME_TOKEN, t)));
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
