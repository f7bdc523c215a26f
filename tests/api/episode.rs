//! The whole demo episode over real gRPC, on both backends.

use std::collections::BTreeMap;

use carelog_auth::RECORD_ACCESSED;
use carelog_blackbox::{TestApp, on_both_backends};
use carelog_store::{LogQuery, Position, RecordedEvent, VerifyScope};

async fn the_whole_episode_completes_and_verifies(app: &TestApp) {
    let outcome = app.run_demo().await;
    let counts = outcome.event_counts();
    for (event_type, expected) in [
        ("ClientRegistered", 1),
        ("ConsentGiven", 3),
        ("AssessmentRecorded", 2),
        ("DiagnosisRecorded", 1),
        ("TreatmentPlanSigned", 1),
        ("SessionHeld", 6),
        ("NoShowRecorded", 1),
        ("ProgressNoteSigned", 6),
        ("NoteAddendumAppended", 1),
        ("ChargeCreated", 6),
        ("ClaimSubmitted", 1),
        ("PlanReviewed", 1),
        ("TerminationPlanned", 1),
        ("EpisodeClosed", 1),
    ] {
        assert_eq!(counts.get(event_type).copied(), Some(expected), "{event_type}: {counts:?}");
    }
    assert!(outcome.receipts.iter().all(|(_, r)| !r.already_applied));
    // The log holds exactly the changes the commands reported and, besides them, the
    // access log's record of each read the demo made of the client's record.
    let log = app.store.read_all(&LogQuery::from(Position(1), 1000)).await.unwrap();
    assert_eq!(log.len() as u64, app.event_count().await);
    let (reads, changes): (Vec<&RecordedEvent>, Vec<&RecordedEvent>) =
        log.iter().partition(|e| e.event_type == RECORD_ACCESSED);
    let mut stored: BTreeMap<String, usize> = BTreeMap::new();
    for change in &changes {
        *stored.entry(change.event_type.clone()).or_default() += 1;
    }
    assert_eq!(stored, counts);
    assert_eq!(outcome.last_position(), changes.last().unwrap().position.0);
    let reads: Vec<(&str, &str, &str, &str)> = reads
        .iter()
        .map(|e| {
            let text = |key: &str| e.data[key].as_str().unwrap_or_default();
            (text("role"), text("rpc"), text("outcome"), text("client_id"))
        })
        .collect();
    let client = outcome.client_id.as_str();
    assert_eq!(
        reads,
        [
            ("biller", "RecordsService/GetLedger", "allowed", client),
            ("clinician", "RecordsService/GetEpisode", "allowed", client),
            ("biller", "RecordsService/GetLedger", "allowed", client),
        ],
        "the ledger while billing, then the chart and the ledger read back"
    );
    let report = app.store.verify(&VerifyScope::All, &|_| {}).await.unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
}

on_both_backends!(the_whole_episode_completes_and_verifies);
