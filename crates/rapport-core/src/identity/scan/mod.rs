//! The duplicate scan (SPEC section 4): finds the same person recorded twice among all of a
//! tenant's customers, Fellegi-Sunter style. Records are blocked on several keys, each
//! candidate pair gets an agreement level per field, EM learns from those unlabelled levels
//! how much each level says (m and u), and pairs whose posterior match probability reaches
//! the threshold are reported with the evidence of every field.
//!
//! Pure: the caller reads the records and stores or shows the result.

mod address;
mod blocking;
mod chance;
mod compare;
mod em;
mod features;
mod model;

use std::collections::HashMap;

use serde::Serialize;
use uuid::Uuid;

use compare::{Comparer, Levels, FIELDS, MISSING, N_FIELDS};
use em::Patterns;
pub use features::ScanInput;
use features::{Features, Strings};
use model::{Params, MATCH, NAMESAKE, RELATED, STRANGER};

/// One live customer, already normalized by the caller.
#[derive(Debug, Clone, Serialize)]
pub struct ScanRecord {
    pub id: Uuid,
    /// As entered; the scan folds it.
    pub name: String,
    /// Normalized, lowercase.
    pub emails: Vec<String>,
    /// E.164 or digits.
    pub phones: Vec<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub company: Option<String>,
    /// E.g. "1980-04-12", from custom fields when present.
    pub birth_date: Option<String>,
    /// From custom fields when present.
    pub external_id: Option<String>,
}

impl ScanRecord {
    /// A record with a name and nothing else, to fill in field by field.
    pub fn new(id: Uuid, name: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
            emails: Vec::new(),
            phones: Vec::new(),
            street: None,
            city: None,
            postal_code: None,
            company: None,
            birth_date: None,
            external_id: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ScanOptions {
    /// Posterior match probability a pair needs to be reported.
    pub threshold: f64,
    /// Blocks with more records than this are skipped (see `blocking::candidates`).
    pub max_block: usize,
    /// At most this many pairs are reported, the most probable first.
    pub max_pairs: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self { threshold: 0.9, max_block: 200, max_pairs: 10_000 }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    /// Pairs with probability >= threshold, best first.
    pub pairs: Vec<ScanPair>,
    /// Candidate pairs compared.
    pub compared: u64,
    /// Blocks skipped for being larger than `max_block`.
    pub skipped_blocks: u64,
    /// Pairs at or above the threshold before `max_pairs` cut the list.
    pub above_threshold: u64,
    pub model: Model,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScanPair {
    /// `a < b`.
    pub a: Uuid,
    pub b: Uuid,
    pub probability: f64,
    /// Sum of the field weights, in bits.
    pub weight: f64,
    /// One entry per field, in a fixed order.
    pub evidence: Vec<FieldEvidence>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldEvidence {
    pub field: &'static str,
    /// "exact", "similar", "initial", "last_7_digits", "partial", "different" or "missing".
    pub level: &'static str,
    /// log2(m/u); 0 when missing.
    pub weight: f64,
}

/// What EM learnt from the tenant's data.
#[derive(Debug, Clone, Serialize)]
pub struct Model {
    pub fields: Vec<FieldModel>,
    /// Share of matches among the candidate pairs.
    pub lambda: f64,
    /// Shares of the non-match classes among the candidate pairs: related (same household),
    /// namesakes, strangers.
    pub related: f64,
    pub namesakes: f64,
    pub strangers: f64,
    pub iterations: u32,
    pub converged: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldModel {
    pub field: &'static str,
    pub levels: Vec<LevelModel>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LevelModel {
    pub level: &'static str,
    /// P(level | match).
    pub m: f64,
    /// P(level | non-match), related and unrelated pairs together.
    pub u: f64,
    /// P(level | related non-match: same household).
    pub u_related: f64,
    /// P(level | namesake: alike names, otherwise unrelated).
    pub u_namesake: f64,
    /// P(level | stranger: in one block for another reason).
    pub u_stranger: f64,
    /// log2(m/u).
    pub weight: f64,
}

/// Scans all records for duplicates. Deterministic: the same records in the same order give
/// the same report.
pub fn scan(records: &[ScanRecord], opts: &ScanOptions) -> ScanReport {
    let mut input = ScanInput::default();
    records.iter().for_each(|r| input.push(r));
    input.scan(opts)
}

impl ScanInput {
    /// Scans the records folded in, as `scan` does.
    pub fn scan(self, opts: &ScanOptions) -> ScanReport {
        let (ids, features, strings) = self.finish();
        run(&ids, &features, &strings, opts)
    }
}

fn run(ids: &[Uuid], features: &[Features], strings: &Strings, opts: &ScanOptions) -> ScanReport {
    let candidates = blocking::candidates(features, opts.max_block.max(2));

    let patterns = count_patterns(ids, features, strings, &candidates);

    let u = chance::unrelated(strings, features);
    let (params, iterations, converged) = em::estimate(&patterns, &u);

    let scored: Vec<model::Score> = patterns.levels.iter().map(|l| params.score(&compare::vector(l))).collect();
    let index: HashMap<Levels, u32> =
        patterns.levels.iter().enumerate().map(|(p, l)| (*l, u32::try_from(p).unwrap_or(u32::MAX))).collect();
    // The pairs are made and compared a second time rather than remembering each pair's
    // pattern: on a large tenant that is millions of entries the server's memory budget does
    // not have.
    let mut hits: Vec<(f64, f64, Uuid, Uuid, u32)> = on_every_core(strings, &candidates, |comparer, part| {
        let mut out = Vec::new();
        candidates.for_each_pair(part, |i, j| {
            let (a, b) = (ids[i as usize], ids[j as usize]);
            if a == b {
                return;
            }
            let Some(&p) = index.get(&comparer.compare(&features[i as usize], &features[j as usize])) else { return };
            let model::Score { probability: prob, weight: w, .. } = scored[p as usize];
            let (a, b) = if a < b { (a, b) } else { (b, a) };
            if prob >= opts.threshold {
                out.push((prob, w, a, b, p));
            }
        });
        out
    })
    .into_iter()
    .flatten()
    .collect();
    hits.sort_by(|x, y| y.0.total_cmp(&x.0).then(y.1.total_cmp(&x.1)).then(x.2.cmp(&y.2)).then(x.3.cmp(&y.3)));
    let above_threshold = hits.len() as u64;
    hits.truncate(opts.max_pairs);
    let pairs = hits
        .into_iter()
        .map(|(probability, weight, a, b, p)| ScanPair {
            a,
            b,
            probability,
            weight,
            evidence: evidence(&params, &patterns.levels[p as usize], scored[p as usize].rival),
        })
        .collect();

    ScanReport {
        pairs,
        compared: patterns.counts.iter().sum(),
        skipped_blocks: candidates.skipped_blocks,
        above_threshold,
        model: model(&params, iterations, converged),
    }
}

/// Runs `work` over the candidate pairs split across the machine's cores (by ranges of
/// records), each worker with its own comparer; answers the workers' results in the order
/// of their parts.
fn on_every_core<T: Send>(
    strings: &Strings,
    candidates: &blocking::Candidates,
    work: impl Fn(&mut Comparer, std::ops::Range<u32>) -> T + Sync,
) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let work = &work;
    std::thread::scope(|s| {
        let workers: Vec<_> = candidates
            .split(threads)
            .into_iter()
            .map(|part| s.spawn(move || work(&mut Comparer::new(strings), part)))
            .collect();
        // A worker that panicked is a bug in the comparison: fail loudly rather than report a
        // scan that silently left pairs out.
        workers.into_iter().map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}

/// The distinct comparison vectors of the candidate pairs and how many pairs have each, in a
/// canonical order, so that EM adds the same numbers in the same order however the pairs were
/// split. The same records give the same answer whatever the number of threads.
fn count_patterns(
    ids: &[Uuid],
    features: &[Features],
    strings: &Strings,
    candidates: &blocking::Candidates,
) -> Patterns {
    let parts = on_every_core(strings, candidates, |comparer, part| {
        let mut patterns = Patterns::default();
        let mut index: HashMap<Levels, u32> = HashMap::new();
        candidates.for_each_pair(part, |i, j| {
            let (x, y) = (i as usize, j as usize);
            if ids[x] != ids[y] {
                patterns.add(&mut index, comparer.compare(&features[x], &features[y]));
            }
        });
        patterns
    });
    let mut merged: HashMap<Levels, u64> = HashMap::new();
    for part in parts {
        for (l, c) in part.levels.into_iter().zip(part.counts) {
            *merged.entry(l).or_default() += c;
        }
    }
    let mut all: Vec<(Levels, u64)> = merged.into_iter().collect();
    all.sort_unstable_by_key(|(l, _)| *l);
    Patterns { levels: all.iter().map(|(l, _)| *l).collect(), counts: all.iter().map(|(_, c)| *c).collect() }
}

/// Each field's weight against the likelier non-match explanation of the pair (a relative
/// or a stranger), so the evidence says what tells this pair apart from that.
fn evidence(params: &Params, v: &Levels, rival: usize) -> Vec<FieldEvidence> {
    FIELDS
        .iter()
        .enumerate()
        .map(|(f, spec)| FieldEvidence {
            field: spec.name,
            level: if v[f] == MISSING { "missing" } else { spec.levels[usize::from(v[f])] },
            weight: params.detail_weight(v, f, rival),
        })
        .collect()
}

/// The model per detail field. Street, city and postal code are estimated jointly; what is
/// shown for each is its marginal share where present.
fn model(params: &Params, iterations: u32, converged: bool) -> Model {
    let non_match = params.non_match();
    let first_address = compare::MODEL_OF.iter().position(|m| *m == compare::ADDRESS).unwrap_or(0);
    let fields = (0..N_FIELDS)
        .map(|f| {
            let mf = compare::MODEL_OF[f];
            let tables = [
                &params.theta[MATCH][mf],
                &non_match[mf],
                &params.theta[RELATED][mf],
                &params.theta[NAMESAKE][mf],
                &params.theta[STRANGER][mf],
            ];
            let [m, u, r, ns, st] = tables.map(|t| {
                if mf == compare::ADDRESS {
                    address::marginal(t, f - first_address).to_vec()
                } else {
                    t.clone()
                }
            });
            let levels = FIELDS[f]
                .levels
                .iter()
                .enumerate()
                .map(|(l, level)| LevelModel {
                    level,
                    m: m[l],
                    u: u[l],
                    u_related: r[l],
                    u_namesake: ns[l],
                    u_stranger: st[l],
                    weight: (m[l] / u[l]).log2(),
                })
                .collect();
            FieldModel { field: FIELDS[f].name, levels }
        })
        .collect();
    Model {
        fields,
        lambda: params.share[MATCH],
        related: params.share[RELATED],
        namesakes: params.share[NAMESAKE],
        strangers: params.share[STRANGER],
        iterations,
        converged,
    }
}
