//! Expectation-maximisation of the Fellegi-Sunter parameters: how often each agreement level
//! occurs among true matches (m) and among non-matches (u), learnt from the unlabelled
//! comparison vectors of the tenant's own candidate pairs.

use std::collections::HashMap;

use super::address;
use super::compare::{model_levels, vector, Levels, Vector, ADDRESS, MISSING, N_MODEL};
const FIRST_NAME: usize = 0;
const LAST_NAME: usize = 1;
const EMAIL: usize = 2;
use super::model::{Params, Table, CLASSES, MATCH, NAMESAKE, RELATED, STRANGER};

const MAX_ITERATIONS: u32 = 500;
/// EM stops when an iteration improves the log-likelihood by less than this share of it. The
/// parameters themselves may drift on long after (two non-match classes can trade a level
/// between them at almost no cost), so they make a poor stopping rule.
const TOLERANCE: f64 = 1e-9;
/// Pseudo-pairs added to each table, spread by its prior shape. A level the tenant's data
/// never shows in one class (a duplicate that changed companies) then weighs a few bits, not
/// the dozens an estimate of exactly 0 would give; with more data the prior fades.
const PRIOR_PAIRS: f64 = 10.0;
/// Each non-match class is *defined* by what brought its pairs into a block, and that part of
/// it is held at its prior: the related share an address, namesakes agree on everything but
/// their names only by chance, strangers agree on their names only by chance. Learnt freely,
/// a class drifts to whatever non-matches have most in common in the tenant's blocks, and
/// the others fall into the match class.
const ANCHOR_PAIRS: f64 = 1e12;

fn is_name(field: usize) -> bool {
    field == FIRST_NAME || field == LAST_NAME
}

fn prior_pairs(class: usize, field: usize) -> f64 {
    let anchored = match class {
        RELATED => field == ADDRESS,
        NAMESAKE => !is_name(field) && field != EMAIL,
        STRANGER => is_name(field),
        _ => false,
    };
    if anchored {
        ANCHOR_PAIRS
    } else {
        PRIOR_PAIRS
    }
}

/// The distinct comparison vectors and how many pairs have each. Pairs compress to a few
/// thousand vectors, so an iteration costs the same for 3,000 or 3,000,000 pairs.
#[derive(Default)]
pub(super) struct Patterns {
    pub levels: Vec<Levels>,
    pub counts: Vec<u64>,
}

impl Patterns {
    /// Counts one more pair with levels `v`; returns the index of its pattern.
    pub(super) fn add(&mut self, index: &mut HashMap<Levels, u32>, v: Levels) -> u32 {
        self.add_many(index, v, 1)
    }

    /// Counts `n` more pairs with levels `v`; returns the index of its pattern.
    pub(super) fn add_many(&mut self, index: &mut HashMap<Levels, u32>, v: Levels, n: u64) -> u32 {
        let at = *index.entry(v).or_insert_with(|| {
            self.levels.push(v);
            self.counts.push(0);
            u32::try_from(self.levels.len() - 1).unwrap_or(u32::MAX)
        });
        self.counts[at as usize] += n;
        at
    }
}

/// A ladder of level shares for a model field, strongest agreement first.
fn ladder(f: usize, shares: &[f64]) -> Vec<f64> {
    let n = model_levels(f);
    (0..n).map(|l| shares.get(l).copied().unwrap_or(0.0)).collect()
}

/// What each class starts from and is smoothed towards. Matches mostly agree. Related
/// people share family name and address, often a phone or employer, rarely a given name,
/// email or birth date. Namesakes have alike names; strangers agree on names as random pairs
/// do (`u0`), and both agree on the rest as random pairs do to begin with.
fn priors(u0: &Table) -> [Table; CLASSES] {
    // Fields: first, last, email, phone, address, company, birth date, external id.
    let matched: [&[f64]; N_MODEL] = [
        &[0.6, 0.15, 0.15, 0.1],
        &[0.6, 0.15, 0.15, 0.1],
        &[0.6, 0.3, 0.1],
        &[0.6, 0.3, 0.1],
        &[],
        &[0.6, 0.3, 0.1],
        &[0.6, 0.3, 0.1],
        &[0.9, 0.1],
    ];
    let related: [&[f64]; N_MODEL] = [
        &[0.06, 0.04, 0.02, 0.88],
        &[0.8, 0.08, 0.02, 0.1],
        &[0.03, 0.1, 0.87],
        &[0.4, 0.02, 0.58],
        &[],
        &[0.3, 0.03, 0.67],
        &[0.02, 0.03, 0.95],
        &[0.01, 0.99],
    ];
    let table = |shares: [&[f64]; N_MODEL], address: [f64; 3]| -> Table {
        (0..N_MODEL).map(|f| if f == ADDRESS { address::prior(address) } else { ladder(f, shares[f]) }).collect()
    };
    let mut namesake = u0.clone();
    namesake[FIRST_NAME] = ladder(FIRST_NAME, &[0.5, 0.15, 0.05, 0.3]);
    namesake[LAST_NAME] = ladder(LAST_NAME, &[0.7, 0.15, 0.02, 0.13]);
    [table(matched, [0.6, 0.3, 0.1]), table(related, [0.85, 0.05, 0.1]), namesake, u0.clone()]
}

/// Level frequencies over a set of comparisons, missing excluded: the u of random pairs,
/// which are almost all non-matches.
pub(super) fn frequencies(patterns: &Patterns) -> Table {
    let mut counts: Table = (0..N_MODEL).map(|f| vec![0.5; model_levels(f)]).collect();
    for (l, c) in patterns.levels.iter().zip(&patterns.counts) {
        let v = vector(l);
        for f in 0..N_MODEL {
            if v[f] != MISSING {
                counts[f][usize::from(v[f])] += *c as f64;
            }
        }
    }
    for levels in &mut counts {
        let sum: f64 = levels.iter().sum();
        levels.iter_mut().for_each(|c| *c /= sum);
    }
    counts
}

/// Runs EM to convergence over the candidate pairs; returns the parameters, the iterations
/// run and whether it converged. `u0` is what random pairs look like.
pub(super) fn estimate(patterns: &Patterns, u0: &Table) -> (Params, u32, bool) {
    let priors = priors(u0);
    let mut share = [0.0; CLASSES];
    (share[MATCH], share[RELATED], share[NAMESAKE], share[STRANGER]) = (0.05, 0.01, 0.5, 0.44);
    let mut p = Params::new(priors.clone(), share);
    if patterns.levels.is_empty() {
        return (p, 0, true);
    }
    let vectors: Vec<(Vector, f64)> =
        patterns.levels.iter().zip(&patterns.counts).map(|(l, c)| (vector(l), *c as f64)).collect();
    let mut last = f64::NEG_INFINITY;
    for iteration in 1..=MAX_ITERATIONS {
        let (next, likelihood) = step(&vectors, &p, &priors);
        p = next;
        if (likelihood - last).abs() <= TOLERANCE * likelihood.abs() {
            return (p, iteration, true);
        }
        last = likelihood;
    }
    (p, MAX_ITERATIONS, false)
}

/// One EM iteration; also returns the log-likelihood of the data under `p`.
fn step(vectors: &[(Vector, f64)], p: &Params, priors: &[Table; CLASSES]) -> (Params, f64) {
    let zeros = || (0..N_MODEL).map(|f| vec![0.0; model_levels(f)]).collect::<Table>();
    let mut theta: [Table; CLASSES] = std::array::from_fn(|_| zeros());
    let mut share = [0.0; CLASSES];
    let mut likelihood = 0.0;
    for (v, c) in vectors {
        // Expectation: how likely each class is for this vector under the current parameters.
        let (g, l) = p.posterior(v);
        likelihood += c * l;
        for k in 0..CLASSES {
            share[k] += c * g[k];
            for f in 0..N_MODEL {
                if v[f] != MISSING {
                    theta[k][f][usize::from(v[f])] += c * g[k];
                }
            }
        }
    }
    // Maximisation: level shares within each class, smoothed towards the prior.
    for (k, (table, prior)) in theta.iter_mut().zip(priors).enumerate() {
        for (f, (levels, shape)) in table.iter_mut().zip(prior).enumerate() {
            let strength = prior_pairs(k, f);
            let sum: f64 = levels.iter().sum::<f64>() + strength;
            for (x, s) in levels.iter_mut().zip(shape) {
                *x = (*x + strength * s) / sum;
            }
        }
    }
    (Params::new(theta, share), likelihood)
}

#[cfg(test)]
mod tests {
    use super::super::compare::{FIELDS, N_FIELDS};
    use super::*;

    /// A tiny deterministic generator, so the test needs no dependency.
    struct SplitMix(u64);
    impl SplitMix {
        fn unit(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) as f64 / u64::MAX as f64
        }
    }

    #[test]
    fn em_separates_a_known_mixture() {
        let mut rng = SplitMix(7);
        let mut patterns = Patterns::default();
        let mut index = std::collections::HashMap::new();
        let mut non_matches = Patterns::default();
        for n in 0..40_000 {
            let is_match = n < 20_000 && rng.unit() < 0.2;
            let mut v = [MISSING; N_FIELDS];
            for (f, spec) in FIELDS.iter().enumerate() {
                let agree = if is_match { 0.85 } else { 0.08 };
                let x = rng.unit();
                v[f] = if x < 0.1 {
                    MISSING
                } else if rng.unit() < agree {
                    0
                } else {
                    (spec.levels.len() - 1) as u8
                };
            }
            if n >= 20_000 {
                non_matches.levels.push(v);
                non_matches.counts.push(1);
                continue;
            }
            let at = *index.entry(v).or_insert_with(|| {
                patterns.levels.push(v);
                patterns.counts.push(0);
                patterns.levels.len() - 1
            });
            patterns.counts[at] += 1;
        }
        let (p, iterations, converged) = estimate(&patterns, &frequencies(&non_matches));
        assert!(converged, "{iterations}");
        assert!((p.share[MATCH] - 0.2).abs() < 0.03, "{:?}", p.share);
        let u = p.non_match();
        for (f, (m, u)) in p.theta[MATCH].iter().zip(&u).enumerate() {
            let l = usize::from(if f == ADDRESS { address::cell(0, 0, 0) } else { 0 });
            assert!(m[l] > u[l], "field {f}: m {} u {}", m[l], u[l]);
        }
        let all_agree = [0; N_FIELDS];
        let all_differ: Levels = std::array::from_fn(|f| (FIELDS[f].levels.len() - 1) as u8);
        for f in 0..N_FIELDS {
            assert!(p.detail_weight(&all_agree, f, STRANGER) > 1.0, "field {f}");
            assert!(p.detail_weight(&all_differ, f, STRANGER) < -1.0, "field {f}");
        }
        assert!(p.score(&vector(&all_agree)).probability > 0.99);
        assert!(p.score(&vector(&all_differ)).probability < 0.01);
    }
}
