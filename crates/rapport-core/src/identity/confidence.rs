//! The confidence ladder of 000/001: email 100, phone 90, name similarity ≥ 70 scored as
//! similarity × 100 and capped at 89, with reasons, a veto, and per-tenant thresholds.

use serde::{Deserialize, Serialize};

use super::normalize::{name_tokens, tokens_similarity};

/// Per-tenant thresholds (0..100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thresholds {
    /// find-or-create links to a match at or above this.
    pub link: u8,
    /// A match at or above this (or a vetoed one) is queued for review.
    pub review: u8,
    /// A manual create whose best match is at or above this answers 409.
    pub block: u8,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { link: 70, review: 50, block: 90 }
    }
}

/// Why two records are thought to be one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub signal: &'static str,
    pub detail: String,
}

/// What is known of the incoming person.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    pub name: Option<String>,
    /// Normalized emails.
    pub emails: Vec<String>,
    /// E.164 phones (or digits for numbers that do not parse).
    pub phones: Vec<String>,
    pub company: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
}

/// What is known of an existing customer.
pub type Candidate = Probe;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Match {
    pub confidence: u8,
    pub reasons: Vec<Reason>,
    /// A name-only match contradicted by differing emails or phones: never linked.
    pub vetoed: bool,
}

fn same(a: &Option<String>, b: &Option<String>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => {
            let (x, y) = (super::fold_name(x), super::fold_name(y));
            !x.is_empty() && x == y
        }
        _ => false,
    }
}

/// How alike two names must be (`tokens_similarity`) for the name to count at all: below
/// it, a name scores nothing and vetoes nothing.
pub const NAME_FLOOR: f64 = 0.70;

/// Whether a customer called `name` could match a person whose name has the words
/// `probe_words` (`name_tokens`) by name: what a candidate found by name keys must pass to
/// be worth reading whole.
pub fn name_may_match(probe_words: &[String], name: &str) -> bool {
    tokens_similarity(probe_words, &name_tokens(name)) >= NAME_FLOOR
}

/// Scores `c` against `p`; `None` when nothing agrees.
pub fn score(p: &Probe, c: &Candidate) -> Option<Match> {
    let mut reasons = Vec::new();
    let mut confidence = 0u8;
    if let Some(e) = p.emails.iter().find(|e| c.emails.contains(e)) {
        confidence = 100;
        reasons.push(Reason { signal: "email", detail: e.clone() });
    }
    if let Some(ph) = p.phones.iter().find(|ph| c.phones.contains(ph)) {
        confidence = confidence.max(90);
        reasons.push(Reason { signal: "phone", detail: ph.clone() });
    }
    let name_score = match (&p.name, &c.name) {
        (Some(a), Some(b)) => {
            let sim = tokens_similarity(&name_tokens(a), &name_tokens(b));
            if sim >= NAME_FLOOR {
                let mut s = (sim * 100.0).round() as u8;
                let mut agree = Vec::new();
                for (signal, x, y) in [
                    ("company", &p.company, &c.company),
                    ("city", &p.city, &c.city),
                    ("postal_code", &p.postal_code, &c.postal_code),
                ] {
                    if same(x, y) {
                        s = s.saturating_add(5);
                        agree.push(Reason { signal, detail: x.clone().unwrap_or_default() });
                    }
                }
                reasons.push(Reason { signal: "name", detail: format!("{b} ({:.0}% alike)", sim * 100.0) });
                reasons.extend(agree);
                Some(s.min(89))
            } else {
                None
            }
        }
        _ => None,
    };
    let mut vetoed = false;
    if let Some(s) = name_score {
        if confidence == 0 {
            let emails_differ = !p.emails.is_empty() && !c.emails.is_empty();
            let phones_differ = !p.phones.is_empty() && !c.phones.is_empty();
            vetoed = emails_differ || phones_differ;
        }
        confidence = confidence.max(s);
    }
    (confidence > 0).then_some(Match { confidence, reasons, vetoed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_alike_enough_may_match() {
        let words = name_tokens("María Rodríguez");
        assert!(name_may_match(&words, "Maria Rodrigez"), "a typo");
        assert!(name_may_match(&words, "Rodriguez, Maria"), "the words swapped");
        assert!(!name_may_match(&words, "Maria Ramos"), "another family name");
        assert!(name_may_match(&words, "Maria"), "a first name alone (the seed's John and John Smith)");
        // The rule `score` applies: what may not match scores nothing by name.
        let c = |n: &str| Candidate { name: Some(n.into()), ..Default::default() };
        let p = probe("María Rodríguez", "", "");
        assert!(score(&p, &c("Maria Ramos")).is_none());
        assert!(score(&p, &c("Maria Rodrigez")).is_some());
    }

    fn probe(name: &str, email: &str, phone: &str) -> Probe {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Probe {
            name: opt(name),
            emails: opt(email).into_iter().collect(),
            phones: opt(phone).into_iter().collect(),
            ..Default::default()
        }
    }

    #[test]
    fn the_ladder() {
        let m = score(&probe("X", "a@b.co", ""), &probe("Y", "a@b.co", "")).unwrap();
        assert_eq!(m.confidence, 100);
        assert_eq!(m.reasons[0], Reason { signal: "email", detail: "a@b.co".into() });
        assert_eq!(score(&probe("", "", "+15551234567"), &probe("Z", "", "+15551234567")).unwrap().confidence, 90);
        let n = score(&probe("John Smith", "", ""), &probe("john smith", "", "")).unwrap();
        assert_eq!(n.confidence, 89, "a name alone never reaches the block threshold");
        assert_eq!(score(&probe("John", "", ""), &probe("Jane", "", "")), None);
    }

    #[test]
    fn seed_example_john_then_john_smith_links() {
        let first = probe("John", "john@email.com", "");
        let second = probe("John Smith", "", "+15551234567");
        let m = score(&second, &first).unwrap();
        assert!(m.confidence >= Thresholds::default().link && !m.vetoed, "{m:?}");
    }

    #[test]
    fn differing_contact_points_veto_a_name_match() {
        let m = score(&probe("John Smith", "john@a.com", ""), &probe("John Smith", "john@b.com", "")).unwrap();
        assert!(m.vetoed);
        let m = score(&probe("John Smith", "", "+1"), &probe("John Smith", "", "+2")).unwrap();
        assert!(m.vetoed);
    }

    #[test]
    fn agreeing_secondary_signals_raise_but_cap_at_89() {
        let mut a = probe("Ann", "", "");
        let mut b = probe("Ann Lee", "", "");
        let base = score(&a, &b).unwrap().confidence;
        a.city = Some("Lyon".into());
        b.city = Some("LYON".into());
        let raised = score(&a, &b).unwrap();
        assert!(raised.confidence > base && raised.confidence <= 89);
        assert!(raised.reasons.iter().any(|r| r.signal == "city"));
    }
}
