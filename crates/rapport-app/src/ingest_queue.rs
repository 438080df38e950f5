//! Group commit of the chat feed: the ingests of one tenant that arrive together are written
//! by one task in one transaction, and answered after the one commit, so nothing is
//! acknowledged before it is committed. The conversations new to the tenant are decided and
//! written together (`ingest_together`); the others each behind a savepoint of its own.
//!
//! A tenant's ingests are serialized anyway (one at a time decides who a person is), so a
//! batch takes no concurrency away. It saves, per ingest, a transaction's BEGIN and COMMIT,
//! the hand-off of the writer between requests, and (SQLite) the WAL frames of the pages
//! every ingest touches (the audit head, the counters, the newest index pages), written once
//! per batch. An ingest that fails is rolled back to its savepoint alone and answers its own
//! error; one that met a concurrent change (PostgreSQL) runs again in place; a batch that
//! could not commit runs its ingests again alone, in order, as without the queue.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde_json::Value;
use tokio::sync::oneshot;
use tracing::Instrument;
use uuid::Uuid;

use crate::conversations::Ingested;
use crate::{App, AppError, AppResult, Principal, RequestMeta};

/// Times an ingest that met a concurrent change runs again inside its batch.
const RETRIES: usize = 10;

/// Ingests written in one transaction at most: a batch holds the tenant's writer for about
/// this many ingests' time.
const BATCH: usize = 32;

/// Ingests of one tenant waiting at most. Past it an ingest is refused at once (503: send it
/// again) instead of waiting behind seconds of others' work for an answer its caller would
/// have stopped waiting for; the queue's memory stays bounded under overload.
const WAITING: usize = 1_024;

/// One conversation to ingest, as the request gave it.
pub(crate) struct IngestJob {
    pub p: Principal,
    pub meta: RequestMeta,
    pub session: String,
    pub body: Value,
    /// The request's tracing span: what the batch task logs of this ingest is logged in it.
    pub span: tracing::Span,
}

pub(crate) struct Waiting {
    job: IngestJob,
    reply: oneshot::Sender<AppResult<Ingested>>,
}

/// The ingests waiting per tenant, and whether a task is writing that tenant's.
pub(crate) struct IngestQueue<T = Waiting> {
    tenants: Mutex<HashMap<Uuid, VecDeque<T>>>,
    /// At most this many wait per tenant (`WAITING`).
    cap: usize,
}

impl<T> Default for IngestQueue<T> {
    fn default() -> Self {
        Self { tenants: Mutex::default(), cap: WAITING }
    }
}

/// What became of an ingest offered to the queue.
#[derive(Debug, PartialEq, Eq)]
enum Pushed<T> {
    /// Queued, and no task is writing the tenant's ingests: the caller starts one.
    Start,
    /// Queued behind others; the tenant's task will write it.
    Queued,
    /// Not queued: the tenant already has `cap` waiting.
    Full(T),
}

impl<T> IngestQueue<T> {
    fn push(&self, tenant: Uuid, w: T) -> Pushed<T> {
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        match tenants.get_mut(&tenant) {
            Some(q) if q.len() >= self.cap => Pushed::Full(w),
            Some(q) => {
                q.push_back(w);
                Pushed::Queued
            }
            None => {
                tenants.insert(tenant, VecDeque::from([w]));
                Pushed::Start
            }
        }
    }

    /// The next batch of `tenant`; none (and the tenant's task ends) when nothing waits.
    fn next_batch(&self, tenant: Uuid) -> Vec<T> {
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        let Some(q) = tenants.get_mut(&tenant) else { return Vec::new() };
        let batch: Vec<T> = q.drain(..q.len().min(BATCH)).collect();
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
        match self.ingests.push(tenant, Waiting { job, reply }) {
            Pushed::Start => {
                let app = self.clone();
                tokio::spawn(async move { app.drain_ingests(tenant).await });
            }
            Pushed::Queued => {}
            Pushed::Full(_) => {
                tracing::warn!(%tenant, waiting = WAITING, "ingest refused: the tenant's queue is full");
                return Err(AppError::Unavailable(format!(
                    "{WAITING} conversations of this tenant are waiting to be written; send it again shortly"
                )));
            }
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

    /// Writes `batch` in one transaction and answers each. An ingest that met a concurrent
    /// change (PostgreSQL) runs again in place, behind a new savepoint, so the batch's order
    /// holds; a batch the database could not start answers its error to all; one that
    /// failed otherwise runs its ingests alone, in order.
    async fn write_batch(&self, tenant: Uuid, batch: Vec<Waiting>) {
        // A caller that gave up (its request timed out) was not acknowledged: its chat is
        // not written (PUT is idempotent; it sends it again).
        let batch: Vec<Waiting> = batch.into_iter().filter(|w| !w.reply.is_closed()).collect();
        if batch.is_empty() {
            return;
        }
        let mut answers: Vec<AppResult<Ingested>> = Vec::with_capacity(batch.len());
        let written: AppResult<()> = async {
            let mut tx = self.store.begin(tenant).await?;
            crate::customers::matching::lock_ingests(tx.as_mut()).await?;
            // The conversations new to the tenant first, together (`ingest_together`); if
            // the group as a whole fails, its ingests run alone below.
            let started = std::time::Instant::now();
            let jobs: Vec<&IngestJob> = batch.iter().map(|w| &w.job).collect();
            tx.savepoint().await?;
            let mut together = match self.ingest_new_together(tx.as_mut(), &jobs).await {
                Ok(done) => {
                    tx.release_savepoint().await?;
                    done
                }
                Err(e) => {
                    tx.rollback_to_savepoint().await?;
                    if matches!(e, AppError::Unavailable(_)) {
                        return Err(e);
                    }
                    tracing::debug!(error = %e, "the new conversations of a batch run alone");
                    Vec::new()
                }
            };
            together.resize_with(batch.len(), || None);
            let (grouped, group_time) = (together.iter().filter(|t| t.is_some()).count(), started.elapsed());
            for (w, done) in batch.iter().zip(together) {
                if let Some(answer) = done {
                    answers.push(answer);
                    continue;
                }
                let mut attempt = 0;
                let answer = loop {
                    tx.savepoint().await?;
                    match self.ingest_in(tx.as_mut(), &w.job).instrument(w.job.span.clone()).await {
                        Ok(done) => {
                            tx.release_savepoint().await?;
                            break Ok(done);
                        }
                        Err(e) => {
                            tx.rollback_to_savepoint().await?;
                            attempt += 1;
                            if !matches!(e, AppError::VersionMismatch { .. }) || attempt >= RETRIES {
                                break Err(e);
                            }
                        }
                    }
                };
                answers.push(answer);
            }
            let before_commit = started.elapsed();
            tx.commit().await?;
            tracing::debug!(
                ingests = batch.len(),
                grouped,
                ?group_time,
                alone_time = ?before_commit - group_time,
                commit_time = ?started.elapsed() - before_commit,
                "ingest batch written"
            );
            Ok(())
        }
        .await;
        let answers: Vec<AppResult<Ingested>> = match written {
            Ok(()) => answers,
            // The database is not there: running each alone would wait for it 32 times.
            Err(AppError::Unavailable(why)) => batch.iter().map(|_| Err(AppError::Unavailable(why.clone()))).collect(),
            Err(e) => {
                tracing::warn!(error = %e, ingests = batch.len(), "an ingest batch did not commit; writing its ingests one by one");
                let mut alone = Vec::with_capacity(batch.len());
                for w in &batch {
                    alone.push(self.put_conversation_alone(&w.job).instrument(w.job.span.clone()).await);
                }
                alone
            }
        };
        for (w, answer) in batch.into_iter().zip(answers) {
            let _ = w.reply.send(answer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_tenant_queue_refuses_and_others_still_queue() {
        let queue: IngestQueue<u32> = IngestQueue { cap: 2, ..IngestQueue::default() };
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(queue.push(a, 1), Pushed::Start);
        assert_eq!(queue.push(a, 2), Pushed::Queued);
        assert_eq!(queue.push(a, 3), Pushed::Full(3));
        assert_eq!(queue.push(b, 4), Pushed::Start, "another tenant has its own queue");
        assert_eq!(queue.next_batch(a), vec![1, 2]);
        // The tenant's task is still running (it ends when it finds nothing): room again.
        assert_eq!(queue.push(a, 5), Pushed::Queued);
        assert_eq!(queue.next_batch(a), vec![5]);
        assert!(queue.next_batch(a).is_empty());
        assert_eq!(queue.push(a, 6), Pushed::Start, "the tenant's task ended with its queue");
    }
}
