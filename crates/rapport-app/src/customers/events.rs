//! The timeline events an update produces, from what changed.

use rapport_store::CustomerRow;
use serde_json::{json, Map, Value};

/// Events for an update: specific ones for lifecycle, status, tags and assignment, and one
/// `updated` naming every changed field.
pub(super) fn for_update(
    old: &CustomerRow,
    new: &CustomerRow,
    changed: &Map<String, Value>,
    reason: Option<&str>,
) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    let (o, n) = (&old.data, &new.data);
    if o.lifecycle_stage != n.lifecycle_stage {
        out.push((
            "lifecycle_changed",
            json!({"from": o.lifecycle_stage.as_str(), "to": n.lifecycle_stage.as_str(), "reason": reason}),
        ));
    }
    if o.status != n.status {
        out.push(("status_changed", json!({"from": o.status.as_str(), "to": n.status.as_str(), "reason": reason})));
    }
    let folded = |tags: &[String]| tags.iter().map(|t| t.to_lowercase()).collect::<Vec<_>>();
    let (ot, nt) = (folded(&o.tags), folded(&n.tags));
    let added: Vec<&String> = n.tags.iter().filter(|t| !ot.contains(&t.to_lowercase())).collect();
    let removed: Vec<&String> = o.tags.iter().filter(|t| !nt.contains(&t.to_lowercase())).collect();
    if !added.is_empty() {
        out.push(("tags_added", json!({"tags": added})));
    }
    if !removed.is_empty() {
        out.push(("tags_removed", json!({"tags": removed})));
    }
    if o.assigned_to != n.assigned_to {
        out.push(("assigned", json!({"from": o.assigned_to, "to": n.assigned_to})));
    }
    let fields: Vec<&String> = changed.keys().collect();
    out.push(("updated", json!({"fields": fields})));
    out
}
