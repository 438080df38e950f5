//! The duplicate scan use case (SPEC section 4): reads every live customer of the tenant,
//! runs the Fellegi-Sunter scan of rapport-core over them, and queues the pairs it finds for
//! review with their match probability, per-field evidence and the confidence ladder's
//! verdict beside it.

use std::collections::HashMap;
use std::time::Instant;

use rapport_core::audit::now;
use rapport_core::identity::scan::{Model, ScanInput, ScanOptions, ScanRecord};
use rapport_core::identity::{key, score, Probe};
use rapport_core::role::Permission;
use rapport_store::{DuplicatePairRow, ScanSourceRow, Tx};
use serde::Serialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::{App, AppError, AppResult, Principal};

/// Customers read per page while collecting the tenant's records.
const PAGE: u32 = 5_000;

/// Custom fields read as a date of birth, in order of preference.
const BIRTH_FIELDS: &[&str] = &["birth_date", "date_of_birth", "dob", "birthday"];
/// Custom fields read as an identifier from another system.
const EXTERNAL_ID_FIELDS: &[&str] = &["external_id", "customer_number", "member_id"];

/// Pairs made into review-queue rows and written at a time: a row's evidence, as JSON, is
/// some 7 KB in memory, and the 10,000 pairs of a scan made at once held 75 MiB.
const QUEUE_AT_ONCE: usize = 500;

/// What a caller may tune.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanRequest {
    /// Match probability a pair needs to be queued (0.5..=1, default 0.9).
    pub threshold: Option<f64>,
    /// At most this many pairs are queued, the most probable first (1..=50,000, default 10,000).
    pub max_pairs: Option<usize>,
}

/// What a scan found and queued.
#[derive(Debug, Clone, Serialize)]
pub struct ScanOutcome {
    pub records: u64,
    pub compared: u64,
    pub skipped_blocks: u64,
    /// Pairs at or above the threshold.
    pub found: u64,
    /// Pairs written to the review queue (open ones refreshed; dismissed and merged pairs
    /// stay as they are).
    pub queued: u64,
    pub threshold: f64,
    pub elapsed_ms: u64,
    pub model: Model,
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn first_field(fields: &Map<String, Value>, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| fields.get(*n).and_then(text_of))
}

/// A stored customer as the scan sees it, with the contact points merged into it.
fn record_of(r: ScanSourceRow, extra: &[(String, String)]) -> ScanRecord {
    let mut rec = ScanRecord::new(r.id, r.name);
    rec.emails.extend(r.email_normalized);
    rec.phones.extend(r.phone_e164);
    for (kind, value) in extra {
        let list = if kind == key::EMAIL { &mut rec.emails } else { &mut rec.phones };
        if !list.contains(value) {
            list.push(value.clone());
        }
    }
    rec.street = r.street;
    rec.city = r.city;
    rec.postal_code = r.postal_code;
    rec.company = r.company_name;
    rec.birth_date = first_field(&r.custom_fields, BIRTH_FIELDS);
    rec.external_id = first_field(&r.custom_fields, EXTERNAL_ID_FIELDS);
    rec
}

fn probe_of(r: &ScanRecord) -> Probe {
    Probe {
        name: Some(r.name.clone()),
        emails: r.emails.clone(),
        phones: r.phones.clone(),
        company: r.company.clone(),
        city: r.city.clone(),
        postal_code: r.postal_code.clone(),
    }
}

fn options(req: ScanRequest) -> AppResult<ScanOptions> {
    let mut opts = ScanOptions::default();
    if let Some(t) = req.threshold {
        if !(0.5..=1.0).contains(&t) {
            return Err(AppError::invalid("threshold", "out_of_range", "threshold is a probability from 0.5 to 1"));
        }
        opts.threshold = t;
    }
    if let Some(m) = req.max_pairs {
        if !(1..=50_000).contains(&m) {
            return Err(AppError::invalid("max_pairs", "out_of_range", "max_pairs is from 1 to 50000"));
        }
        opts.max_pairs = m;
    }
    Ok(opts)
}

impl App {
    /// `POST /duplicates/scan`, `rapport dedupe`: scans the whole tenant for duplicates and
    /// queues what it finds for review.
    pub async fn scan_duplicates(&self, p: &Principal, req: ScanRequest) -> AppResult<ScanOutcome> {
        p.require(Permission::CustomersMerge, "scan for duplicates")?;
        self.scan_tenant_duplicates(p.tenant_id, req).await
    }

    /// The scan of one tenant, for the operator (`rapport dedupe`) and for the API.
    pub async fn scan_tenant_duplicates(&self, tenant: Uuid, req: ScanRequest) -> AppResult<ScanOutcome> {
        let opts = options(req)?;
        let started = Instant::now();
        let input = self.scan_input(tenant).await?;
        let n = input.len() as u64;
        // The scan is pure computation for seconds on a large tenant: off the async workers.
        let threshold = opts.threshold;
        let report = tokio::task::spawn_blocking(move || input.scan(&opts))
            .await
            .map_err(|e| AppError::Internal(format!("duplicate scan stopped: {e}")))?;

        // The ladder's verdict on each pair, from the pair's records read again: the scan
        // kept only their folded features. A customer deleted or merged away since is left out.
        let mut ids: Vec<Uuid> = report.pairs.iter().flat_map(|p| [p.a, p.b]).collect();
        ids.sort_unstable();
        ids.dedup();
        let records = self.scan_records(tenant, &ids).await?;
        let by_id: HashMap<Uuid, &ScanRecord> = records.iter().map(|r| (r.id, r)).collect();
        let at = now();
        let mut queued = 0;
        let mut tx = self.store.begin(tenant).await?;
        for chunk in report.pairs.chunks(QUEUE_AT_ONCE) {
            let mut rows = Vec::with_capacity(chunk.len());
            for pair in chunk {
                let (Some(a), Some(b)) = (by_id.get(&pair.a), by_id.get(&pair.b)) else { continue };
                let ladder = score(&probe_of(a), &probe_of(b));
                rows.push(DuplicatePairRow {
                    tenant_id: tenant,
                    customer_a: pair.a,
                    customer_b: pair.b,
                    confidence: ladder.as_ref().map_or(0, |m| i32::from(m.confidence)),
                    reasons: json!(ladder.as_ref().map(|m| m.reasons.clone()).unwrap_or_default()),
                    vetoed: ladder.as_ref().is_some_and(|m| m.vetoed),
                    probability: Some(pair.probability),
                    evidence: Some(json!({"weight": pair.weight, "fields": pair.evidence})),
                    origin: "scan".into(),
                    status: "open".into(),
                    created_at: at,
                    updated_at: at,
                });
            }
            queued += rows.len() as u64;
            tx.upsert_duplicate_pairs(&rows).await?;
        }
        tx.commit().await?;
        Ok(ScanOutcome {
            records: n,
            compared: report.compared,
            skipped_blocks: report.skipped_blocks,
            found: report.above_threshold,
            queued,
            threshold,
            elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            model: report.model,
        })
    }

    /// Every live customer of the tenant, page by page in one read transaction, folded into
    /// the scan's input as it is read.
    async fn scan_input(&self, tenant: Uuid) -> AppResult<ScanInput> {
        let mut tx = self.store.read(tenant).await?;
        tx.get_tenant().await?.ok_or(AppError::NotFound("tenant"))?;
        let mut input = ScanInput::default();
        let mut after = None;
        loop {
            let page = tx.scan_sources(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            let full = page.len() == PAGE as usize;
            let records = with_merged_keys(tx.as_mut(), page).await?;
            // Folding a page (names, sounds, addresses) takes tens of milliseconds: off the
            // async workers, like the scan itself.
            input = tokio::task::spawn_blocking(move || {
                records.iter().for_each(|r| input.push(r));
                input
            })
            .await
            .map_err(|e| AppError::Internal(format!("duplicate scan stopped: {e}")))?;
            if !full {
                break;
            }
        }
        Ok(input)
    }

    /// These live customers of the tenant, as the scan read them.
    async fn scan_records(&self, tenant: Uuid, ids: &[Uuid]) -> AppResult<Vec<ScanRecord>> {
        let mut tx = self.store.read(tenant).await?;
        let rows = tx.scan_sources_of(ids).await?;
        with_merged_keys(tx.as_mut(), rows).await
    }
}

/// Scan records of `rows`, each with the contact points of the customers merged into it.
async fn with_merged_keys(tx: &mut dyn Tx, rows: Vec<ScanSourceRow>) -> AppResult<Vec<ScanRecord>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut extra: HashMap<Uuid, Vec<(String, String)>> = HashMap::new();
    for (id, kind, value) in tx.contact_keys_of(&ids).await? {
        extra.entry(id).or_default().push((kind, value));
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let more = extra.remove(&r.id).unwrap_or_default();
            record_of(r, &more)
        })
        .collect())
}
