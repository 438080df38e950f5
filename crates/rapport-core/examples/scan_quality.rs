//! Measures the duplicate scan on a labelled synthetic tenant: precision, recall, F1, time.
//!
//! `cargo run --release -p rapport-core --example scan_quality -- --records 20000 --dup-rate 0.2
//! --seed 1 --threshold 0.9 [--errors 10] [--model]`

#[path = "scan_quality/gen.rs"]
mod gen;

use std::process::ExitCode;
use std::time::Instant;

use rapport_core::identity::scan::{scan, ScanOptions, ScanPair, ScanRecord};

struct Args {
    records: usize,
    dup_rate: f64,
    seed: u64,
    threshold: f64,
    errors: usize,
    model: bool,
}

fn parse() -> Result<Args, String> {
    let mut a = Args { records: 20_000, dup_rate: 0.2, seed: 1, threshold: 0.9, errors: 0, model: false };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--model" {
            a.model = true;
            continue;
        }
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--records" => a.records = value.parse().map_err(|e| bad(&e))?,
            "--dup-rate" => a.dup_rate = value.parse().map_err(|e| bad(&e))?,
            "--seed" => a.seed = value.parse().map_err(|e| bad(&e))?,
            "--threshold" => a.threshold = value.parse().map_err(|e| bad(&e))?,
            "--errors" => a.errors = value.parse().map_err(|e| bad(&e))?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(a)
}

fn show(label: &str, r: &[&ScanRecord], pair: Option<&ScanPair>) {
    println!("  {label}");
    for x in r {
        println!(
            "    {:?} | {:?} | {:?} | {:?}, {:?}, {:?} | {:?} | {:?} | {:?}",
            x.name, x.emails, x.phones, x.street, x.city, x.postal_code, x.company, x.birth_date, x.external_id
        );
    }
    if let Some(p) = pair {
        let ev: Vec<String> = p.evidence.iter().map(|e| format!("{}={}({:+.1})", e.field, e.level, e.weight)).collect();
        println!("    p={:.3} w={:+.1} {}", p.probability, p.weight, ev.join(" "));
    }
}

/// A line of /proc/self/status in KiB (0 where there is none).
fn memory(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0.0)
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let data = gen::generate(args.records, args.dup_rate, args.seed);
    let truth = data.true_pairs();
    let opts = ScanOptions { threshold: args.threshold, max_pairs: usize::MAX, ..ScanOptions::default() };
    let before = memory("VmRSS");
    let started = Instant::now();
    let report = scan(&data.records, &opts);
    let elapsed = started.elapsed();
    let peak = memory("VmHWM");

    let tp = report.pairs.iter().filter(|p| truth.contains(&(p.a, p.b))).count();
    let precision = if report.pairs.is_empty() { 1.0 } else { tp as f64 / report.pairs.len() as f64 };
    let recall = if truth.is_empty() { 1.0 } else { tp as f64 / truth.len() as f64 };
    let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
    println!("records          {}", data.records.len());
    println!("true dup pairs   {}", truth.len());
    println!("compared pairs   {}", report.compared);
    println!("skipped blocks   {}", report.skipped_blocks);
    println!("reported pairs   {}", report.pairs.len());
    println!("true positives   {tp}");
    println!("precision        {precision:.4}");
    println!("recall           {recall:.4}");
    println!("F1               {f1:.4}");
    println!("EM iterations    {} (converged: {})", report.model.iterations, report.model.converged);
    println!("elapsed          {:.3} s", elapsed.as_secs_f64());
    println!("memory           {:.0} MiB before the scan, {:.0} MiB at the peak", before / 1024.0, peak / 1024.0);

    if args.model {
        let m = &report.model;
        println!(
            "shares: match {:.4} related {:.4} namesake {:.4} stranger {:.4}",
            m.lambda, m.related, m.namesakes, m.strangers
        );
        for f in &report.model.fields {
            let levels: Vec<String> = f
                .levels
                .iter()
                .map(|l| {
                    let (r, n, s) = (l.u_related, l.u_namesake, l.u_stranger);
                    format!("{} m={:.3} r={r:.3} n={n:.3} s={s:.4} w={:+.1}", l.level, l.m, l.weight)
                })
                .collect();
            println!("  {:12} {}", f.field, levels.join(" | "));
        }
    }
    if args.errors > 0 {
        let by_id: std::collections::HashMap<_, _> = data.records.iter().map(|r| (r.id, r)).collect();
        println!("false positives:");
        for p in report.pairs.iter().filter(|p| !truth.contains(&(p.a, p.b))).take(args.errors) {
            show("", &[by_id[&p.a], by_id[&p.b]], Some(p));
        }
        let all = scan(&data.records, &ScanOptions { threshold: 0.0, max_pairs: usize::MAX, ..opts });
        let scored: std::collections::HashMap<_, _> = all.pairs.iter().map(|p| ((p.a, p.b), p)).collect();
        let mut missed: Vec<_> = truth.iter().filter(|k| !report.pairs.iter().any(|p| (p.a, p.b) == **k)).collect();
        missed.sort();
        let unblocked = missed.iter().filter(|k| !scored.contains_key(k)).count();
        println!("false negatives: {} ({} never blocked together)", missed.len(), unblocked);
        for k in missed.into_iter().take(args.errors) {
            show("", &[by_id[&k.0], by_id[&k.1]], scored.get(k).copied());
        }
    }
    ExitCode::SUCCESS
}
