//! The sealing rule against every stored event type: the golden fixtures of the domain crate.

use serde_json::{Value, json};

use super::*;

/// The sealed paths of `data` (concrete), as `rewrite_sealed` finds them.
fn sealed(event_type: &str, data: &Value) -> Vec<String> {
    let mut found = Vec::new();
    rewrite_sealed(event_type, &mut data.clone(), &mut |path: &str, v: &Value| {
        found.push(path.to_owned());
        Ok::<_, ()>(v.clone())
    })
    .unwrap();
    found
}

fn fixtures() -> Vec<(String, Value)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../domain/fixtures/events");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(dir)
        .expect("the domain's golden fixtures")
        .map(|entry| {
            let fixture: Value = serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
            (fixture["event_type"].as_str().unwrap().to_owned(), fixture["data"].clone())
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 40, "only {} fixtures", out.len());
    out
}

#[test]
fn concrete_paths_spell_out_array_indexes_and_nulls_are_skipped() {
    let data = json!({"progress": [{"comment": "a"}, {"comment": null}, {"comment": "c", "rating": "improving"}]});
    assert_eq!(sealed("PlanReviewed", &data), ["progress[0].comment", "progress[2].comment"]);
}

#[test]
fn every_field_of_every_event_is_declared_and_every_sealed_value_is_text() {
    use carelog_domain::disclosure::event_classes;
    for (event_type, data) in fixtures() {
        let classes = event_classes(&event_type);
        let mut data = data;
        for_each_leaf(&mut data, &mut |concrete, pattern, leaf| {
            let class = classes.of(pattern);
            assert!(leaf.is_null() || class.is_some(), "{event_type}.{concrete}: declared neither PHI nor not PHI");
            if class.is_some_and(|c| c.sealed_at_rest()) {
                assert!(leaf.is_string() || leaf.is_null(), "{event_type}.{concrete} is sealed but not text: {leaf}");
            }
            Ok::<_, ()>(())
        })
        .unwrap();
    }
}

/// What was sealed before the rule was derived (the hand-kept table it replaced) is still sealed.
#[test]
fn the_derived_rule_seals_at_least_what_the_old_table_did() {
    let expect: &[(&str, &[&str])] = &[
        (
            "ClientRegistered",
            &[
                "demographics.legal_name",
                "demographics.date_of_birth",
                "demographics.contact.phone",
                "demographics.contact.email",
                "demographics.payer.member_id",
            ],
        ),
        ("ConsentRevoked", &["reason"]),
        ("RiskFlagAcknowledged", &["action_taken"]),
        ("EpisodeClosed", &["discharge_summary"]),
        ("ProgressNoteSigned", &["content.subjective", "content.objective", "content.assessment", "content.plan"]),
        ("NoteAddendumAppended", &["reason", "text"]),
        ("PsychotherapyNoteRecorded", &["text"]),
        ("AmendmentRequested", &["requested_change", "reason"]),
        ("GoalSet", &["description", "measurable_target"]),
        ("ObjectiveAdded", &["description"]),
        ("InterventionAdded", &["description"]),
        ("PlanReviewed", &["progress[0].comment"]),
        ("TerminationPlanned", &["aftercare"]),
        ("AccountOpened", &["payer.member_id"]),
        ("WrittenOff", &["note"]),
        ("SessionCancelled", &["reason"]),
        ("GoalStatusChanged", &["reason"]),
        ("DiagnosisRevised", &["reason"]),
    ];
    let fixtures = fixtures();
    for (event_type, paths) in expect {
        let (_, data) = fixtures.iter().find(|(t, _)| t == event_type).expect("a fixture");
        let found = sealed(event_type, data);
        for path in *paths {
            assert!(found.iter().any(|f| f == path), "{event_type}.{path} is no longer sealed: {found:?}");
        }
    }
    // And what must stay readable for chains, ledgers and statistics does.
    for (event_type, data) in &fixtures {
        for path in sealed(event_type, data) {
            let leaf = path.rsplit('.').next().unwrap();
            let readable = ["amount", "total", "code", "cpt", "format", "kind", "status", "version"];
            let id_or_time = (leaf.ends_with("_id") && leaf != "member_id") || leaf.ends_with("_at");
            assert!(!id_or_time && !readable.contains(&leaf), "{event_type}.{path} is sealed but must stay readable");
        }
    }
}

#[test]
fn the_erasure_records_are_domain_event_types() {
    use carelog_domain::intake::IntakeEvent;
    for t in ["LegalHoldPlaced", "LegalHoldReleased", "ClientErased"] {
        assert!(IntakeEvent::EVENT_TYPES.contains(&t) && is_erasure_record(t));
    }
}
