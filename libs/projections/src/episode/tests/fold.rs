//! How the fold treats the log as a whole: determinism, other clients, untagged events,
//! redelivery, bad data, and the billing summary.

use carelog_domain::planning::TreatmentPlanDrafted;
use carelog_store::{Position, StreamName};

use super::*;
use crate::ViewError;
use crate::ledger::ClaimStatus;

/// A chart with something from every stream: registration, consent, plan, a held and signed
/// session with a psychotherapy note, and a year of billing.
fn busy_chart() -> Chart {
    let mut chart = Chart::new();
    chart.register();
    chart.consent(ConsentKind::Treatment);
    let (plan_id, client_id, episode_id, drafted_by) = (chart.plan, chart.client, chart.episode, chart.clinician);
    chart.planning(TreatmentPlanDrafted {
        plan_id,
        client_id,
        episode_id,
        version: 1,
        addresses: vec![icd("F32.1")],
        drafted_by,
        drafted_at: at(1, 9),
    });
    let session = chart.schedule(at(7, 15));
    chart.hold(session, at(7, 15), 50);
    chart.sign_note(session, Vec::new(), at(7, 17));
    chart.psychotherapy_note(session);
    for e in billing_history(chart.account, chart.client, chart.episode).0 {
        chart.billing(e);
    }
    chart
}

#[test]
fn folding_the_same_events_twice_gives_identical_json_that_round_trips() {
    let chart = busy_chart();

    let (first, second) = (chart.view(), chart.view());

    let json = serde_json::to_string(&first).expect("serializes");
    assert_eq!(json, serde_json::to_string(&second).expect("serializes"));
    let back: EpisodeView = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(back, first);
    let last = chart.log.events.last().expect("events");
    assert_eq!((first.last_position, first.last_recorded_at), (last.position, Some(last.recorded_at)));
    assert_eq!(first.version, chart.log.events.len() as u64);
}

#[test]
fn the_billing_summary_counts_totals_and_claims_by_status() {
    let chart = busy_chart();

    let view = chart.view();

    let b = &view.billing;
    assert_eq!((b.charges, b.remittances, b.payments, b.write_offs, b.superbills), (3, 1, 1, 1, 1));
    assert_eq!(
        (b.totals.charged, b.totals.payer_paid, b.totals.adjusted),
        (cents(45_000), cents(20_000), cents(6_000))
    );
    assert_eq!(b.balance, Balance::from_cents(15_000));
    let by_status: Vec<_> = b.claims_by_status.iter().map(|(s, n)| (*s, *n)).collect();
    use ClaimStatus::*;
    assert_eq!(by_status, [(Rejected, 1), (Paid, 1), (Replaced, 1), (Voided, 1), (VoidRequest, 1)]);
    assert_eq!(b.accounts, [chart.account]);
}

#[test]
fn events_about_another_client_are_ignored() {
    let (mut mine, theirs) = (busy_chart(), busy_chart());
    let alone = mine.view();
    // Interleave the two clients' events into one log, renumbering positions as the store would.
    let mut log = Log::default();
    for (a, b) in mine.log.events.iter().zip(&theirs.log.events) {
        for e in [a, b] {
            log.events.push(RecordedEvent { position: Position(log.events.len() as u64 + 1), ..e.clone() });
        }
    }
    mine.log = log;

    let view = mine.view();

    assert_eq!(view.client_id, Some(mine.client));
    assert_eq!(view.version, alone.version);
    let strip = |v: &EpisodeView| EpisodeView { last_position: Position(0), last_recorded_at: None, ..v.clone() };
    assert_eq!(strip(&view), strip(&alone), "the same record, whatever else is in the log");
}

#[test]
fn a_default_view_belongs_to_the_first_client_it_sees() {
    let (a, b) = (busy_chart(), busy_chart());
    let mut view = EpisodeView::default();

    for (i, e) in a.log.events.iter().chain(&b.log.events).enumerate() {
        view.apply(&RecordedEvent { position: Position(i as u64 + 1), ..e.clone() }).expect("folds");
    }

    assert_eq!(view.client_id, Some(a.client));
    assert_eq!(view.version, a.log.events.len() as u64);
}

#[test]
fn a_client_tag_that_is_not_a_client_id_is_a_typed_error() {
    let mut chart = Chart::new();
    let mut event = chart.intake(ConsentGiven {
        consent_id: ConsentId::new_v4(),
        kind: ConsentKind::Treatment,
        given_at: at(0, 10),
        recorded_by: ActorId::new_v4(),
    });
    event.metadata.tags.client = Some("client-7".to_owned());

    let err = EpisodeView::default().apply(&event).expect_err("bad tag");

    assert!(matches!(&err, ViewError::ClientTag { tag, .. } if tag == "client-7"), "{err}");
}

#[test]
fn untagged_events_are_attributed_by_their_stream() {
    let mut chart = Chart::new();
    chart.register();
    let session = chart.schedule(at(7, 15));
    chart.hold(session, at(7, 15), 50);
    let stranger = SessionId::new_v7();
    let mut untag = chart.log.events.last().cloned().expect("held");
    untag.metadata.tags = carelog_store::Tags::default();
    untag.position = Position(untag.position.0 + 1);
    let mut orphan_stream = RecordedEvent { position: Position(untag.position.0 + 1), ..untag.clone() };
    orphan_stream.stream = StreamName::new(stranger.stream_name()).expect("stream");
    let mut view = chart.view();
    let before = view.version;

    view.apply(&untag).expect("folds");
    view.apply(&orphan_stream).expect("not ours, ignored");

    assert_eq!(view.version, before + 1, "the untagged event in a known session stream counts; the other not");
}

#[test]
fn redelivered_and_access_events_leave_the_view_unchanged() {
    let chart = busy_chart();
    let mut view = chart.view();
    let before = serde_json::to_string(&view).expect("json");

    view.apply(&chart.log.events[3]).expect("redelivery is ignored");
    let mut access = chart.log.events.last().cloned().expect("event");
    access.stream = StreamName::new(format!("access-{}", chart.client)).expect("stream");
    access.event_type = "RecordAccessed".to_owned();
    access.position = Position(access.position.0 + 1);
    view.apply(&access).expect("access events are not part of the record");

    assert_eq!(serde_json::to_string(&view).expect("json"), before);
}

#[test]
fn undecodable_data_is_a_typed_error_and_the_view_is_unchanged() {
    let mut chart = Chart::new();
    chart.register();
    let mut view = chart.view();
    let before = view.clone();
    let mut bad = chart.log.events[1].clone();
    bad.position = Position(99);
    bad.data = serde_json::json!({ "episode_id": "not-a-uuid" });

    let err = view.apply(&bad).expect_err("bad data");

    assert!(
        matches!(&err, ViewError::Decode { position: Position(99), event_type, .. } if event_type == "EpisodeOpened")
    );
    assert_eq!(view, before);
}

#[test]
fn an_event_for_a_session_never_scheduled_is_an_orphan_error() {
    let mut chart = Chart::new();
    chart.register();
    chart.hold(SessionId::new_v7(), at(7, 15), 50);
    let mut view = EpisodeView::new(chart.client);
    for e in &chart.log.events[..2] {
        view.apply(e).expect("folds");
    }

    let err = view.apply(&chart.log.events[2]).expect_err("orphan");

    assert!(matches!(err, ViewError::Orphan { entity: "session", .. }), "{err}");
    assert_eq!(view.version, 2);
}

#[test]
fn every_field_of_the_episode_view_and_its_caseload_alerts_has_a_class() {
    let mut chart = busy_chart();
    let session = chart.schedule(at(30, 15));
    chart.hold(session, at(30, 15), 50);
    let view = chart.view();
    let json = serde_json::to_value(&view).expect("view serializes");
    carelog_domain::disclosure::assert_classified("episode view", &json, &crate::classes::EPISODE_VIEW);
    let alerts = crate::caseload::caseload_alerts(&view, at(60, 9));
    assert!(!alerts.is_empty(), "an unsigned note and a review make alerts");
    let json = serde_json::to_value(&alerts).expect("alerts serialize");
    carelog_domain::disclosure::assert_classified("caseload alerts", &json, &crate::classes::CASELOAD_ALERTS);
}
