//! The probability model: a candidate pair is a match or one of three kinds of non-match,
//! one for each way two different people land in one block:
//! - *related*: another person of the household (shared address and family name, often a
//!   landline), as in Winkler's three-class EM for census households;
//! - *namesake*: alike names, everything else as between random people;
//! - *stranger*: names as between random people, but sharing a postal code, a birth date or
//!   a phone's last digits.
//!
//! One non-match class would assume that fields agree independently among non-matches; a
//! household breaks that so badly (address, phone and family name agree together) that it
//! looks like a certain match, and mixing namesakes with neighbours makes "same name and same
//! address" look no stronger than either alone. Within each class independence is plausible.

use super::address;
use super::compare::{Levels, Vector, ADDRESS, MISSING, MODEL_OF, N_MODEL};

pub(super) const MATCH: usize = 0;
pub(super) const RELATED: usize = 1;
pub(super) const NAMESAKE: usize = 2;
pub(super) const STRANGER: usize = 3;
pub(super) const CLASSES: usize = 4;
const NON_MATCH: [usize; 3] = [RELATED, NAMESAKE, STRANGER];

/// Probabilities are kept off 0 and 1, so no weight is ever infinite.
const CLAMP: f64 = 1e-8;

/// Per model field, per level (missing excluded).
pub(super) type Table = Vec<Vec<f64>>;

/// The level shares of each class and the share of each class among the candidate pairs.
#[derive(Debug, Clone)]
pub(super) struct Params {
    pub theta: [Table; CLASSES],
    pub share: [f64; CLASSES],
    /// log2 of `theta`; for the address, conditional on which parts are present.
    logs: [Table; CLASSES],
    /// Address weights split into street, city, postal code: match against each class.
    chains: [Vec<[f64; 3]>; CLASSES],
}

/// How one comparison vector scores.
#[derive(Debug, Clone, Copy)]
pub(super) struct Score {
    /// P(match | vector) among candidate pairs.
    pub probability: f64,
    /// log2 P(vector | match) / P(vector | non-match), in bits.
    pub weight: f64,
    /// The likelier non-match class, which the per-field evidence is measured against.
    pub rival: usize,
}

/// Class shares are shares of all pairs: a match may be one pair in a billion.
const SHARE_CLAMP: f64 = 1e-15;

/// Shares summing to 1, none below `floor`.
fn normalize(levels: &mut [f64], floor: f64) {
    for _ in 0..2 {
        let sum: f64 = levels.iter().sum();
        levels.iter_mut().for_each(|p| *p = (*p / sum).max(floor));
    }
}

fn normalized(mut t: Table) -> Table {
    t.iter_mut().for_each(|levels| normalize(levels, CLAMP));
    t
}

/// log2(Σ 2^x) without overflow.
fn log2_sum(xs: impl Iterator<Item = f64> + Clone) -> f64 {
    let top = xs.clone().fold(f64::NEG_INFINITY, f64::max);
    top + xs.map(|x| (x - top).exp2()).sum::<f64>().log2()
}

impl Params {
    pub(super) fn new(theta: [Table; CLASSES], share: [f64; CLASSES]) -> Self {
        let theta = theta.map(normalized);
        let mut share = share;
        normalize(&mut share, SHARE_CLAMP);
        let logs = std::array::from_fn(|k| {
            (0..N_MODEL)
                .map(|f| {
                    if f == ADDRESS {
                        address::log_conditional(&theta[k][f])
                    } else {
                        theta[k][f].iter().map(|p| p.log2()).collect()
                    }
                })
                .collect()
        });
        let chains = std::array::from_fn(|k| address::chain_weights(&theta[MATCH][ADDRESS], &theta[k][ADDRESS]));
        Self { theta, share, logs, chains }
    }

    /// log2(share × P(vector | class)) for each class.
    fn class_logs(&self, v: &Vector) -> [f64; CLASSES] {
        std::array::from_fn(|k| {
            let fields: f64 =
                (0..N_MODEL).filter(|f| v[*f] != MISSING).map(|f| self.logs[k][f][usize::from(v[f])]).sum();
            self.share[k].log2() + fields
        })
    }

    /// The posterior of each class for a vector (the E-step), and log2 P(vector).
    pub(super) fn posterior(&self, v: &Vector) -> ([f64; CLASSES], f64) {
        let l = self.class_logs(v);
        let top = l.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e = l.map(|x| (x - top).exp2());
        let sum: f64 = e.iter().sum();
        (e.map(|x| x / sum), top + sum.log2())
    }

    pub(super) fn score(&self, v: &Vector) -> Score {
        let l = self.class_logs(v);
        let non_match = log2_sum(NON_MATCH.iter().map(|k| l[*k]));
        let prior = self.share[MATCH].log2() - log2_sum(NON_MATCH.iter().map(|k| self.share[*k].log2()));
        let logit = l[MATCH] - non_match;
        let rival = NON_MATCH.iter().copied().max_by(|a, b| l[*a].total_cmp(&l[*b])).unwrap_or(STRANGER);
        Score { probability: 1.0 / (1.0 + (-logit).exp2()), weight: logit - prior, rival }
    }

    /// log2(P(level | match) / P(level | rival)) of one detail field; 0 when missing.
    pub(super) fn detail_weight(&self, levels: &Levels, field: usize, rival: usize) -> f64 {
        let level = levels[field];
        if level == MISSING {
            return 0.0;
        }
        let f = MODEL_OF[field];
        if f != ADDRESS {
            let l = usize::from(level);
            return self.logs[MATCH][f][l] - self.logs[rival][f][l];
        }
        let cell = super::compare::vector(levels)[ADDRESS];
        let part = field - MODEL_OF.iter().position(|m| *m == ADDRESS).unwrap_or(0);
        self.chains[rival].get(usize::from(cell)).map_or(0.0, |w| w[part])
    }

    /// P(level | non-match): the non-match classes mixed by their shares.
    pub(super) fn non_match(&self) -> Table {
        let total: f64 = NON_MATCH.iter().map(|k| self.share[*k]).sum();
        (0..N_MODEL)
            .map(|f| {
                (0..self.theta[MATCH][f].len())
                    .map(|l| NON_MATCH.iter().map(|k| self.share[*k] * self.theta[*k][f][l]).sum::<f64>() / total)
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::compare::model_levels;
    use super::*;

    fn flat() -> Table {
        (0..N_MODEL).map(|f| vec![1.0; model_levels(f)]).collect()
    }

    #[test]
    fn weight_and_probability_agree() {
        let mut m = flat();
        m[0][0] = 200.0;
        let p = Params::new([m, flat(), flat(), flat()], [0.1, 0.2, 0.3, 0.4]);
        let mut v = [MISSING; N_MODEL];
        v[0] = 0;
        let s = p.score(&v);
        let prior = (0.1f64 / 0.9).log2();
        assert!((s.probability - 1.0 / (1.0 + (-(prior + s.weight)).exp2())).abs() < 1e-12);
        let (post, _) = p.posterior(&v);
        assert!((post[MATCH] - s.probability).abs() < 1e-12);
        assert!(s.weight > 1.5, "{}", s.weight);
    }
}
