//! Finding the customers a person may already be: candidates by matching keys, scored on
//! the confidence ladder of rapport-core.

use std::collections::{HashMap, HashSet};

use rapport_core::contact::{Email, Phone};
use rapport_core::identity::{
    key, name_may_match, name_tokens, needs_word_keys, phone_digits, probe_keys, score, Match, Probe, Thresholds,
};
use rapport_core::role::Permission;
use rapport_core::Invalid;
use rapport_store::{CustomerRow, MatchCandidateRow, Tx};
use serde_json::{json, Value};
use uuid::Uuid;

use super::visible;
use crate::{App, AppError, AppResult, Principal};

/// How many customers sharing an email or phone one look-up scores at most.
const CANDIDATES: u32 = 200;
/// How many customers sharing name keys one look-up scores at most: those sharing the most
/// keys (tokens and their sounds), so a common first name alone does not fill the list.
const NAME_CANDIDATES: u32 = 50;

/// A customer with how sure Rapport is that it is the person asked about: what ranking
/// needs of it, not its whole record (which is read only for the few matches acted on, see
/// `whole_rows`: a common name has fifty candidates, an import chunk thousands).
#[derive(Debug, Clone)]
pub struct RankedMatch {
    pub id: Uuid,
    pub name: String,
    pub updated_at: time::OffsetDateTime,
    pub m: Match,
}

impl RankedMatch {
    pub fn to_json(&self) -> Value {
        json!(Matched::from(self))
    }
}

/// A customer on file someone may be, as answers name it: typed rather than a JSON tree,
/// since an import's report holds one per row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Matched {
    pub customer_id: Uuid,
    pub name: String,
    pub confidence: u8,
    pub reasons: Vec<rapport_core::identity::Reason>,
    pub vetoed: bool,
}

impl From<&RankedMatch> for Matched {
    fn from(m: &RankedMatch) -> Self {
        Matched {
            customer_id: m.id,
            name: m.name.clone(),
            confidence: m.m.confidence,
            reasons: m.m.reasons.clone(),
            vetoed: m.m.vetoed,
        }
    }
}

/// The tenant's thresholds: its settings, or the seeds' defaults.
pub(crate) async fn thresholds(tx: &mut dyn Tx) -> AppResult<Thresholds> {
    let settings = tx.get_tenant().await?.map(|t| t.settings).unwrap_or(Value::Null);
    Ok(thresholds_of(&settings))
}

/// The thresholds in a tenant's settings, or the defaults.
pub(crate) fn thresholds_of(settings: &Value) -> Thresholds {
    serde_json::from_value(settings["match_thresholds"].clone()).unwrap_or_default()
}

/// The match find-or-create links to: the best at or above the link threshold that
/// nothing contradicts.
pub(crate) fn best_link<'a>(ranked: &'a [RankedMatch], th: &Thresholds) -> Option<&'a RankedMatch> {
    ranked.iter().find(|r| r.m.confidence >= th.link && !r.m.vetoed)
}

/// The identity lock every writer that decides who people are takes for the whole tenant:
/// the chat feed, imports and their reverts, bulk loading, and customers created or
/// given a contact point by hand.
pub(crate) const INGEST_LOCK: &str = "ingest";

/// Takes `INGEST_LOCK` until `tx` ends: one such writer at a time per tenant decides who a
/// person is, so concurrent chats of one person create exactly one customer.
pub(crate) async fn lock_ingests(tx: &mut dyn Tx) -> AppResult<()> {
    Ok(tx.lock_identity(&[INGEST_LOCK.to_string()]).await?)
}

impl App {
    /// Candidates for `probe`, best first, excluding `except`.
    pub(crate) async fn rank_matches(
        &self,
        tx: &mut dyn Tx,
        probe: &Probe,
        except: Option<Uuid>,
    ) -> AppResult<Vec<RankedMatch>> {
        let except: HashSet<Uuid> = except.into_iter().collect();
        Ok(self.rank_many(tx, std::slice::from_ref(probe), &except, false).await?.pop().unwrap_or_default())
    }

    /// Candidates for each of `probes`, best first, none of them in `except`: the look-ups of
    /// all the probes in a few statements. With `email_settles`, a probe whose email is on
    /// file is not looked up by name: its best match is certain (an import needs no more).
    pub(crate) async fn rank_many(
        &self,
        tx: &mut dyn Tx,
        probes: &[Probe],
        except: &HashSet<Uuid>,
        email_settles: bool,
    ) -> AppResult<Vec<Vec<RankedMatch>>> {
        // Exact contact points first, on their own: a common name must never crowd the one
        // customer with the same email or phone out of the candidates.
        let (contact_sets, mut name_sets): (Vec<_>, Vec<_>) = probes
            .iter()
            .map(|probe| {
                let (contact, mut names): (Vec<_>, Vec<_>) =
                    probe_keys(probe).into_iter().partition(|(k, _)| *k == key::EMAIL || *k == key::PHONE);
                // A name of two words or more finds its candidates by pairs of words (or of
                // their sounds); the customers sharing one common word are thousands and
                // mostly noise.
                if !probe.name.as_deref().is_some_and(needs_word_keys) {
                    names.retain(|(k, _)| *k != key::NAME_TOKEN && *k != key::PHONETIC);
                }
                (contact, names)
            })
            .unzip();
        let mut candidates: Vec<Vec<MatchCandidateRow>> = vec![Vec::new(); probes.len()];
        let started = std::time::Instant::now();
        let found = tx.find_candidates_by_keys(&contact_sets, CANDIDATES, None, except).await?;
        let by_contact = started.elapsed();
        if email_settles {
            for (i, c) in &found {
                if c.email_normalized.as_ref().is_some_and(|e| probes[*i].emails.contains(e)) {
                    name_sets[*i].clear();
                }
            }
        }
        // Only those alike enough to score by name are read whole: a candidate found by name
        // keys that could match by email or phone was found by those keys above.
        let words: Vec<Vec<String>> =
            probes.iter().map(|p| p.name.as_deref().map(name_tokens).unwrap_or_default()).collect();
        let alike = |set: usize, name: &str| name_may_match(&words[set], name);
        let found_by_name = tx.find_candidates_by_keys(&name_sets, NAME_CANDIDATES, Some(&alike), except).await?;
        let by_name = started.elapsed();
        let candidates_found = found.len() + found_by_name.len();
        for (i, c) in found.into_iter().chain(found_by_name) {
            let list = &mut candidates[i];
            if !list.iter().any(|x| x.id == c.id) {
                list.push(c);
            }
        }
        // A customer is also known by the contact points of those merged into it.
        let mut ids: Vec<Uuid> = candidates.iter().flatten().map(|c| c.id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut contact_keys: HashMap<Uuid, Vec<(String, String)>> = HashMap::new();
        for (id, kind, value) in tx.contact_keys_of(&ids).await? {
            contact_keys.entry(id).or_default().push((kind, value));
        }
        let ranked: Vec<Vec<RankedMatch>> = probes
            .iter()
            .zip(candidates)
            .map(|(probe, list)| {
                let mut ranked: Vec<RankedMatch> = list
                    .into_iter()
                    .filter_map(|c| {
                        let mut facts = candidate_facts(&c);
                        for (kind, value) in contact_keys.get(&c.id).into_iter().flatten() {
                            let list = if kind == key::EMAIL { &mut facts.emails } else { &mut facts.phones };
                            if !list.contains(value) {
                                list.push(value.clone());
                            }
                        }
                        score(probe, &facts).map(|m| RankedMatch {
                            id: c.id,
                            name: c.name,
                            updated_at: c.updated_at,
                            m,
                        })
                    })
                    .collect();
                ranked.sort_by(|a, b| b.m.confidence.cmp(&a.m.confidence).then(b.updated_at.cmp(&a.updated_at)));
                ranked
            })
            .collect();
        tracing::debug!(
            probes = probes.len(),
            candidates_found,
            ?by_contact,
            ?by_name,
            scored = ?started.elapsed(),
            "candidates ranked"
        );
        Ok(ranked)
    }

    /// The whole records of `matches`, by id (those deleted since they were ranked left out).
    pub(crate) async fn whole_rows<'a>(
        &self,
        tx: &mut dyn Tx,
        matches: impl IntoIterator<Item = &'a RankedMatch>,
    ) -> AppResult<HashMap<Uuid, CustomerRow>> {
        let mut ids: Vec<Uuid> = matches.into_iter().map(|m| m.id).collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(tx.get_customers(&ids).await?.into_iter().filter(|c| c.deleted_at.is_none()).map(|c| (c.id, c)).collect())
    }

    /// `POST /customers/match`: the best matches for a name, email or phone; writes nothing.
    pub async fn match_customers(&self, p: &Principal, input: &Value) -> AppResult<Vec<RankedMatch>> {
        p.require(Permission::CustomersRead, "read customers")?;
        let mut tx = self.store.read(p.tenant_id).await?;
        let region = tx.get_tenant().await?.map(|t| t.phone_region).unwrap_or_else(|| "US".into());
        let probe = parse_probe(input, &region)?;
        let ranked = self.rank_matches(tx.as_mut(), &probe, None).await?;
        let rows = self.whole_rows(tx.as_mut(), &ranked).await?;
        Ok(ranked.into_iter().filter(|r| rows.get(&r.id).is_some_and(|c| visible(p, c))).take(10).collect())
    }
}

/// What the ladder weighs of a candidate, as `identity::probe_of` gives it for a whole record.
fn candidate_facts(c: &MatchCandidateRow) -> Probe {
    Probe {
        name: Some(c.name.clone()).filter(|n| !n.is_empty()),
        emails: c.email_normalized.iter().cloned().collect(),
        phones: c.phone_e164.iter().cloned().collect(),
        company: c.company_name.clone(),
        city: c.city.clone(),
        postal_code: c.postal_code.clone(),
    }
}

/// A look-up body: any of name, email, phone, plus company_name, city, postal_code.
fn parse_probe(input: &Value, region: &str) -> AppResult<Probe> {
    let Value::Object(m) = input else {
        return Err(AppError::invalid("", "invalid_type", "the body must be a JSON object"));
    };
    let mut errs = Invalid::default();
    let text = |k: &str| m.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    for k in m.keys() {
        if !["name", "email", "phone", "company_name", "city", "postal_code"].contains(&k.as_str()) {
            errs.push(rapport_core::FieldError::new(k.clone(), "unknown_field", format!("{k} is not a look-up field")));
        }
    }
    let email = text("email").and_then(|e| errs.take(Email::parse("email", &e)));
    // A phone that does not parse is still looked up by its digits (000's fallback).
    let phone = text("phone").map(|raw| {
        Phone::parse("phone", &raw, region).map(|p| p.e164().to_string()).unwrap_or_else(|_| phone_digits(&raw))
    });
    let probe = Probe {
        name: text("name"),
        emails: email.map(|e| e.normalized().to_string()).into_iter().collect(),
        phones: phone.filter(|p| !p.is_empty()).into_iter().collect(),
        company: text("company_name"),
        city: text("city"),
        postal_code: text("postal_code"),
    };
    if probe.name.is_none() && probe.emails.is_empty() && probe.phones.is_empty() && errs.is_empty() {
        errs.push(rapport_core::FieldError::new("name", "identifier_required", "give a name, an email or a phone"));
    }
    errs.into_result()?;
    Ok(probe)
}
