//! What a merge makes of the surviving record (SPEC section 7): empty fields filled from the
//! sources, tags unioned, the furthest lifecycle stage, custom fields the target lacks.

use super::data::CustomerData;
use super::enums::LifecycleStage;
use serde_json::{Map, Value};

fn fill<T: Clone>(slot: &mut Option<T>, from: &Option<T>) {
    if slot.is_none() {
        slot.clone_from(from);
    }
}

fn stage_rank(s: LifecycleStage) -> u8 {
    match s {
        LifecycleStage::Prospect => 0,
        LifecycleStage::Lead => 1,
        LifecycleStage::Customer => 2,
        LifecycleStage::Churned => 3,
    }
}

/// The target's data after merging `sources` into it, in the order given. The target's own
/// values always win; a source only fills what the target lacks.
pub fn plan_merge(target: &CustomerData, sources: &[&CustomerData]) -> CustomerData {
    let mut d = target.clone();
    for s in sources {
        fill(&mut d.company_name, &s.company_name);
        fill(&mut d.job_title, &s.job_title);
        fill(&mut d.industry, &s.industry);
        fill(&mut d.email, &s.email);
        fill(&mut d.phone, &s.phone);
        fill(&mut d.website, &s.website);
        if d.address == Default::default() {
            d.address = s.address.clone();
        }
        fill(&mut d.source_detail, &s.source_detail);
        fill(&mut d.assigned_to, &s.assigned_to);
        fill(&mut d.currency, &s.currency);
        fill(&mut d.language, &s.language);
        fill(&mut d.timezone, &s.timezone);
        fill(&mut d.notes, &s.notes);
        fill(&mut d.next_follow_up_at, &s.next_follow_up_at);
        d.last_contact_at = d.last_contact_at.max(s.last_contact_at);
        for t in &s.tags {
            if d.tags.len() < super::limits::TAGS && !d.tags.iter().any(|x| x.to_lowercase() == t.to_lowercase()) {
                d.tags.push(t.clone());
            }
        }
        if stage_rank(s.lifecycle_stage) > stage_rank(d.lifecycle_stage) {
            d.lifecycle_stage = s.lifecycle_stage;
        }
        for (k, v) in &s.custom_fields {
            d.custom_fields.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    d
}

/// What undoing a change ({field: {before, after}}) may put back: the fields still holding
/// their `after` value in `now`, as an input setting them to `before`, and the names of the
/// fields changed since, which the undo keeps.
pub fn undo_plan(now: &Map<String, Value>, changes: &Map<String, Value>) -> (Map<String, Value>, Vec<String>) {
    let mut revert = Map::new();
    let mut kept = Vec::new();
    for (field, change) in changes {
        if now.get(field) == Some(&change["after"]) {
            revert.insert(field.clone(), change["before"].clone());
        } else {
            kept.push(field.clone());
        }
    }
    (revert, kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact::Email;
    use crate::customer::Source;

    #[test]
    fn the_target_wins_and_sources_fill_the_gaps() {
        let mut t = CustomerData::blank(Source::Manual);
        t.name = "John".into();
        t.email = Some(Email::parse("email", "john@a.com").unwrap());
        t.tags = vec!["VIP".into()];
        let mut s = CustomerData::blank(Source::Chat);
        s.name = "John Smith".into();
        s.email = Some(Email::parse("email", "js@b.com").unwrap());
        s.company_name = Some("Acme".into());
        s.tags = vec!["vip".into(), "north".into()];
        s.lifecycle_stage = LifecycleStage::Customer;
        let m = plan_merge(&t, &[&s]);
        assert_eq!(m.name, "John");
        assert_eq!(m.email.unwrap().as_str(), "john@a.com");
        assert_eq!(m.company_name.as_deref(), Some("Acme"));
        assert_eq!(m.tags, ["VIP", "north"]);
        assert_eq!(m.lifecycle_stage, LifecycleStage::Customer);
        assert_eq!(m.source, Source::Manual);
    }
}
