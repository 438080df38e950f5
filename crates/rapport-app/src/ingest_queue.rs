//! Group commit of the chat feed: the ingests of one tenant that arrive together are written
//! by one task in one transaction, each behind its own savepoint, and answered after the one
//! commit, so nothing is acknowledged before it is durable.
//!
//! A tenant's ingests are serialized anyway (one at a time decides who a person is), so a
//! batch takes no concurrency away. It saves, per ingest, a transaction's BEGIN and COMMIT,
//! the hand-off of the writer between requests, and (SQLite) the WAL frames of the pages
//! every ingest touches (the audit head, the counters, the newest index pages), written once
//! per batch. An ingest that fails is rolled back to its savepoint alone and answers its own
//! error; one that met a concurrent change (PostgreSQL), or a batch that could not commit,
//! is run again alone, as it would have run without the queue.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde_json::Value;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::conversations::Ingested;
use crate::{App, AppError, AppResult, Principal, RequestMeta};

/// Ingests written in one transaction at most: a batch holds the tenant's writer for about
/// this many ingests' time.
const BATCH: usize = 32;

/// One conversation to ingest, as the request gave it.
pub(crate) struct IngestJob {
    pub p: Principal,
    pub meta: RequestMeta,
    pub session: String,
    pub body: Value,
}

struct Waiting {
    job: IngestJob,
    reply: oneshot::Sender<AppResult<Ingested>>,
}

/// The ingests waiting per tenant, and whether a task is writing that tenant's.
#[derive(Default)]
pub(crate) struct IngestQueue {
    tenants: Mutex<HashMap<Uuid, VecDeque<Waiting>>>,
}

impl IngestQueue {
    /// Adds `w`; true when no task is writing this tenant's ingests (the caller starts one).
    fn push(&self, tenant: Uuid, w: Waiting) -> bool {
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        match tenants.get_mut(&tenant) {
            Some(q) => {
                q.push_back(w);
                false
            }
            None => {
                tenants.insert(tenant, VecDeque::from([w]));
                true
            }
        }
    }

    /// The next batch of `tenant`; none (and the tenant's task ends) when nothing waits.
    fn next_batch(&self, tenant: Uuid) -> Vec<Waiting> {
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        let Some(q) = tenants.get_mut(&tenant) else { return Vec::new() };
        let batch: Vec<Waiting> = q.drain(..q.len().min(BATCH)).collect();
        if batch.is_empty() {
            tenants.remove(&tenant);
        }
        batch
    }

    /// Forgets the tenant's waiting ingests (their callers get an error): its task stopped.
    fn abandon(&self, tenant: Uuid) {
        self.tenants.lock().unwrap_or_else(|e| e.into_inner()).remove(&tenant);
    }
}

/// Ends the tenant's queue if its task stops without draining it (a panic), so that later
/// ingests start a new task instead of waiting for none.
struct Draining<'a> {
    queue: &'a IngestQueue,
    tenant: Uuid,
    done: bool,
}

impl Drop for Draining<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.queue.abandon(self.tenant);
        }
    }
}

impl App {
    /// Queues `job` behind the tenant's other ingests and waits for its answer.
    pub(crate) async fn queue_ingest(&self, job: IngestJob) -> AppResult<Ingested> {
        let tenant = job.p.tenant_id;
        let (reply, answer) = oneshot::channel();
        if self.ingests.push(tenant, Waiting { job, reply }) {
            let app = self.clone();
            tokio::spawn(async move { app.drain_ingests(tenant).await });
        }
        answer.await.unwrap_or_else(|_| Err(AppError::Unavailable("the ingest was not written; send it again".into())))
    }

    /// Writes the tenant's waiting ingests, a batch at a time, until none waits.
    async fn drain_ingests(&self, tenant: Uuid) {
        let mut guard = Draining { queue: &self.ingests, tenant, done: false };
        loop {
            let batch = self.ingests.next_batch(tenant);
            if batch.is_empty() {
                guard.done = true;
                return;
            }
            self.write_batch(tenant, batch).await;
        }
    }

    /// Writes `batch` in one transaction and answers each; what the batch could not write
    /// runs alone.
    async fn write_batch(&self, tenant: Uuid, batch: Vec<Waiting>) {
        let mut answers: Vec<Option<AppResult<Ingested>>> = Vec::with_capacity(batch.len());
        let written: AppResult<()> = async {
            let mut tx = self.store.begin(tenant).await?;
            self.lock_ingests(tx.as_mut()).await?;
            for w in &batch {
                tx.savepoint().await?;
                match self.ingest_in(tx.as_mut(), &w.job).await {
                    Ok(done) => {
                        tx.release_savepoint().await?;
                        answers.push(Some(Ok(done)));
                    }
                    Err(e) => {
                        tx.rollback_to_savepoint().await?;
                        // A concurrent change is met again alone, with retries.
                        let again = matches!(e, AppError::VersionMismatch { .. });
                        answers.push((!again).then_some(Err(e)));
                    }
                }
            }
            tx.commit().await?;
            Ok(())
        }
        .await;
        if let Err(e) = written {
            tracing::warn!(error = %e, ingests = batch.len(), "an ingest batch did not commit; writing its ingests one by one");
            answers.clear();
        }
        answers.resize_with(batch.len(), || None);
        for (w, answer) in batch.into_iter().zip(answers) {
            let answer = match answer {
                Some(a) => a,
                None => self.put_conversation_alone(&w.job).await,
            };
            // The caller may have gone (its request timed out): the ingest stays written.
            let _ = w.reply.send(answer);
        }
    }
}
