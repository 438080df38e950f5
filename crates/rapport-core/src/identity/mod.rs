//! Identity resolution (SPEC section 4): normalized matching keys and the confidence ladder
//! that decides whether two records are the same person.

mod confidence;
mod normalize;

pub use confidence::{score, Candidate, Match, Probe, Reason, Thresholds};
pub use normalize::{fold_name, name_similarity, phone_digits, NameKeys};
