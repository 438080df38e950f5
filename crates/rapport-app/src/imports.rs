//! CSV import (SPEC section 9): each row becomes a create, an update of the customer it
//! already is, a duplicate left out, or an error, decided by the same matching as the chat
//! feed. A dry run reports exactly that and writes nothing; an import is journaled per
//! customer so it can be reverted.
//!
//! Rows are decided against the customers on file before the import: those it creates are
//! never candidates for its later rows, so a dry run and the import itself agree row for
//! row. Within the file, a row repeating an earlier row's email or phone, or matching the
//! customer an earlier row updates, is a duplicate of that row; a row that would add
//! nothing to the customer it matches is a duplicate of that customer. The file is read, checked,
//! decided and written in chunks of `CHUNK` rows, one transaction each (other writers get the
//! database between them, and only one chunk is held decoded); the import's status says
//! whether every chunk landed.

use std::collections::{BTreeMap, HashMap, HashSet};

use rapport_core::audit::{format_time, now};
use rapport_core::customer::{apply_input, diff, plan_merge, undo_plan, CustomerData, InputContext, Source};
use rapport_core::identity::{key, probe_keys, probe_of, Probe, Thresholds};
use rapport_core::import::{read_csv, Mapping};
use rapport_core::role::Permission;
use rapport_core::FieldError;
use rapport_store::{CustomerRow, ImportItemRow, ImportRow};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::customers::matching::{best_link, thresholds_of, Matched, RankedMatch};
use crate::customers::{audit_values, new_customer_row, record_created};
use crate::record::{retry_on_conflict, Trail};
use crate::{Actor, App, AppError, AppResult, Principal, RequestMeta};

/// Rows per transaction.
const CHUNK: usize = 1000;

/// A `running` import with no chunk landed for this long was interrupted.
const STALLED: time::Duration = time::Duration::minutes(10);

/// What to do with a row that may be a customer already on file: a match between the
/// tenant's review and link thresholds that no differing email or phone contradicts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDuplicate {
    /// Leave the row out and report it as a duplicate.
    #[default]
    Skip,
    /// Create it anyway and queue the pair for review.
    Create,
}

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub file_name: Option<String>,
    /// Column header → customer field (null: ignore the column); other columns are
    /// recognised by name.
    pub mapping: BTreeMap<String, Option<String>>,
    pub dry_run: bool,
    pub on_duplicate: OnDuplicate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Create,
    Update,
    Duplicate,
    Error,
}

/// What became of one row.
#[derive(Debug, Clone, Serialize)]
pub struct RowReport {
    /// The line of the file the row starts on; the header is line 1.
    pub line: u64,
    pub outcome: Outcome,
    /// The customer created or updated (a dry run names only those it would update).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<Uuid>,
    /// The fields an update fills.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed_fields: Vec<String>,
    /// The best match on file, for an update or a duplicate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<Matched>,
    /// The earlier row of the file this one repeats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of_line: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<RowError>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RowError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl From<FieldError> for RowError {
    fn from(e: FieldError) -> Self {
        RowError { field: e.field, code: e.code, message: e.message }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub create: u64,
    pub update: u64,
    pub duplicate: u64,
    pub error: u64,
}

impl Counts {
    fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Create => self.create += 1,
            Outcome::Update => self.update += 1,
            Outcome::Duplicate => self.duplicate += 1,
            Outcome::Error => self.error += 1,
        }
    }
}

/// The answer to an import or a dry run.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// The journal entry; none for a dry run.
    pub import: Option<ImportRow>,
    pub dry_run: bool,
    /// Each column with the field it went to (None: ignored).
    pub mapping: Vec<(String, Option<String>)>,
    pub counts: Counts,
    pub rows: Vec<RowReport>,
}

/// A valid row waiting for its decision.
struct Pending {
    line: u64,
    data: CustomerData,
    probe: Probe,
}

/// What the import has done so far, which later chunks decide against.
#[derive(Default)]
struct Progress {
    created: HashSet<Uuid>,
    /// Customers on file updated so far, with the line that did it.
    updated: HashMap<Uuid, u64>,
}

/// An import as it goes: what it has done, its counts and the report of every row read
/// (a row waiting for its chunk's decision has none yet).
struct Run {
    progress: Progress,
    counts: Counts,
    reports: Vec<Option<RowReport>>,
}

impl Run {
    /// A row decided as soon as it was read (an error, a repeat of an earlier row).
    fn push(&mut self, r: RowReport) {
        self.counts.add(r.outcome);
        self.reports.push(Some(r));
    }

    /// A chunk committed (or, in a dry run, decided): later chunks decide against it.
    fn landed(&mut self, chunk: &[(usize, Pending)], done: ChunkDone) {
        self.progress.created.extend(done.created);
        for ((slot, _), r) in chunk.iter().zip(done.rows) {
            self.counts.add(r.outcome);
            if r.outcome == Outcome::Update {
                if let Some(id) = r.customer_id {
                    self.progress.updated.insert(id, r.line);
                }
            }
            self.reports[*slot] = Some(r);
        }
    }
}

/// What every chunk of one import shares.
#[derive(Clone, Copy)]
struct Step<'a> {
    tenant: Uuid,
    by: Option<Uuid>,
    progress: &'a Progress,
    th: Thresholds,
    options: &'a ImportOptions,
    /// None for a dry run.
    journal: Option<&'a ImportRow>,
    /// Rows per outcome before this chunk.
    counts: Counts,
}

/// The decisions and writes of one chunk, applied to `Progress` once it committed.
struct ChunkDone {
    rows: Vec<RowReport>,
    created: Vec<Uuid>,
}

/// The email and phone keys of a probe, by which rows of one file repeat each other.
fn contact_keys(p: &Probe) -> Vec<String> {
    probe_keys(p)
        .into_iter()
        .filter(|(k, _)| *k == key::EMAIL || *k == key::PHONE)
        .map(|(k, v)| format!("{k}:{v}"))
        .collect()
}

fn error_row(line: u64, errors: Vec<FieldError>) -> RowReport {
    RowReport {
        line,
        outcome: Outcome::Error,
        customer_id: None,
        changed_fields: Vec::new(),
        matched: None,
        duplicate_of_line: None,
        errors: errors.into_iter().map(RowError::from).collect(),
    }
}

fn row(line: u64, outcome: Outcome) -> RowReport {
    RowReport {
        line,
        outcome,
        customer_id: None,
        changed_fields: Vec::new(),
        matched: None,
        duplicate_of_line: None,
        errors: Vec::new(),
    }
}

impl App {
    /// `POST /imports`: imports (or, with `dry_run`, only reports) a CSV file of customers.
    pub async fn import_customers(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        file: &[u8],
        options: &ImportOptions,
    ) -> AppResult<ImportReport> {
        p.require(Permission::CustomersImport, "import customers")?;
        self.run_import(p.tenant_id, &p.actor(), meta, file, options).await
    }

    /// An import by any actor (the command line runs it as the system).
    pub async fn run_import(
        &self,
        tenant: Uuid,
        actor: &Actor,
        meta: &RequestMeta,
        file: &[u8],
        options: &ImportOptions,
    ) -> AppResult<ImportReport> {
        let (headers, records) = read_csv(file)?;
        let mapping = Mapping::new(&headers, &options.mapping)?;
        let tenant_row = self.tenant(tenant).await?;
        let th = thresholds_of(&tenant_row.settings);
        let ctx = InputContext {
            region: &tenant_row.phone_region,
            default_source: Source::Import,
            require_contact_point: true,
        };
        let by = (actor.actor_type == "user").then_some(actor.actor_id).flatten();
        let mut journal = if options.dry_run {
            None
        } else {
            let at = now();
            let row = ImportRow {
                id: Uuid::now_v7(),
                tenant_id: tenant,
                file_name: options.file_name.clone(),
                actor_type: actor.actor_type.to_string(),
                actor_id: actor.actor_id,
                options: json!({"mapping": mapping.describe(), "on_duplicate": options.on_duplicate}),
                counts: json!(Counts::default()),
                status: "running".into(),
                created_at: at,
                updated_at: at,
                finished_at: None,
                reverted_at: None,
                reverted_by: None,
                revert_report: None,
            };
            let mut tx = self.store.begin(tenant).await?;
            tx.insert_import(&row).await?;
            tx.commit().await?;
            Some(row)
        };

        // Rows are read, checked and decided a chunk at a time: only one chunk of the file is
        // held decoded. Repeats within the file are found as the rows are read.
        let trail = Trail { actor, meta };
        let mut run = Run { progress: Progress::default(), counts: Counts::default(), reports: Vec::new() };
        let mut pending: Vec<(usize, Pending)> = Vec::with_capacity(CHUNK);
        let mut seen: HashMap<String, u64> = HashMap::new();
        let mut records = records.peekable();
        let mut read_at = std::time::Instant::now();
        while let Some(r) = records.next() {
            let checked = match &r.cells {
                Err(e) => Err(error_row(r.line, vec![e.clone()])),
                Ok(cells) => match apply_input(None, &mapping.row_input(cells), &ctx) {
                    Err(e) => Err(error_row(r.line, e.0)),
                    Ok(a) if a.delete_requested => {
                        let e = FieldError::new("status", "invalid_value", "an imported customer cannot be deleted");
                        Err(error_row(r.line, vec![e]))
                    }
                    Ok(a) => Ok(a.data),
                },
            };
            match checked {
                Err(report) => run.push(report),
                Ok(data) => {
                    let probe = probe_of(&data);
                    let keys = contact_keys(&probe);
                    if let Some(first) = keys.iter().find_map(|k| seen.get(k)) {
                        run.push(RowReport { duplicate_of_line: Some(*first), ..row(r.line, Outcome::Duplicate) });
                    } else {
                        for k in keys {
                            seen.insert(k, r.line);
                        }
                        pending.push((run.reports.len(), Pending { line: r.line, data, probe }));
                        run.reports.push(None);
                    }
                }
            }
            if pending.len() == CHUNK || (records.peek().is_none() && !pending.is_empty()) {
                tracing::debug!(rows = pending.len(), read_in = ?read_at.elapsed(), "import chunk read and checked");
                let step = Step {
                    tenant,
                    by,
                    progress: &run.progress,
                    th,
                    options,
                    journal: journal.as_ref(),
                    counts: run.counts,
                };
                match retry_on_conflict(|| self.import_chunk(&trail, &pending, &step)).await {
                    Ok(done) => run.landed(&pending, done),
                    Err(e) => {
                        if let Some(j) = journal.as_mut() {
                            j.status = "failed".into();
                            j.counts = json!(run.counts);
                            j.finished_at = Some(now());
                            j.updated_at = now();
                            let mut tx = self.store.begin(tenant).await?;
                            tx.update_import(j).await?;
                            tx.commit().await?;
                        }
                        return Err(e);
                    }
                }
                pending.clear();
                read_at = std::time::Instant::now();
            }
        }

        let counts = run.counts;
        if let Some(j) = journal.as_mut() {
            j.status = "completed".into();
            j.counts = json!(counts);
            j.finished_at = Some(now());
            j.updated_at = now();
            let mut tx = self.store.begin(tenant).await?;
            tx.update_import(j).await?;
            trail
                .audit(
                    tx.as_mut(),
                    "customer_imports",
                    j.id,
                    "insert",
                    json!({}),
                    json!({"file_name": j.file_name, "counts": j.counts}),
                )
                .await?;
            tx.commit().await?;
        }
        Ok(ImportReport {
            import: journal,
            dry_run: options.dry_run,
            mapping: mapping.describe(),
            counts,
            rows: run.reports.into_iter().flatten().collect(),
        })
    }

    /// Decides and (unless it is a dry run) writes one chunk of rows, with the import's
    /// counts so far, in one transaction.
    async fn import_chunk(
        &self,
        trail: &Trail<'_>,
        chunk: &[(usize, Pending)],
        step: &Step<'_>,
    ) -> AppResult<ChunkDone> {
        let Step { tenant, by, progress, th, options, .. } = *step;
        let import = step.journal.map(|j| j.id);
        let mut tx = if import.is_some() { self.store.begin(tenant).await? } else { self.store.read(tenant).await? };
        if import.is_some() {
            // Decided one writer at a time, like the chat feed and manual creates: the
            // tenant's identity lock is all of it (every such writer takes it).
            crate::customers::matching::lock_ingests(tx.as_mut()).await?;
        }
        let started = std::time::Instant::now();
        let probes: Vec<Probe> = chunk.iter().map(|(_, r)| r.probe.clone()).collect();
        let ranked = self.rank_many(tx.as_mut(), &probes, &progress.created, true).await?;
        // Whole records of the customers rows would update only.
        let whole = self.whole_rows(tx.as_mut(), ranked.iter().filter_map(|r| best_link(r, &th))).await?;
        let matched_in = started.elapsed();
        let mut rows = Vec::with_capacity(chunk.len());
        let mut updated_here: HashMap<Uuid, u64> = HashMap::new();
        let mut new_rows: Vec<CustomerRow> = Vec::new();
        let mut queued: Vec<(Uuid, Vec<RankedMatch>)> = Vec::new();
        let mut items: Vec<ImportItemRow> = Vec::new();
        for ((_, r), ranked) in chunk.iter().zip(ranked) {
            if let Some(best) = best_link(&ranked, &th) {
                let id = best.id;
                if let Some(line) = progress.updated.get(&id).or_else(|| updated_here.get(&id)) {
                    rows.push(RowReport {
                        duplicate_of_line: Some(*line),
                        matched: Some(Matched::from(best)),
                        ..row(r.line, Outcome::Duplicate)
                    });
                    continue;
                }
                // Deleted since it was ranked (PostgreSQL): the chunk is decided again.
                let old = whole.get(&id).ok_or(AppError::VersionMismatch { current: -1 })?;
                let mut new: CustomerRow = old.clone();
                new.data = plan_merge(&old.data, &[&r.data]);
                let (before, after) = diff(&audit_values(old), &new.data.to_audit_map());
                if after.is_empty() {
                    // Everything the row says is on file already (a file imported again):
                    // a duplicate of that customer, with nothing to write or revert. What
                    // it showed of others still goes to the review queue (below).
                    rows.push(RowReport { matched: Some(Matched::from(best)), ..row(r.line, Outcome::Duplicate) });
                    if import.is_some() {
                        queued.push((id, ranked));
                    }
                    continue;
                }
                updated_here.insert(id, r.line);
                let changed_fields: Vec<String> = after.keys().cloned().collect();
                if import.is_some() {
                    self.write_customer_update(tx.as_mut(), trail, old, new, None).await?;
                }
                if let Some(import_id) = import {
                    let changes: Map<String, Value> = after
                        .into_iter()
                        .map(|(k, a)| {
                            let b = before.get(&k).cloned().unwrap_or(Value::Null);
                            (k, json!({"before": b, "after": a}))
                        })
                        .collect();
                    items.push(ImportItemRow {
                        import_id,
                        line: r.line as i64,
                        action: "update".into(),
                        customer_id: id,
                        changes: Value::Object(changes),
                    });
                }
                rows.push(RowReport {
                    customer_id: Some(id),
                    changed_fields,
                    matched: Some(Matched::from(best)),
                    ..row(r.line, Outcome::Update)
                });
                // The other candidates go to the review queue with the customer updated, as
                // the chat feed queues them with the customer it links to: the row may have
                // given it an email or phone another customer holds.
                if import.is_some() {
                    queued.push((id, ranked));
                }
                continue;
            }
            // Below the link threshold: a match nothing contradicts may be this person; a
            // vetoed one (its email or phone differs) is someone else of that name, created
            // and queued for review as the chat feed does.
            let maybe_same = ranked.iter().find(|m| m.m.confidence >= th.review && !m.m.vetoed);
            if let (Some(m), OnDuplicate::Skip) = (maybe_same, options.on_duplicate) {
                rows.push(RowReport { matched: Some(Matched::from(m)), ..row(r.line, Outcome::Duplicate) });
                continue;
            }
            let to_review = maybe_same.or_else(|| ranked.iter().find(|m| m.m.confidence >= th.review || m.m.vetoed));
            let mut report = RowReport { matched: to_review.map(Matched::from), ..row(r.line, Outcome::Create) };
            if let Some(import_id) = import {
                let c = new_customer_row(tenant, r.data.clone(), by);
                report.customer_id = Some(c.id);
                items.push(ImportItemRow {
                    import_id,
                    line: r.line as i64,
                    action: "create".into(),
                    customer_id: c.id,
                    changes: json!({}),
                });
                if to_review.is_some() {
                    queued.push((c.id, ranked));
                }
                new_rows.push(c);
            }
            rows.push(report);
        }
        if import.is_none() {
            return Ok(ChunkDone { rows, created: Vec::new() });
        }
        tx.insert_customers(&new_rows).await?;
        for c in &new_rows {
            record_created(tx.as_mut(), trail, c).await?;
        }
        let pairs: Vec<_> = queued
            .iter()
            .flat_map(|(id, ranked)| crate::duplicates::pairs_to_queue(tenant, *id, ranked, th.review, "import"))
            .collect();
        tx.upsert_duplicate_pairs(&pairs).await?;
        tx.insert_import_items(&items).await?;
        if let Some(j) = step.journal {
            let mut counts = step.counts;
            for r in &rows {
                counts.add(r.outcome);
            }
            let mut j = j.clone();
            j.counts = json!(counts);
            j.updated_at = now();
            tx.update_import(&j).await?;
        }
        tx.commit().await?;
        tracing::debug!(rows = chunk.len(), ?matched_in, total = ?started.elapsed(), "import chunk written");
        Ok(ChunkDone { rows, created: new_rows.iter().map(|c| c.id).collect() })
    }

    pub async fn get_import(&self, p: &Principal, id: Uuid) -> AppResult<ImportRow> {
        p.require(Permission::CustomersImport, "see imports")?;
        let mut tx = self.store.read(p.tenant_id).await?;
        tx.get_import(id).await?.ok_or(AppError::NotFound("import"))
    }

    /// The tenant's imports, newest first.
    pub async fn list_imports(&self, p: &Principal, before: Option<Uuid>, limit: u32) -> AppResult<Vec<ImportRow>> {
        p.require(Permission::CustomersImport, "see imports")?;
        let mut tx = self.store.read(p.tenant_id).await?;
        Ok(tx.list_imports(before, limit.clamp(1, 200)).await?)
    }

    /// `POST /imports/{id}/revert`: soft-deletes the customers the import created and puts
    /// back the fields it filled, in one transaction. A customer created by it and changed
    /// since (by a person, a chat, a merge) is kept, as is a filled field changed since;
    /// the report lists both.
    pub async fn revert_import(&self, p: &Principal, meta: &RequestMeta, id: Uuid) -> AppResult<ImportRow> {
        p.require(Permission::CustomersImport, "revert imports")?;
        self.run_revert(p.tenant_id, &p.actor(), meta, id).await
    }

    pub async fn run_revert(&self, tenant: Uuid, actor: &Actor, meta: &RequestMeta, id: Uuid) -> AppResult<ImportRow> {
        let by = (actor.actor_type == "user").then_some(actor.actor_id).flatten();
        let trail = Trail { actor, meta };
        let mut tx = self.store.begin(tenant).await?;
        crate::customers::matching::lock_ingests(tx.as_mut()).await?;
        let mut import = tx.get_import(id).await?.ok_or(AppError::NotFound("import"))?;
        match import.status.as_str() {
            "reverted" => {
                return Err(AppError::Conflict("import_already_reverted", "this import was reverted already".into()))
            }
            // An import whose server stopped half-way stays `running`; once no chunk has
            // landed for a while, what did land may be reverted.
            "running" if now() - import.updated_at < STALLED => {
                return Err(AppError::Conflict("import_running", "this import is still running".into()))
            }
            _ => {}
        }
        let region = self.tenant(tenant).await?.phone_region;
        let items = tx.import_items(id).await?;
        let ids: Vec<Uuid> = items.iter().map(|i| i.customer_id).collect();
        let customers: HashMap<Uuid, CustomerRow> =
            tx.get_customers(&ids).await?.into_iter().map(|c| (c.id, c)).collect();
        let (mut deleted, mut reverted) = (0u64, 0u64);
        let mut kept = Vec::new();
        for item in &items {
            let Some(c) = customers.get(&item.customer_id) else { continue };
            if item.action == "create" {
                if c.deleted_at.is_some() {
                    continue;
                }
                if c.version != 1 {
                    kept.push(json!({"line": item.line, "customer_id": c.id, "reason": "changed_since"}));
                    continue;
                }
                self.write_soft_delete(tx.as_mut(), by, &trail, c).await?;
                deleted += 1;
                continue;
            }
            let changes = item.changes.as_object().cloned().unwrap_or_default();
            if c.deleted_at.is_some() {
                kept.push(json!({"line": item.line, "customer_id": c.id, "reason": "deleted_since"}));
                continue;
            }
            let (revert, kept_fields) = undo_plan(&audit_values(c), &changes);
            if !kept_fields.is_empty() {
                kept.push(
                    json!({"line": item.line, "customer_id": c.id, "reason": "changed_since", "fields": kept_fields}),
                );
            }
            if revert.is_empty() {
                continue;
            }
            let ctx = InputContext { region: &region, default_source: c.data.source, require_contact_point: false };
            let applied = apply_input(Some(&c.data), &Value::Object(revert), &ctx)?;
            let mut n = c.clone();
            n.data = applied.data;
            self.write_customer_update(tx.as_mut(), &trail, c, n, None).await?;
            reverted += 1;
        }
        let at = now();
        import.status = "reverted".into();
        import.reverted_at = Some(at);
        import.reverted_by = by;
        import.revert_report = Some(json!({"deleted": deleted, "reverted": reverted, "kept": kept}));
        tx.update_import(&import).await?;
        trail
            .audit(
                tx.as_mut(),
                "customer_imports",
                id,
                "revert",
                json!({"reverted_at": null}),
                json!({"reverted_at": format_time(at), "report": import.revert_report}),
            )
            .await?;
        tx.commit().await?;
        Ok(import)
    }
}
