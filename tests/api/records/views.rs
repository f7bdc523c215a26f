//! The episode view, as-of replay, caseload and ledger.

use std::time::Duration;

use carelog_blackbox::{Backend, Caller, TestApp, assert_invalid_field, assert_rejected, on_both_backends};
use carelog_proto::v1 as proto;
use tonic::Code;
use uuid::Uuid;

async fn the_episode_view_after_the_demo_matches_its_events(app: &TestApp) {
    let outcome = app.run_demo().await;
    let head = app.event_count().await;
    let mut records = app.records(&Caller::new("auditor"));
    let reply = records
        .get_episode(proto::GetEpisodeRequest {
            client_id: outcome.client_id.clone(),
            min_position: outcome.last_position(),
        })
        .await
        .unwrap()
        .into_inner();
    // The read model reached the demo's last change, perhaps also its reads after it (which change nothing).
    assert!((outcome.last_position()..=head).contains(&reply.position), "{} of {head}", reply.position);
    assert_eq!(reply.last_event_position, outcome.last_position());
    let view = crate::given::view_of(reply);
    assert_eq!(view.client_id, outcome.client_id);
    assert_eq!(view.demographics.as_ref().expect("demographics").legal_name, "Alexandra Maria Reyes");
    assert_eq!(view.consents.len(), 3);
    assert!(view.consents.iter().all(|c| c.revoked.is_none()));
    let totals: Vec<u32> = view.assessments.iter().map(|a| a.total).collect();
    assert_eq!(totals, [12, 12]);
    assert_eq!(view.diagnoses[0].code, "F41.1");
    let sessions = &view.sessions;
    assert_eq!(sessions.len(), 7);
    assert_eq!(sessions.iter().filter(|s| s.held.is_some()).count(), 6);
    assert_eq!(sessions.iter().filter(|s| s.no_show.is_some()).count(), 1);
    assert!(sessions.iter().filter(|s| s.held.is_some()).all(|s| s.note.is_some()));
    let addenda: Vec<&proto::AddendumView> =
        sessions.iter().flat_map(|s| s.note.iter().flat_map(|n| &n.addenda)).collect();
    assert_eq!(addenda.len(), 1);
    assert_eq!(addenda[0].kind(), proto::AddendumKind::LateEntry);
    let billing = view.billing.as_ref().expect("billing");
    assert_eq!(billing.charges, 6);
    assert_eq!(billing.balance, 0);
    assert!(view.episodes[0].closed.is_some());
    // Field by field against the stored events: every held session's minutes and modality.
    let events = app
        .store
        .read_client(&outcome.client_id, &carelog_store::LogQuery::from(carelog_store::Position(1), 1000))
        .await
        .unwrap();
    for stored in events.iter().filter(|e| e.event_type == "SessionHeld") {
        let session = sessions.iter().find(|s| format!("session-{}", s.session_id) == stored.stream.as_str()).unwrap();
        let held = session.held.as_ref().expect("held");
        assert_eq!(Some(u64::from(held.actual_minutes)), stored.data["actual_minutes"].as_u64());
        // The stored serde name (`video`) is the enum value's suffix (`MODALITY_VIDEO`).
        let modality = stored.data["modality"].as_str().expect("a modality").to_ascii_uppercase();
        assert_eq!(held.modality().as_str_name(), format!("MODALITY_{modality}"));
    }
    let last_change = events.iter().rfind(|e| e.event_type != "RecordAccessed").unwrap();
    assert_eq!(view.last_position, last_change.position.0, "reads of the record are not changes to it");
    let ledger = records
        .get_ledger(proto::GetLedgerRequest {
            account_id: outcome.account_id.clone(),
            aging_date: String::new(),
            min_position: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ledger.balance_cents, 0);
    assert_eq!(crate::given::ledger_of(&ledger).charges.len(), 6);
    let caseload = records
        .get_caseload(proto::GetCaseloadRequest { clinician_id: outcome.clinician_id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(caseload.client_ids, std::slice::from_ref(&outcome.client_id));
    assert_eq!(caseload.alert_count, 0, "{:?}", caseload.alerts);
    assert!(caseload.alerts.is_empty(), "{:?}", caseload.alerts);
}

/// The record as of each step equals the live view captured right after that step.
async fn as_of_each_step_equals_the_live_view_then(app: &TestApp) {
    let (client, positions) = crate::records::short_intake_capturing(app).await;
    let mut records = app.records(&Caller::new("auditor"));
    for (position, live) in positions {
        let as_of = records
            .get_episode_as_of(proto::GetEpisodeAsOfRequest {
                client_id: client.clone(),
                as_of: Some(proto::get_episode_as_of_request::AsOf::Position(position)),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(as_of.position, position);
        let as_of = crate::given::view_of(as_of);
        // Alerts are worked out when GetEpisode is called, and as-of views carry none.
        assert!(as_of.alerts.is_empty(), "as of position {position}: {:?}", as_of.alerts);
        assert_eq!(as_of, proto::EpisodeView { alerts: Vec::new(), ..live }, "as of position {position}");
    }
    let trail = records
        .list_audit_trail(proto::ListAuditTrailRequest { client_id: client.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let revoked = trail.entries.iter().find(|e| e.event_type == "ConsentRevoked").unwrap();
    assert_eq!(revoked.reason, "client asked to pause treatment");
    let by_time = records
        .get_episode_as_of(proto::GetEpisodeAsOfRequest {
            client_id: client.clone(),
            as_of: Some(proto::get_episode_as_of_request::AsOf::RecordedAt(revoked.recorded_at.unwrap())),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_time.position, revoked.position);
    assert!(crate::given::view_of(by_time).consents[0].revoked.is_some());
}

async fn bad_reads_are_refused_with_the_field_at_fault(app: &TestApp) {
    let (client, positions) = crate::records::short_intake(app).await;
    let mut records = app.records(&Caller::new("auditor"));
    let unknown = Uuid::now_v7().to_string();
    let err = records
        .get_episode(proto::GetEpisodeRequest { client_id: unknown.clone(), min_position: 0 })
        .await
        .unwrap_err();
    assert_rejected(&err, Code::NotFound, "CLIENT_NOT_FOUND");
    let err =
        records.get_episode(proto::GetEpisodeRequest { client_id: "nope".into(), min_position: 0 }).await.unwrap_err();
    assert_invalid_field(&err, "client_id");
    let beyond = positions.last().unwrap() + 100;
    let as_of =
        |client_id: &str, as_of| proto::GetEpisodeAsOfRequest { client_id: client_id.to_owned(), as_of: Some(as_of) };
    use proto::get_episode_as_of_request::AsOf;
    let err = records.get_episode_as_of(as_of(&client, AsOf::Position(beyond))).await.unwrap_err();
    assert_invalid_field(&err, "as_of.position");
    let malformed = prost_types::Timestamp { seconds: 0, nanos: -5 };
    let err = records.get_episode_as_of(as_of(&client, AsOf::RecordedAt(malformed))).await.unwrap_err();
    assert_invalid_field(&err, "as_of.recorded_at");
    let err = records.get_episode_as_of(as_of(&unknown, AsOf::Position(1))).await.unwrap_err();
    assert_rejected(&err, Code::NotFound, "CLIENT_NOT_FOUND");
    let err = records
        .list_audit_trail(proto::ListAuditTrailRequest { page_size: 5000, ..Default::default() })
        .await
        .unwrap_err();
    assert_invalid_field(&err, "page_size");
    let err =
        records.subscribe(proto::SubscribeRequest { after_position: beyond, ..Default::default() }).await.unwrap_err();
    assert_invalid_field(&err, "after_position");
    let err = records
        .get_ledger(proto::GetLedgerRequest { account_id: unknown, aging_date: "31/12/2026".into(), min_position: 0 })
        .await
        .unwrap_err();
    assert_invalid_field(&err, "aging_date");
}

async fn the_audit_trail_pages_and_filters(app: &TestApp) {
    let (client, positions) = crate::records::short_intake(app).await;
    let (_other, _) = crate::records::short_intake(app).await;
    let mut records = app.records(&Caller::new("auditor"));
    records
        .get_episode(proto::GetEpisodeRequest { client_id: client.clone(), min_position: app.event_count().await })
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = records
            .list_audit_trail(proto::ListAuditTrailRequest {
                client_id: client.clone(),
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.entries.iter().map(|e| e.position));
        assert!(page.entries.iter().all(|e| e.client_id == client && !e.actor_id.is_empty()));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let first_events: Vec<u64> = positions.clone();
    assert!(first_events.iter().all(|p| seen.contains(p)), "{seen:?} vs {first_events:?}");
    let revocations = records
        .list_audit_trail(proto::ListAuditTrailRequest {
            event_types: vec!["ConsentRevoked".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(revocations.entries.len(), 2);
}

/// The projector holds read-model commits back for a larger batch (here for ten minutes) unless a
/// reader waits: a read with `min_position` has its position committed without waiting that out.
async fn a_read_of_ones_own_write_is_not_held_back(backend: Backend) {
    let mut config = carelog::app::AppConfig::default();
    config.records.projector.commit_interval = Duration::from_secs(600);
    let app = TestApp::spawn_with(backend, config).await;
    let mut intake = app.intake(&crate::given::front_desk());
    let mut records = app.records(&Caller::new("auditor"));
    // The projector's first commit is never held; this one leaves it holding what comes next.
    let first = Uuid::now_v7();
    let written = intake.register_client(crate::intake::register_request(first)).await.unwrap().into_inner();
    let read = proto::GetEpisodeRequest { client_id: first.to_string(), min_position: written.position };
    records.get_episode(read).await.expect("the first registration is never held");
    let client = Uuid::now_v7();
    let written = intake.register_client(crate::intake::register_request(client)).await.unwrap().into_inner();
    let read = proto::GetEpisodeRequest { client_id: client.to_string(), min_position: written.position };
    let reply = records.get_episode(read).await.expect("answered well within the projector's hold").into_inner();
    assert_eq!(reply.last_event_position, written.position);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_read_of_ones_own_write_is_not_held_back() {
    a_read_of_ones_own_write_is_not_held_back(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_read_of_ones_own_write_is_not_held_back() {
    a_read_of_ones_own_write_is_not_held_back(Backend::Postgres).await;
}

on_both_backends!(
    the_episode_view_after_the_demo_matches_its_events,
    as_of_each_step_equals_the_live_view_then,
    bad_reads_are_refused_with_the_field_at_fault,
    the_audit_trail_pages_and_filters,
);
