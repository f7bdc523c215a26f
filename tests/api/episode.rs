//! The whole demo episode over real gRPC, on both backends.

use carelog_blackbox::{TestApp, on_both_backends};
use carelog_store::VerifyScope;

async fn the_whole_episode_completes_and_verifies(app: &TestApp) {
    let outcome = carelog::demo::run(app.channel(), |_, _| {}).await.expect("the demo episode completes");
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
    let total: usize = counts.values().sum();
    assert_eq!(app.event_count().await, total as u64);
    assert_eq!(outcome.last_position(), total as u64);
    let report = app.store.verify(&VerifyScope::All, &|_| {}).await.unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
}

on_both_backends!(the_whole_episode_completes_and_verifies);
