//! The new conversations of one group commit, found or created together: what one ingest
//! does in some twenty statements, the group does in about as many, so the tenant's writer
//! waits for the database a few times per batch instead of a few hundred.
//!
//! A batch holds requests that arrived together; any order among them is one they could
//! have arrived in. So the conversations new to the tenant (their session on file nowhere,
//! and once only in the batch) are decided first, together, in the batch's order:
//! candidates are ranked for all of them in a few statements, each is linked to its best
//! match or given a new customer in memory, and the rows are then written many to a
//! statement, with the same events, audit entries, review pairs and metrics as one by one
//! (`conversations::ingest_in`).
//!
//! One that may be the same person as another of the group (created or linked by an
//! earlier one, or a candidate of both) is left to run alone after the group, when the
//! group's writes are there to be found: it is decided exactly as if it had come later.
//! Updates of conversations on file also run alone.

use std::collections::{HashMap, HashSet};

use rapport_core::audit::now;
use rapport_core::contact::Phone;
use rapport_core::identity::{probe_of, score, Probe};
use rapport_core::FieldError;
use rapport_store::{ConversationRow, CustomerRow, Tx};
use uuid::Uuid;

use crate::conversation_input::{new_conversation, vocabulary, Contact};
use crate::conversations::{chat_customer, chat_probe, record_new_conversation, Ingested, MatchOutcome};
use crate::customers::matching::{best_link, thresholds_of, RankedMatch};
use crate::customers::{new_customer_row, record_created};
use crate::ingest_queue::IngestJob;
use crate::record::Trail;
use crate::{App, AppError, AppResult};

/// A new conversation of the group, checked, with its person's contact details.
struct Item<'a> {
    /// Its place in the batch.
    at: usize,
    job: &'a IngestJob,
    conversation: ConversationRow,
    contact: Contact,
    probe: Probe,
    phone: Option<Result<Phone, FieldError>>,
}

/// Who an item's conversation goes to.
enum Decision {
    /// The best match on file, filled from the chat.
    Link { best: RankedMatch, old: CustomerRow, last: time::OffsetDateTime },
    /// A new customer.
    Create(CustomerRow),
}

impl App {
    /// Ingests the conversations of `jobs` that are new to the tenant, together, in `tx`
    /// (which holds the tenant's ingest lock). Answers per job: `None` for one left to run
    /// alone (see the module's doc), else its answer. An error of the group as a whole
    /// (the database's) leaves `tx` to be rolled back to before the group.
    pub(crate) async fn ingest_new_together(
        &self,
        tx: &mut dyn Tx,
        jobs: &[&IngestJob],
    ) -> AppResult<Vec<Option<AppResult<Ingested>>>> {
        let mut answers: Vec<Option<AppResult<Ingested>>> = jobs.iter().map(|_| None).collect();
        let mut times: HashMap<&str, usize> = HashMap::new();
        for j in jobs {
            *times.entry(j.session.as_str()).or_default() += 1;
        }
        let once: Vec<String> = times.iter().filter(|(_, n)| **n == 1).map(|(s, _)| s.to_string()).collect();
        if once.is_empty() {
            return Ok(answers);
        }
        let on_file: HashSet<String> = tx.sessions_on_file(&once).await?.into_iter().collect();
        let tenant = tx.get_tenant().await?.ok_or(AppError::NotFound("tenant"))?;
        let (vocab, th, region) =
            (vocabulary(&tenant.settings), thresholds_of(&tenant.settings), tenant.phone_region.as_str());
        let at = now();
        let mut items = Vec::new();
        for (i, job) in jobs.iter().enumerate() {
            if times[job.session.as_str()] != 1 || on_file.contains(&job.session) {
                continue;
            }
            match new_conversation(tenant.id, &job.session, &job.body, at, &vocab) {
                Ok((conversation, contact)) => {
                    let (probe, phone) = chat_probe(&contact, region);
                    items.push(Item { at: i, job, conversation, contact, probe, phone });
                }
                Err(e) => answers[i] = Some(Err(e)),
            }
        }
        if items.is_empty() {
            return Ok(answers);
        }

        let probes: Vec<Probe> = items.iter().map(|it| it.probe.clone()).collect();
        let ranked = self.rank_many(tx, &probes, &HashSet::new(), false).await?;
        let bests: Vec<Option<&RankedMatch>> = ranked.iter().map(|r| best_link(r, &th)).collect();
        let mut on_file_rows = self.whole_rows(tx, bests.iter().flatten().copied()).await?;

        // Decided in order, in memory. `touched`: customers an earlier item links or
        // creates; `created`: what the new ones are known by.
        let mut touched: HashSet<Uuid> = HashSet::new();
        let mut created: Vec<Probe> = Vec::new();
        let mut decided: Vec<(usize, Decision)> = Vec::new();
        for (k, it) in items.iter().enumerate() {
            let same_as_earlier = ranked[k].iter().any(|r| touched.contains(&r.id))
                || created.iter().any(|c| score(&it.probe, c).is_some_and(|m| m.confidence >= th.review || m.vetoed));
            if same_as_earlier {
                continue;
            }
            let last = it.conversation.ended_at.or(it.conversation.started_at).unwrap_or(at);
            let decision = match bests[k] {
                Some(best) => match on_file_rows.remove(&best.id) {
                    Some(old) => Decision::Link { best: best.clone(), old, last },
                    // Deleted since it was ranked (PostgreSQL): decided alone.
                    None => continue,
                },
                None => match chat_customer(&it.contact, it.phone.as_ref(), region, last) {
                    Ok(data) => {
                        created.push(probe_of(&data));
                        Decision::Create(new_customer_row(tenant.id, data, None))
                    }
                    Err(e) => {
                        answers[it.at] = Some(Err(e));
                        continue;
                    }
                },
            };
            touched.insert(match &decision {
                Decision::Link { best, .. } => best.id,
                Decision::Create(row) => row.id,
            });
            decided.push((k, decision));
        }
        if decided.is_empty() {
            return Ok(answers);
        }

        let actors: Vec<_> = items.iter().map(|it| App::ingest_actor(&it.job.p, &it.job.session)).collect();
        let trail = |k: usize| Trail { actor: &actors[k], meta: &items[k].job.meta };
        let new_rows: Vec<CustomerRow> = decided
            .iter()
            .filter_map(|(_, d)| match d {
                Decision::Create(row) => Some(row.clone()),
                Decision::Link { .. } => None,
            })
            .collect();
        tx.insert_customers(&new_rows).await?;
        let mut outcomes: Vec<(usize, MatchOutcome)> = Vec::with_capacity(decided.len());
        for (k, d) in decided {
            let it = &items[k];
            let outcome = match d {
                Decision::Create(row) => {
                    record_created(tx, &trail(k), &row).await?;
                    MatchOutcome::created(row)
                }
                Decision::Link { best, old, last } => {
                    let phone = it.phone.as_ref().and_then(|p| p.as_ref().ok()).cloned();
                    let row = self.fill_missing(tx, &trail(k), &old, &it.contact, phone, last).await?;
                    MatchOutcome::linked(&best, row)
                }
            };
            outcomes.push((k, outcome));
        }
        let pairs: Vec<_> = outcomes
            .iter()
            .flat_map(|(k, o)| {
                crate::duplicates::pairs_to_queue(tenant.id, o.customer_id, &ranked[*k], th.review, "ingest")
            })
            .collect();
        tx.upsert_duplicate_pairs(&pairs).await?;

        let mut conversations = Vec::with_capacity(outcomes.len());
        for (k, o) in &outcomes {
            let mut c = items[*k].conversation.clone();
            c.customer_id = Some(o.customer_id);
            conversations.push(c);
        }
        tx.insert_conversations(&conversations).await?;
        for ((k, _), c) in outcomes.iter().zip(&conversations) {
            record_new_conversation(tx, &trail(*k), c).await?;
        }
        let ids: Vec<Uuid> = outcomes.iter().map(|(_, o)| o.customer_id).collect();
        let metrics: HashMap<Uuid, _> =
            tx.refresh_metrics_of(&ids).await?.into_iter().map(|m| (m.customer_id, m)).collect();
        for ((k, o), c) in outcomes.into_iter().zip(conversations) {
            if let (Some(row), Some(m)) = (o.customer.as_ref(), metrics.get(&o.customer_id)) {
                self.touch_last_contact_of(tx, &trail(k), row, m).await?;
            }
            answers[items[k].at] = Some(Ok(Ingested { conversation: c, outcome: Some(o) }));
        }
        Ok(answers)
    }
}
