//! Street, city and postal code weighed together. Among non-matches the three agree together
//! (neighbours, people of one household), so as independent fields they would count one
//! shared address three times, and EM would learn "lives at the same place" instead of "is the
//! same person". The model therefore keeps one joint table over the three levels, and the
//! evidence splits its weight back into the three fields by the chain rule.

use super::compare::MISSING;

/// Levels of each part plus "missing": 4 × 4 × 4 cells, less the one where all are missing.
pub(super) const CELLS: usize = 63;
const PARTS: u8 = 4;
const ABSENT: u8 = 3;

/// The joint cell of three part levels (each an index of a 3-level ladder, or `MISSING`).
pub(super) fn cell(street: u8, city: u8, postal: u8) -> u8 {
    let part = |l: u8| if l == MISSING { ABSENT } else { l.min(ABSENT - 1) };
    let c = part(street) + PARTS * part(city) + PARTS * PARTS * part(postal);
    if usize::from(c) >= CELLS {
        MISSING
    } else {
        c
    }
}

/// `[street, city, postal]` levels of a cell, `ABSENT` for a missing part.
fn parts(cell: usize) -> [u8; 3] {
    let c = u8::try_from(cell).unwrap_or(u8::MAX);
    [c % PARTS, (c / PARTS) % PARTS, c / (PARTS * PARTS)]
}

/// What one part of a cell must be for the cell to count in a sum.
#[derive(Clone, Copy)]
enum Is {
    Absent,
    Present,
    Level(u8),
}

/// Sum of a table over the cells whose parts satisfy `want`.
fn mass(table: &[f64], want: [Is; 3]) -> f64 {
    let fits = |c: usize| {
        let p = parts(c);
        (0..3).all(|k| match want[k] {
            Is::Absent => p[k] == ABSENT,
            Is::Present => p[k] != ABSENT,
            Is::Level(l) => p[k] == l,
        })
    };
    table.iter().enumerate().filter(|(c, _)| fits(*c)).map(|(_, x)| x).sum()
}

/// Which parts of a cell are present, as the constraint that picks the cells like it.
fn presence(cell: usize) -> [Is; 3] {
    parts(cell).map(|l| if l == ABSENT { Is::Absent } else { Is::Present })
}

/// log2 of P(cell | which parts are present): whether a part is missing says nothing.
pub(super) fn log_conditional(table: &[f64]) -> Vec<f64> {
    (0..CELLS).map(|c| (table[c] / mass(table, presence(c))).log2()).collect()
}

/// Per cell, the weights of `[street, city, postal]` of class `a` against class `b`: city
/// first, then postal code given the city level, then street given both, all among cells
/// with the same parts present. They add up to the difference of `log_conditional`; a
/// missing part weighs 0.
pub(super) fn chain_weights(a: &[f64], b: &[f64]) -> Vec<[f64; 3]> {
    (0..CELLS)
        .map(|c| {
            let [s, ci, p] = parts(c);
            let base = presence(c);
            let ratio = |num: [Is; 3], den: [Is; 3]| {
                let w = ((mass(a, num) / mass(a, den)) / (mass(b, num) / mass(b, den))).log2();
                if w.is_finite() {
                    w
                } else {
                    0.0
                }
            };
            let with = |mut w: [Is; 3], k: usize, l: u8| {
                if l != ABSENT {
                    w[k] = Is::Level(l);
                }
                w
            };
            let city = with(base, 1, ci);
            let city_postal = with(city, 2, p);
            let all = with(city_postal, 0, s);
            let keep = |l: u8, w: f64| if l == ABSENT { 0.0 } else { w };
            [keep(s, ratio(all, city_postal)), keep(ci, ratio(city, base)), keep(p, ratio(city_postal, city))]
        })
        .collect()
}

/// The share of each level of one part (0 street, 1 city, 2 postal) where that part is present.
pub(super) fn marginal(table: &[f64], part: usize) -> [f64; 3] {
    let mut out = [0.0; 3];
    for (c, x) in table.iter().enumerate() {
        let l = parts(c)[part];
        if l != ABSENT {
            out[usize::from(l)] += x;
        }
    }
    let sum: f64 = out.iter().sum();
    if sum > 0.0 {
        out.iter_mut().for_each(|x| *x /= sum);
    }
    out
}

/// A table where each part independently has the level shares `part` (exact, similar,
/// different) when present, and is present with probability 0.7: what EM starts from and
/// smooths towards.
pub(super) fn prior(part: [f64; 3]) -> Vec<f64> {
    let part = [0.7 * part[0], 0.7 * part[1], 0.7 * part[2], 0.3];
    let raw: Vec<f64> = (0..CELLS)
        .map(|c| {
            let [s, ci, p] = parts(c);
            part[usize::from(s)] * part[usize::from(ci)] * part[usize::from(p)]
        })
        .collect();
    let sum: f64 = raw.iter().sum();
    raw.into_iter().map(|x| x / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_round_trip_and_all_missing_is_missing() {
        assert_eq!(cell(MISSING, MISSING, MISSING), MISSING);
        for s in [0, 1, 2, MISSING] {
            for c in [0, 1, 2, MISSING] {
                for p in [0, 1, 2, MISSING] {
                    let x = cell(s, c, p);
                    if x != MISSING {
                        let back = parts(usize::from(x)).map(|l| if l == ABSENT { MISSING } else { l });
                        assert_eq!(back, [s, c, p]);
                    }
                }
            }
        }
    }

    #[test]
    fn chain_weights_add_up_to_the_joint_ratio() {
        let m = prior([0.6, 0.3, 0.1]);
        let u: Vec<f64> = (0..CELLS).map(|c| 1.0 / (1.0 + c as f64)).collect();
        let total: f64 = u.iter().sum();
        let u: Vec<f64> = u.into_iter().map(|x| x / total).collect();
        let w = chain_weights(&m, &u);
        let (lm, lu) = (log_conditional(&m), log_conditional(&u));
        for c in 0..CELLS {
            let sum: f64 = w[c].iter().sum();
            assert!((sum - (lm[c] - lu[c])).abs() < 1e-9, "cell {c}");
        }
        let only_city = usize::from(cell(MISSING, 0, MISSING));
        assert_eq!(w[only_city][0], 0.0);
        assert_eq!(w[only_city][2], 0.0);
        assert!(w[only_city][1] != 0.0);
    }
}
