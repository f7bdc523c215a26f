//! Which fields of which events are PHI: the one table that says what is sealed at rest.
//!
//! Paths are dot-separated keys into the event's data; `[]` after a key walks every element of
//! that array. Absent and null fields are skipped. What is not listed stays readable forever:
//! ids, codes, scores, amounts, times, event types and the hash chain (see
//! docs/adr/0003-crypto-shredding.md for the reasoning).

use serde_json::Value;

/// PHI paths in an event's data, by event type.
pub fn data_paths(event_type: &str) -> &'static [&'static str] {
    match event_type {
        "ClientRegistered" => &[
            "demographics.legal_name",
            "demographics.preferred_name",
            "demographics.date_of_birth",
            "demographics.contact.phone",
            "demographics.contact.email",
            "demographics.contact.address",
            "demographics.payer.member_id",
        ],
        // Release-of-information and Part 2 recipients can be named people (a relative).
        "ConsentGiven" => {
            &["kind.recipient", "kind.purpose", "kind.information", "kind.signed_by", "kind.expiry.event"]
        }
        "ConsentRevoked" | "DiagnosisRevised" | "SessionCancelled" | "GoalStatusChanged" => &["reason"],
        "RiskFlagAcknowledged" => &["action_taken"],
        "EpisodeClosed" => &["discharge_summary"],
        "ProgressNoteSigned" => &[
            "content.subjective",
            "content.objective",
            "content.assessment",
            "content.plan",
            "content.data",
            "content.behavior",
            "content.intervention",
            "content.response",
        ],
        "NoteAddendumAppended" => &["reason", "text"],
        "PsychotherapyNoteRecorded" => &["text"],
        "AmendmentRequested" => &["requested_change", "reason"],
        "AmendmentDecided" => &["decision.explanation"],
        "GoalSet" => &["description", "measurable_target"],
        "ObjectiveAdded" | "InterventionAdded" => &["description"],
        "PlanReviewed" => &["progress[].comment"],
        "TerminationPlanned" => &["aftercare"],
        "AccountOpened" => &["payer.member_id"],
        "WrittenOff" => &["note"],
        _ => &[],
    }
}

/// Metadata fields sealed on every event about a client: the free-text reason (a revocation's
/// reason is also its context reason) and the command fingerprint (a SHA-256 of the request,
/// which a dictionary of names and birth dates could invert).
pub const METADATA_PATHS: &[&str] = &["reason", "command.fingerprint"];

/// The erasure bookkeeping stays readable after the erasure it records; its reasons must hold no PHI.
pub fn is_erasure_record(event_type: &str) -> bool {
    matches!(event_type, "LegalHoldPlaced" | "LegalHoldReleased" | "ClientErased")
}

/// Calls `f` with every present, non-null value at `path` (with its concrete path, array indexes
/// spelled out) and replaces the value with what `f` returns.
pub fn rewrite<E>(root: &mut Value, path: &str, f: &mut impl FnMut(&str, &Value) -> Result<Value, E>) -> Result<(), E> {
    let segments: Vec<&str> = path.split('.').collect();
    walk(root, &segments, String::new(), f)
}

fn walk<E>(
    at: &mut Value,
    segments: &[&str],
    prefix: String,
    f: &mut impl FnMut(&str, &Value) -> Result<Value, E>,
) -> Result<(), E> {
    let Some((first, rest)) = segments.split_first() else {
        if !at.is_null() {
            *at = f(&prefix, at)?;
        }
        return Ok(());
    };
    let join = |key: &str| if prefix.is_empty() { key.to_owned() } else { format!("{prefix}.{key}") };
    match first.strip_suffix("[]") {
        Some(key) => {
            if let Some(Value::Array(items)) = at.get_mut(key) {
                for (i, item) in items.iter_mut().enumerate() {
                    walk(item, rest, join(&format!("{key}[{i}]")), f)?;
                }
            }
        }
        None => {
            if let Some(next) = at.get_mut(*first) {
                walk(next, rest, join(first), f)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rewrite_visits_present_values_and_array_elements_with_concrete_paths() {
        let mut data = json!({"progress": [{"comment": "a"}, {"comment": null}, {"comment": "c"}], "x": 1});
        let mut seen = Vec::new();
        rewrite(&mut data, "progress[].comment", &mut |path: &str, v: &Value| {
            seen.push(path.to_owned());
            Ok::<_, ()>(json!(format!("<{}>", v.as_str().unwrap())))
        })
        .unwrap();
        assert_eq!(seen, ["progress[0].comment", "progress[2].comment"]);
        assert_eq!(data["progress"][0]["comment"], "<a>");
        assert_eq!(data["progress"][1]["comment"], Value::Null);
        rewrite(&mut data, "missing.path", &mut |_: &str, _: &Value| Err(())).unwrap();
    }

    #[test]
    fn every_listed_type_is_a_domain_event_type() {
        use carelog_domain::{
            billing::BillingEvent, intake::IntakeEvent, planning::PlanningEvent, sessions::SessionEvent,
        };
        let known: Vec<&str> = [
            IntakeEvent::EVENT_TYPES,
            PlanningEvent::EVENT_TYPES,
            SessionEvent::EVENT_TYPES,
            BillingEvent::EVENT_TYPES,
        ]
        .concat();
        let listed = known.iter().filter(|t| !data_paths(t).is_empty()).count();
        assert!(listed >= 20, "only {listed} event types carry PHI paths");
        for t in ["LegalHoldPlaced", "LegalHoldReleased", "ClientErased"] {
            assert!(known.contains(&t) && is_erasure_record(t) && data_paths(t).is_empty());
        }
    }

    #[test]
    fn every_sealed_path_is_a_field_the_read_gate_classes_as_phi() {
        use carelog_domain::disclosure::event_classes;
        use carelog_domain::{
            billing::BillingEvent, intake::IntakeEvent, planning::PlanningEvent, sessions::SessionEvent,
        };
        for event_type in
            [IntakeEvent::EVENT_TYPES, PlanningEvent::EVENT_TYPES, SessionEvent::EVENT_TYPES, BillingEvent::EVENT_TYPES]
                .concat()
        {
            for path in data_paths(event_type) {
                let class = event_classes(event_type).of(path);
                assert!(class.is_some_and(|c| c.is_phi()), "{event_type}.{path} is sealed but classed {class:?}");
            }
        }
    }
}
