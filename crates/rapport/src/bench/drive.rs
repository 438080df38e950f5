//! Driving the server: a child process, concurrent clients, latency percentiles.

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::Value;
use uuid::Uuid;

use super::BenchArgs;
use crate::config::{DatabaseUrl, DbConfig};

/// What one operation measured.
#[derive(Debug, Clone, Default)]
pub struct OpResult {
    pub name: &'static str,
    pub count: usize,
    pub errors: usize,
    pub throughput_per_s: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// The server's peak resident memory when the operation ended.
    pub peak_rss_bytes: u64,
    pub skipped: Option<String>,
}

impl OpResult {
    pub fn skipped(name: &'static str, why: &str) -> Self {
        Self { name, skipped: Some(why.to_string()), ..Default::default() }
    }

    pub fn from_latencies(name: &'static str, mut lat: Vec<Duration>, errors: usize, wall: Duration) -> Self {
        keep_latencies(name, &lat);
        lat.sort();
        let pct = |p: f64| {
            lat.get(((lat.len() as f64 * p).ceil() as usize).saturating_sub(1))
                .map(|d| d.as_secs_f64() * 1000.0)
                .unwrap_or(0.0)
        };
        Self {
            name,
            count: lat.len(),
            errors,
            throughput_per_s: lat.len() as f64 / wall.as_secs_f64().max(1e-9),
            p50_ms: pct(0.50),
            p95_ms: pct(0.95),
            p99_ms: pct(0.99),
            ..Default::default()
        }
    }
}

/// With RAPPORT_BENCH_LATENCIES set to a directory, writes each operation's latencies in
/// milliseconds, one a line in the order the requests were sent, to `<dir>/<name>.txt`: to
/// see where in a run its slowest requests fall.
fn keep_latencies(name: &str, lat: &[Duration]) {
    let Some(dir) = std::env::var_os("RAPPORT_BENCH_LATENCIES") else { return };
    let text: String = lat.iter().map(|d| format!("{:.3}\n", d.as_secs_f64() * 1000.0)).collect();
    if let Err(e) = std::fs::write(std::path::Path::new(&dir).join(format!("{name}.txt")), text) {
        eprintln!("could not keep the latencies of {name}: {e}");
    }
}

pub struct Server {
    child: Option<tokio::process::Child>,
    task: Option<tokio::task::JoinHandle<()>>,
    pub base: String,
}

/// How long a started server may take to answer `/readyz`.
const READY_WITHIN: Duration = Duration::from_secs(600);

impl Server {
    /// Serves `app` from this process (for the test suite's smoke run, which has no
    /// `rapport` binary to start); memory is then this whole process's.
    pub async fn in_process(app: rapport_app::App) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let router = rapport_http::router(rapport_http::AppState::new(app));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).await;
        });
        Ok(Self { child: None, task: Some(task), base })
    }

    pub async fn start(db: &DbConfig, data_dir: &Path) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let url = match &db.database {
            DatabaseUrl::Sqlite(u) | DatabaseUrl::Postgres(u) => u.clone(),
        };
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database-url", &url, "--data-dir"])
            .arg(data_dir)
            // RAPPORT_BENCH_SERVER_LOG (a RUST_LOG filter) sets the server's log level (it logs to stderr).
            .env("RUST_LOG", std::env::var("RAPPORT_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting the server")?;
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        // A large database opened from a cold disk cache (a copied data directory) takes a
        // while: its schema is checked and its statistics brought up to date first.
        let started = std::time::Instant::now();
        while started.elapsed() < READY_WITHIN {
            if client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
                return Ok(Self { child: Some(child), task: None, base });
            }
            if let Some(status) = child.try_wait()? {
                bail!("the server exited before it was ready ({status})");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("the server did not become ready within {} s", READY_WITHIN.as_secs())
    }

    /// The child's peak resident set (VmHWM), from /proc.
    pub fn peak_rss_bytes(&self) -> u64 {
        let path = match self.child.as_ref().and_then(|c| c.id()) {
            Some(pid) => format!("/proc/{pid}/status"),
            None => "/proc/self/status".to_string(),
        };
        std::fs::read_to_string(path)
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|k| k.parse::<u64>().ok())
            })
            .map(|kib| kib * 1024)
            .unwrap_or(0)
    }

    pub async fn stop(mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill().await;
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

pub async fn login(c: &reqwest::Client, base: &str, email: &str, password: &str) -> anyhow::Result<String> {
    let r: Value = c
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await?
        .json()
        .await?;
    r["access_token"].as_str().map(str::to_string).context("login failed")
}

pub async fn api_key(c: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<String> {
    let r: Value = c
        .post(format!("{base}/api/v1/api-keys"))
        .bearer_auth(token)
        .json(&serde_json::json!({"name": "bench"}))
        .send()
        .await?
        .json()
        .await?;
    r["secret"].as_str().map(str::to_string).context("could not create an API key")
}

/// Whether the server answers this GET with success (a feature that is not built is skipped).
pub async fn supported(c: &reqwest::Client, url: &str, token: &str) -> bool {
    c.get(url).bearer_auth(token).send().await.is_ok_and(|r| r.status().is_success())
}

pub async fn get(c: &reqwest::Client, url: &str, token: &str) -> bool {
    match c.get(url).bearer_auth(token).send().await {
        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
        Err(_) => false,
    }
}

pub async fn get_query(c: &reqwest::Client, url: &str, q: &[(&str, &str)], token: &str) -> bool {
    match c.get(url).query(q).bearer_auth(token).send().await {
        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
        Err(_) => false,
    }
}

pub async fn post_json(c: &reqwest::Client, url: &str, body: &Value, token: &str) -> bool {
    match c.post(url).json(body).bearer_auth(token).send().await {
        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
        Err(_) => false,
    }
}

/// Imports one CSV file; answers the counts of its outcomes.
pub async fn import(
    c: &reqwest::Client,
    base: &str,
    token: &str,
    file: String,
) -> Option<rapport_app::imports::Counts> {
    let r = c
        .post(format!("{base}/api/v1/imports"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(file)
        .send()
        .await
        .ok()?;
    if !r.status().is_success() {
        return None;
    }
    let v: Value = r.json().await.ok()?;
    serde_json::from_value(v["counts"].clone()).ok()
}

/// Runs `a.requests` requests made by `make`, `a.concurrency` at a time, after `a.warmup`
/// that are not counted.
pub async fn measure<F, Fut>(name: &'static str, a: &BenchArgs, mut make: F) -> OpResult
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool> + Send + 'static,
{
    if a.warmup > 0 {
        measure_n(name, a.warmup, a.concurrency, &mut make).await;
    }
    measure_n(name, a.requests, a.concurrency, make).await
}

/// Runs `count` requests made by `make`, `concurrency` at a time.
pub async fn measure_n<F, Fut>(name: &'static str, count: usize, concurrency: usize, mut make: F) -> OpResult
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool> + Send + 'static,
{
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let started = Instant::now();
    let mut handles = Vec::with_capacity(count);
    for _ in 0..count {
        let permit = sem.clone().acquire_owned().await.ok();
        let fut = make();
        handles.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = fut.await;
            drop(permit);
            (t.elapsed(), ok)
        }));
    }
    let mut lat = Vec::with_capacity(handles.len());
    let mut errors = 0;
    for h in handles {
        if let Ok((d, ok)) = h.await {
            lat.push(d);
            errors += usize::from(!ok);
        }
    }
    OpResult::from_latencies(name, lat, errors, started.elapsed())
}

/// Ingests `bodies` as new conversations; answers each reply's customer id and `created`.
pub async fn ingest(
    c: &reqwest::Client,
    base: &str,
    key: &str,
    a: &BenchArgs,
    bodies: Vec<Value>,
) -> (OpResult, Vec<Option<(Uuid, bool)>>) {
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(a.concurrency.max(1)));
    let started = Instant::now();
    let mut handles = Vec::new();
    for body in bodies {
        let permit = sem.clone().acquire_owned().await.ok();
        let (c, url, key) =
            (c.clone(), format!("{base}/api/v1/conversations/bench-{}", Uuid::now_v7().simple()), key.to_string());
        handles.push(tokio::spawn(async move {
            let t = Instant::now();
            let r = c.put(url).bearer_auth(key).json(&body).send().await;
            let answer = match r {
                Ok(r) if r.status().is_success() => r.json::<Value>().await.ok().and_then(|v| {
                    let id = v["customer_id"].as_str().and_then(|s| Uuid::parse_str(s).ok())?;
                    Some((id, v["match"]["created"].as_bool().unwrap_or(false)))
                }),
                _ => None,
            };
            drop(permit);
            (t.elapsed(), answer)
        }));
    }
    let mut lat = Vec::new();
    let mut answers = Vec::new();
    for h in handles {
        if let Ok((d, ans)) = h.await {
            lat.push(d);
            answers.push(ans);
        }
    }
    let errors = answers.iter().filter(|a| a.is_none()).count();
    (OpResult::from_latencies("ingest", lat, errors, started.elapsed()), answers)
}

pub struct Dedup {
    pub missed_links: usize,
    pub wrong_links: usize,
    pub total: usize,
}

/// Compares where each returning person landed with where they should have.
pub fn dedup(expected: &[Option<Uuid>], answers: &[Option<(Uuid, bool)>]) -> Dedup {
    let mut d = Dedup { missed_links: 0, wrong_links: 0, total: 0 };
    for (want, got) in expected.iter().zip(answers) {
        match (want, got) {
            (Some(id), Some((cid, created))) => {
                d.total += 1;
                if *created {
                    d.missed_links += 1;
                } else if cid != id {
                    d.wrong_links += 1;
                }
            }
            (None, Some((_, false))) => d.wrong_links += 1,
            _ => {}
        }
    }
    d
}
