//! How often fields agree by chance: the level shares of the unrelated class, from pairs of
//! records drawn at random, with the exact levels of the identifying fields counted over all
//! pairs instead. A random sample cannot see a shared email (one pair in millions), and the
//! weight of an exact email hinges on exactly that rarity.

use std::collections::HashMap;
use std::hash::Hash;

use super::compare::{self, Levels, BIRTH, COMPANY, EMAIL, EXTERNAL, PHONE};
use super::em::{frequencies, Patterns};
use super::features::{Features, Strings};
use super::model::Table;

/// Random pairs sampled; plenty for levels of a few per mille.
const RANDOM_PAIRS: u64 = 50_000;

pub(super) fn unrelated(strings: &Strings, features: &[Features]) -> Table {
    let mut u = frequencies(&random_pairs(strings, features));
    let exact: [(usize, Option<f64>); 5] = [
        (EMAIL, agreeing(features, |f| f.emails.iter().map(|e| e.id).collect())),
        (PHONE, agreeing(features, |f| f.phones.iter().map(|p| p.digits).collect())),
        (COMPANY, agreeing(features, |f| f.company.into_iter().collect())),
        (BIRTH, agreeing(features, |f| f.birth.into_iter().collect())),
        (EXTERNAL, agreeing(features, |f| f.external.into_iter().collect())),
    ];
    for (field, share) in exact {
        let Some(share) = share else { continue };
        // The other levels keep their sampled proportions in what is left.
        let levels = &mut u[compare::MODEL_OF[field]];
        let rest: f64 = levels[1..].iter().sum();
        if rest > 0.0 {
            let scale = (1.0 - share) / rest;
            levels[1..].iter_mut().for_each(|p| *p *= scale);
        }
        levels[0] = share;
    }
    u
}

/// Share of the pairs of records that both have the field in which they share a value, or
/// None when fewer than two records have it.
fn agreeing<K: Hash + Eq>(features: &[Features], values: impl Fn(&Features) -> Vec<K>) -> Option<f64> {
    let mut counts: HashMap<K, u64> = HashMap::new();
    let mut present = 0u64;
    for f in features {
        let v = values(f);
        present += u64::from(!v.is_empty());
        for k in v {
            *counts.entry(k).or_default() += 1;
        }
    }
    if present < 2 {
        return None;
    }
    let pairs = (present * (present - 1) / 2) as f64;
    let agree: f64 = counts.values().map(|c| (c * (c - 1) / 2) as f64).sum();
    // Half a pair of smoothing: never seen is rare, not impossible.
    Some(((agree + 0.5) / pairs).min(0.5))
}

/// Comparison vectors of pseudo-random pairs (a fixed seed, so the scan stays deterministic).
/// Among n records almost every random pair is a non-match.
fn random_pairs(strings: &Strings, features: &[Features]) -> Patterns {
    let mut patterns = Patterns::default();
    let n = features.len() as u64;
    if n < 2 {
        return patterns;
    }
    let mut index: HashMap<Levels, u32> = HashMap::new();
    let mut state: u64 = 0x5eed_0fd0_0b1e;
    let mut next = || {
        // SplitMix64: tiny and good enough to pick indexes.
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for _ in 0..RANDOM_PAIRS.min(n * (n - 1) / 2) {
        let i = next() % n;
        let j = (i + 1 + next() % (n - 1)) % n;
        patterns.add(&mut index, compare::compare(strings, &features[i as usize], &features[j as usize]));
    }
    patterns
}
