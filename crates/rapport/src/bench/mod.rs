//! `rapport bench`: generates a realistic data set, loads it through the bulk path, starts a
//! real server as a child process, drives it over HTTP with concurrent clients, and reports
//! throughput, latency percentiles, the server's peak memory and dedup correctness.

mod data;
mod drive;

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use futures::{StreamExt, TryStreamExt};
use rapport_app::users::NewUser;
use rapport_core::customer::Source;
use rapport_core::role::Role;
use serde_json::json;
use uuid::Uuid;

use crate::config::DbConfig;
use data::{Generator, Person};
pub use drive::OpResult;
use rapport_app::bulk::BulkConversation;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Customers in all.
    #[arg(long, default_value_t = 20_000)]
    pub customers: usize,
    /// Tenants; the largest holds a tenth of the customers (all of them when there is one).
    #[arg(long, default_value_t = 4)]
    pub tenants: usize,
    /// Conversations ingested while loading (through find-or-create).
    #[arg(long, default_value_t = 5_000)]
    pub conversations: usize,
    /// Requests per measured operation.
    #[arg(long, default_value_t = 2_000)]
    pub requests: usize,
    /// Requests of each read operation (list, search, stats, engagement) sent before it is
    /// measured and not counted: the clients' first requests open their connections and
    /// meet the server's cold caches (0 measures from the first request, as runs before
    /// 2026-12-06 did).
    #[arg(long, default_value_t = 100)]
    pub warmup: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Duplicate scans of the largest tenant measured (one after another).
    #[arg(long, default_value_t = 3)]
    pub scans: usize,
    /// CSV files imported into the largest tenant, one after another.
    #[arg(long, default_value_t = 4)]
    pub imports: usize,
    /// Rows per imported file.
    #[arg(long, default_value_t = 5_000)]
    pub import_rows: usize,
    /// Share of measured ingests (and imported rows) that are a returning person under
    /// another spelling.
    #[arg(long, default_value_t = 0.3)]
    pub duplicate_rate: f64,
    /// SPEC section 12's size: 1,000,000 customers, 100 tenants, 3,000,000 conversations.
    #[arg(long)]
    pub full: bool,
    /// Where the JSON report goes.
    #[arg(long, default_value = "bench.json")]
    pub out: PathBuf,
    /// Database to load into [default: SQLite in a new directory under the system temp dir].
    #[arg(long, env = "RAPPORT_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Data directory of the loaded database; `rapport serve --data-dir` can use it after.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Measure the data set a previous run loaded into `--data-dir` (and `--database-url`)
    /// instead of loading one: same seed and sizes. It holds what that run's operations
    /// added (ingested chats, imported rows); copy the directory first to measure one state
    /// twice.
    #[arg(long, requires = "data_dir")]
    pub reuse: bool,
    /// Measure only these operations (comma-separated: list, search, ingest, stats,
    /// engagement, import, scan) [default: all]; to profile one operation's server alone.
    #[arg(long, value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(OPERATIONS))]
    pub only: Vec<String>,
    /// Serve from this process instead of a child `rapport serve` (for the test suite).
    #[arg(long, hide = true)]
    pub in_process_server: bool,
}

/// The operations measured, in the order they run.
pub const OPERATIONS: [&str; 7] = ["list", "search", "ingest", "stats", "engagement", "import", "scan"];

impl BenchArgs {
    /// Whether this run measures operation `name`.
    fn measures(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == name)
    }
}

/// The machine a run measured, so that runs on different machines are not compared as if
/// they were one: its processor, cores and memory (Linux; "unknown" elsewhere).
#[derive(Debug, serde::Serialize)]
struct Machine {
    cpu: String,
    cores: usize,
    memory_bytes: u64,
}

impl Machine {
    fn this() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".to_string());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib: u64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        Self {
            cpu,
            cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            memory_bytes: memory_kib * 1024,
        }
    }
}

impl std::fmt::Display for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, {} cores, {:.1} GiB", self.cpu, self.cores, self.memory_bytes as f64 / (1u64 << 30) as f64)
    }
}

/// What a load left in the data directory, for `--reuse`.
#[derive(serde::Serialize, serde::Deserialize)]
struct Manifest {
    /// "sqlite" or "postgres": where the data set was loaded.
    database: String,
    seed: u64,
    customers: usize,
    tenants: usize,
    conversations: usize,
    /// Each tenant's id and owner's login, largest first.
    owners: Vec<(Uuid, String)>,
    customers_seconds: f64,
    conversations_seconds: f64,
    /// The version of the people's generator that made the data set (`data::GENERATOR`):
    /// a reused run draws the largest tenant's people again and finds them by email, which
    /// only works with the draws that made them. Sets loaded before it was recorded are 1.
    #[serde(default = "first_generator")]
    generator: u32,
}

fn first_generator() -> u32 {
    1
}

const MANIFEST: &str = "bench-load.json";

/// The loaded data set: tenants with their owners, and the people of each with their
/// customer ids (of the largest tenant only, when reused).
struct Loaded {
    tenants: Vec<(Uuid, String)>,
    people: Vec<Vec<(Person, Uuid)>>,
    customers_seconds: f64,
    conversations_seconds: f64,
}

/// Customers per tenant: the first (largest) holds a tenth when there are several.
fn tenant_sizes(customers: usize, tenants: usize) -> Vec<usize> {
    if tenants <= 1 {
        return vec![customers];
    }
    let largest = (customers / 10).max(customers / tenants);
    let rest = customers - largest;
    let mut sizes = vec![largest];
    for i in 0..tenants - 1 {
        sizes.push(rest / (tenants - 1) + usize::from(i < rest % (tenants - 1)));
    }
    sizes
}

pub async fn run(mut a: BenchArgs, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let machine = Machine::this();
    writeln!(out, "machine: {machine}")?;
    if a.full {
        (a.customers, a.tenants, a.conversations) = (1_000_000, 100, 3_000_000);
    }
    let data_dir = a
        .data_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("rapport-bench-{}", Uuid::now_v7().simple())));
    let db = DbConfig::resolve(Some(data_dir.clone()), a.database_url.clone(), &Default::default())?;
    // Loading keeps a large page cache: at a million customers the index pages no longer fit
    // the server's 16 MiB and were read again and again (a third of the loader's time).
    let store = crate::serve::connect_with_cache(&db, 1024).await?;
    let secret = crate::serve::jwt_secret(None, &data_dir)?;
    let app = crate::serve::app(store, secret);
    let mut gen = Generator::new(a.seed);
    let password = "bench-password-1";
    let loaded = if a.reuse {
        writeln!(out, "reusing the data set loaded into {}", data_dir.display())?;
        reuse(&a, &app, &data_dir, backend_name(&db), &mut gen).await?
    } else {
        writeln!(out, "loading {} customers in {} tenants into {}", a.customers, a.tenants, data_dir.display())?;
        let loaded = load(&a, &app, &mut gen, password).await?;
        let manifest = Manifest {
            database: backend_name(&db).into(),
            seed: a.seed,
            customers: a.customers,
            tenants: a.tenants,
            conversations: a.conversations,
            owners: loaded.tenants.clone(),
            customers_seconds: loaded.customers_seconds,
            conversations_seconds: loaded.conversations_seconds,
            generator: data::GENERATOR,
        };
        std::fs::write(data_dir.join(MANIFEST), serde_json::to_vec_pretty(&manifest)?)?;
        loaded
    };
    writeln!(
        out,
        "loaded customers in {:.1}s ({:.0}/s), conversations in {:.1}s ({:.0}/s)",
        loaded.customers_seconds,
        a.customers as f64 / loaded.customers_seconds.max(1e-9),
        loaded.conversations_seconds,
        a.conversations as f64 / loaded.conversations_seconds.max(1e-9)
    )?;
    let Loaded { tenants, people, customers_seconds, conversations_seconds } = loaded;
    // Serve from a child process, so its memory is measured alone.
    let server = if a.in_process_server {
        drive::Server::in_process(app.clone()).await?
    } else {
        app.store.close().await;
        drive::Server::start(&db, &data_dir).await?
    };
    let client = reqwest::Client::new();
    let base = server.base.clone();
    let (tenant_id, owner) = &tenants[0];
    let token = drive::login(&client, &base, owner, password).await?;
    let key = drive::api_key(&client, &base, &token).await?;
    let largest: HashMap<String, Uuid> = people[0].iter().map(|(p, id)| (p.email.clone(), *id)).collect();
    let _ = tenant_id;

    let mut results = Vec::new();
    if a.measures("list") {
        record(
            &mut results,
            &server,
            drive::measure("list", &a, || {
                let (c, b, t) = (client.clone(), base.clone(), token.clone());
                async move {
                    drive::get(
                        &c,
                        &format!("{b}/api/v1/customers?lifecycle_stage=lead&tag=vip&sort=-updated_at&limit=50"),
                        &t,
                    )
                    .await
                }
            })
            .await,
        );
    }
    let names: Vec<String> = people[0].iter().take(500).map(|(p, _)| p.name.clone()).collect();
    if a.measures("search") {
        if drive::supported(&client, &format!("{base}/api/v1/customers?q=probe"), &token).await {
            let mut i = 0usize;
            record(
                &mut results,
                &server,
                drive::measure("search", &a, || {
                    i += 1;
                    let q = match i % 3 {
                        0 => {
                            data::name_variant(&names[i % names.len()], &mut rand::SeedableRng::seed_from_u64(i as u64))
                        }
                        1 => people[0][i % people[0].len()].0.email.chars().take(8).collect(),
                        _ => people[0][i % people[0].len()]
                            .0
                            .phone_variant(&mut rand::SeedableRng::seed_from_u64(i as u64)),
                    };
                    let (c, b, t) = (client.clone(), base.clone(), token.clone());
                    async move {
                        drive::get_query(
                            &c,
                            &format!("{b}/api/v1/customers"),
                            &[("q", q.as_str()), ("limit", "20")],
                            &t,
                        )
                        .await
                    }
                })
                .await,
            );
        } else {
            results.push(OpResult::skipped("search", "the server has no q parameter yet"));
        }
    }
    // Ingest: returning people under other spellings at the duplicate rate, new people else.
    let mut expected = Vec::with_capacity(a.requests);
    let mut bodies = Vec::with_capacity(a.requests);
    for _ in 0..a.requests {
        if rand::Rng::gen_bool(&mut gen.rng, a.duplicate_rate.clamp(0.0, 1.0)) {
            let (p, id) = people[0][gen_index(&mut gen, people[0].len())].clone();
            bodies.push(gen.conversation(&p, true));
            expected.push(Some(id));
        } else {
            let p = gen.person();
            bodies.push(gen.conversation(&p, false));
            expected.push(None);
        }
    }
    let mut dedup = drive::Dedup { missed_links: 0, wrong_links: 0, total: 0 };
    if a.measures("ingest") {
        let (ingest, answers) = drive::ingest(&client, &base, &key, &a, bodies).await;
        record(&mut results, &server, ingest);
        dedup = drive::dedup(&expected, &answers);
    }
    let _ = largest;
    for (name, path) in [("stats", "/api/v1/customers/stats"), ("engagement", "/api/v1/analytics/engagement?window=7d")]
    {
        if !a.measures(name) {
            continue;
        }
        if drive::supported(&client, &format!("{base}{path}"), &token).await {
            record(
                &mut results,
                &server,
                drive::measure(name, &a, || {
                    let (c, u, t) = (client.clone(), format!("{base}{path}"), token.clone());
                    async move { drive::get(&c, &u, &t).await }
                })
                .await,
            );
        } else {
            results.push(OpResult::skipped(name, "not served yet"));
        }
    }
    // CSV import into the largest tenant, one file after another: throughput in rows per
    // second, latencies per file.
    let imports = if a.measures("import") { a.imports } else { 0 };
    let files: Vec<String> =
        (0..imports).map(|_| gen.import_csv(a.import_rows, &people[0], a.duplicate_rate)).collect();
    let mut outcomes = rapport_app::imports::Counts::default();
    let import_started = Instant::now();
    let mut latencies = Vec::new();
    let mut import_errors = 0;
    for file in files {
        let t = Instant::now();
        match drive::import(&client, &base, &token, file).await {
            Some(c) => {
                outcomes.create += c.create;
                outcomes.update += c.update;
                outcomes.duplicate += c.duplicate;
                outcomes.error += c.error;
            }
            None => import_errors += 1,
        }
        latencies.push(t.elapsed());
    }
    if imports > 0 {
        let mut import = OpResult::from_latencies("import", latencies, import_errors, import_started.elapsed());
        import.count = imports * a.import_rows;
        import.throughput_per_s = import.count as f64 / import_started.elapsed().as_secs_f64().max(1e-9);
        writeln!(
            out,
            "imported {} rows: {} created, {} updated, {} duplicates, {} errors",
            import.count, outcomes.create, outcomes.update, outcomes.duplicate, outcomes.error
        )?;
        record(&mut results, &server, import);
    }
    // The duplicate scan of the largest tenant, one at a time: it is a batch job, not a
    // request served by the hundred.
    if a.measures("scan") {
        record(
            &mut results,
            &server,
            drive::measure_n("scan", a.scans, 1, || {
                let (c, u, t) = (client.clone(), format!("{base}/api/v1/duplicates/scan"), token.clone());
                async move { drive::post_json(&c, &u, &json!({}), &t).await }
            })
            .await,
        );
    }
    let peak_rss = server.peak_rss_bytes();
    server.stop().await;

    writeln!(
        out,
        "{:<12} {:>8} {:>12} {:>9} {:>9} {:>9} {:>9}",
        "operation", "count", "per second", "p50 ms", "p95 ms", "p99 ms", "peak MiB"
    )?;
    for r in &results {
        match &r.skipped {
            Some(why) => writeln!(out, "{:<12} skipped: {why}", r.name)?,
            None => writeln!(
                out,
                "{:<12} {:>8} {:>12.0} {:>9.2} {:>9.2} {:>9.2} {:>9.1}{}",
                r.name,
                r.count,
                r.throughput_per_s,
                r.p50_ms,
                r.p95_ms,
                r.p99_ms,
                r.peak_rss_bytes as f64 / 1048576.0,
                if r.errors > 0 { format!("  ({} errors)", r.errors) } else { String::new() }
            )?,
        }
    }
    writeln!(out, "server peak resident memory: {:.1} MiB", peak_rss as f64 / 1048576.0)?;
    writeln!(
        out,
        "dedup on {} returning people: {} missed links, {} wrong links",
        dedup.total, dedup.missed_links, dedup.wrong_links
    )?;
    let report = json!({
        "operations": results.iter().filter(|r| r.skipped.is_none()).map(|r| json!({"name": r.name, "count": r.count, "throughput_per_s": r.throughput_per_s, "p50_ms": r.p50_ms, "p95_ms": r.p95_ms, "p99_ms": r.p99_ms, "errors": r.errors, "peak_rss_bytes": r.peak_rss_bytes})).collect::<Vec<_>>(),
        "skipped": results.iter().filter_map(|r| r.skipped.as_ref().map(|w| json!({"name": r.name, "why": w}))).collect::<Vec<_>>(),
        "peak_rss_bytes": peak_rss,
        "dedup": {"missed_links": dedup.missed_links, "wrong_links": dedup.wrong_links, "total": dedup.total},
        "load": {"customers": a.customers, "tenants": a.tenants, "conversations": a.conversations,
                 "customers_seconds": customers_seconds, "conversations_seconds": conversations_seconds, "reused": a.reuse},
        "database": backend_name(&db),
        "data_dir": data_dir,
        "machine": machine,
    });
    std::fs::write(&a.out, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("writing {}", a.out.display()))?;
    writeln!(out, "report written to {}", a.out.display())?;
    Ok(())
}

/// Loads the data set: tenants with owners, customers in batches, conversations through
/// the bulk path.
async fn load(a: &BenchArgs, app: &rapport_app::App, gen: &mut Generator, password: &str) -> anyhow::Result<Loaded> {
    // Load: tenants with owners, customers in batches, conversations through find-or-create.
    let started = Instant::now();
    let mut tenants = Vec::new();
    let mut people: Vec<Vec<(Person, Uuid)>> = Vec::new();
    for (i, size) in tenant_sizes(a.customers, a.tenants).into_iter().enumerate() {
        let email = format!("owner{i}-{}@bench.example.com", Uuid::now_v7().simple());
        let (t, _) = app
            .create_tenant(
                &format!("Bench {i}"),
                NewUser {
                    email: email.clone(),
                    name: "Owner".into(),
                    role: Role::Owner,
                    password: Some(password.into()),
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let sales = sales_people(app, t.id, i, size, password).await?;
        // Two batches in flight: one is checked while the other is written.
        let batches: Vec<Vec<Person>> = (0..size.div_ceil(1000))
            .map(|b| (0..(size - b * 1000).min(1000)).map(|_| gen.person()).collect())
            .collect();
        let ids: Vec<Vec<Uuid>> = futures::stream::iter(batches.iter().map(|batch| {
            let rows: Vec<_> = batch.iter().map(|p| p.as_customer(&sales)).collect();
            let app = app.clone();
            async move { app.bulk_insert_customers(t.id, &rows, Source::Import).await }
        }))
        .buffered(2)
        .try_collect()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        tenants.push((t.id, email));
        people.push(batches.into_iter().flatten().zip(ids.into_iter().flatten()).collect());
    }
    // Statistics of the loaded tables, as a server's periodic refresh would have them.
    app.store.analyze().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let customers_seconds = started.elapsed().as_secs_f64();
    let conv_started = Instant::now();
    let loaded_at = time::OffsetDateTime::now_utc();
    // Through the bulk path, with the same checks, summary, topics, audit and metrics: each
    // tenant gets its share of the conversations by size, to customers drawn at random and
    // loaded in the order of the customers, so that one's conversations mostly share a batch.
    let mut loaded_before = 0usize;
    let mut session_no = 0usize;
    let mut batches = Vec::new();
    for (ti, tenant_people) in people.iter().enumerate() {
        let first = a.conversations * loaded_before / a.customers.max(1);
        loaded_before += tenant_people.len();
        let n = a.conversations * loaded_before / a.customers.max(1) - first;
        let mut picks: Vec<usize> = (0..n).map(|_| gen_index(gen, tenant_people.len())).collect();
        picks.sort_unstable();
        batches.extend(picks.chunks(1000).map(|chunk| (ti, chunk.to_vec())));
    }
    // Made as they are loaded (the bodies of millions would not fit in memory), two
    // batches in flight.
    let made = batches.into_iter().map(|(ti, chunk)| {
        let tenant_people = &people[ti];
        let batch: Vec<BulkConversation> = chunk
            .into_iter()
            .map(|pi| {
                let (person, customer_id) = &tenant_people[pi];
                let mut body = gen.conversation(person, false);
                // History spread over the past year, so "this week" holds a week's share of it.
                let ago = time::Duration::seconds(rand::Rng::gen_range(&mut gen.rng, 0..365 * 86_400));
                body["started_at"] = json!(rapport_core::audit::format_time(loaded_at - ago));
                session_no += 1;
                BulkConversation { customer_id: *customer_id, session_id: format!("load-{session_no}"), body }
            })
            .collect();
        let (app, tenant) = (app.clone(), tenants[ti].0);
        async move { app.bulk_insert_conversations(tenant, &batch).await }
    });
    futures::stream::iter(made)
        .buffer_unordered(2)
        .try_for_each(|()| async { Ok(()) })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let conversations_seconds = conv_started.elapsed().as_secs_f64();
    app.store.analyze().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Loaded { tenants, people, customers_seconds, conversations_seconds })
}

/// A tenant's sales people, to whom its customers are assigned: one for every 10,000
/// customers, at least two and at most ten.
async fn sales_people(
    app: &rapport_app::App,
    tenant: Uuid,
    i: usize,
    size: usize,
    password: &str,
) -> anyhow::Result<Vec<Uuid>> {
    let count = (size / 10_000).clamp(2, 10);
    let mut ids = Vec::with_capacity(count);
    for j in 0..count {
        let user = NewUser {
            email: format!("sales{i}-{j}-{}@bench.example.com", Uuid::now_v7().simple()),
            name: format!("Sales {j}"),
            role: Role::Sales,
            password: Some(password.into()),
        };
        ids.push(app.add_user(tenant, user).await.map_err(|e| anyhow::anyhow!("{e}"))?.id);
    }
    Ok(ids)
}

/// The data set a previous run loaded: its owners from the manifest, the largest tenant's
/// people generated again from the seed (they come first) with their customer ids read by
/// email.
async fn reuse(
    a: &BenchArgs,
    app: &rapport_app::App,
    data_dir: &std::path::Path,
    database: &str,
    gen: &mut Generator,
) -> anyhow::Result<Loaded> {
    let path = data_dir.join(MANIFEST);
    let m: Manifest =
        serde_json::from_slice(&std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?)
            .with_context(|| format!("reading {}", path.display()))?;
    if m.database != database {
        anyhow::bail!(
            "{} was loaded into {}, not {database}: give the same --database-url",
            data_dir.display(),
            m.database
        );
    }
    if (m.seed, m.customers, m.tenants, m.conversations) != (a.seed, a.customers, a.tenants, a.conversations) {
        anyhow::bail!(
            "{} holds {} customers in {} tenants, {} conversations, seed {}: give the same sizes and seed",
            data_dir.display(),
            m.customers,
            m.tenants,
            m.conversations,
            m.seed
        );
    }
    if m.generator != data::GENERATOR {
        anyhow::bail!(
            "{} was generated by version {} of the bench's data set, this build makes version {}: load it again",
            data_dir.display(),
            m.generator,
            data::GENERATOR
        );
    }
    let (tenant, _) = m.owners.first().context("the manifest names no tenant")?.clone();
    let persons: Vec<Person> = (0..tenant_sizes(a.customers, a.tenants)[0]).map(|_| gen.person()).collect();
    let mut ids: HashMap<String, Uuid> = HashMap::new();
    let mut tx = app.store.read(tenant).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut after = None;
    let mut on_file = 0u64;
    loop {
        let page = tx.scan_sources(after, 10_000).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        on_file += page.len() as u64;
        ids.extend(page.into_iter().filter_map(|r| Some((r.email_normalized?, r.id))));
    }
    let people = vec![persons
        .into_iter()
        .filter_map(|p| {
            let email = rapport_core::contact::Email::parse("email", &p.email).ok()?;
            let id = ids.get(email.normalized())?;
            Some((p, *id))
        })
        .collect::<Vec<_>>()];
    anyhow::ensure!(!people[0].is_empty(), "none of the largest tenant's people were found");
    // New people of this run (chats, imported rows) numbered past every earlier run's
    // written ones: from the largest tenant's size, which a run that writes its people
    // raises by far more than a sixty-fourth of those it draws (most become customers); a
    // run that writes none leaves it, and the same people drawn again collide with none on
    // file. So two runs on copies of one data set draw the same people and send the same
    // requests, and can be compared request for request.
    gen.renew(renewal_salt(on_file));
    Ok(Loaded {
        tenants: m.owners,
        people,
        customers_seconds: m.customers_seconds,
        conversations_seconds: m.conversations_seconds,
    })
}

/// Where a reused run numbers its new people: past every person of the load (fewer than
/// 2^32) and of every earlier run on the data set, which left the largest tenant with
/// `on_file` customers.
fn renewal_salt(on_file: u64) -> u64 {
    (1 << 32) + on_file * 64
}

/// Which database `db` is, as the report and the manifest name it.
fn backend_name(db: &DbConfig) -> &'static str {
    match &db.database {
        crate::config::DatabaseUrl::Sqlite(_) => "sqlite",
        crate::config::DatabaseUrl::Postgres(_) => "postgres",
    }
}

/// Adds a measured operation with the server's peak memory so far: the peak only grows, so
/// the operation that raised it shows.
fn record(results: &mut Vec<OpResult>, server: &drive::Server, mut op: OpResult) {
    op.peak_rss_bytes = server.peak_rss_bytes();
    results.push(op);
}

fn gen_index(g: &mut Generator, len: usize) -> usize {
    rand::Rng::gen_range(&mut g.rng, 0..len.max(1))
}
