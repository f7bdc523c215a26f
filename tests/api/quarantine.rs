//! An event the read side cannot fold (injected here as a bug would make one) is quarantined:
//! only its client's view says it is incomplete, and since when; the health service reports it;
//! every other client's reads carry on; a rebuild by the same build gives the same views.

use carelog_blackbox::{Caller, TestApp, on_both_backends};
use carelog_projections::{RECORDS, Runner};
use carelog_proto::v1 as proto;
use carelog_store::{AppendRequest, ExpectedRevision, NewEvent, StreamQuery};
use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::given;

async fn view(app: &TestApp, client: uuid::Uuid, min_position: u64) -> proto::EpisodeView {
    let request = proto::GetEpisodeRequest { client_id: client.to_string(), min_position };
    let reply = app.records(&Caller::new("auditor")).get_episode(request).await.expect("the episode reads");
    given::view_of(reply.into_inner())
}

async fn completeness(app: &TestApp) -> i32 {
    let request = HealthCheckRequest { service: "carelog.read_models.complete".into() };
    HealthClient::new(app.channel()).check(request).await.expect("health").into_inner().status
}

async fn an_unfoldable_event_leaves_only_its_clients_view_incomplete(app: &TestApp) {
    let (hit, spared) = (given::open_episode(app).await, given::open_episode(app).await);
    let stream = carelog_store::StreamName::new(format!("client-{}", hit.client_id)).expect("stream");
    let template = app.store.read_stream(&stream, StreamQuery::all()).await.expect("read").remove(0);
    let bogus = NewEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: "ClientTeleported".into(),
        schema_version: 1,
        data: serde_json::json!({}),
        metadata: template.metadata.clone(),
    };
    // Values the write side refuses now, as a log written before may hold them: PostgreSQL's
    // tables cannot store them, and they once failed every commit of the projector.
    let mut unstorable = template.metadata;
    unstorable.reason = Some("late entry\u{0}".into());
    unstorable.occurred_at = chrono::DateTime::from_timestamp(-219_983_443_200, 0).expect("the year -5000");
    let old = NewEvent { event_id: uuid::Uuid::now_v7(), metadata: unstorable, ..bogus.clone() };
    let appended = app.store.append(AppendRequest::new(stream, ExpectedRevision::Any, vec![bogus, old])).await.unwrap();
    let position = appended.first_position.0;
    // The projector folds on past it: later events of every client are read as usual.
    let later = given::open_episode(app).await;
    let head = app.event_count().await;

    let incomplete = view(app, hit.client_id, head).await.incomplete;
    assert_eq!(incomplete.len(), 2, "{incomplete:?}");
    assert_eq!(incomplete[0].position, position, "{incomplete:?}");
    assert_eq!(incomplete[1].position, position + 1, "{incomplete:?}");
    assert_eq!(incomplete[0].event_type, "ClientTeleported");
    for client in [spared.client_id, later.client_id] {
        assert!(view(app, client, head).await.incomplete.is_empty());
    }
    let mut status = completeness(app).await;
    for _ in 0..50 {
        if status == ServingStatus::NotServing as i32 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        status = completeness(app).await;
    }
    assert_eq!(status, ServingStatus::NotServing as i32, "health reports the incomplete view");

    let runner = Runner::new(app.store.clone(), app.database()).await.expect("runner");
    let quarantined = runner.models().quarantined(RECORDS).await.expect("quarantine");
    assert_eq!(quarantined.iter().map(|q| q.position).collect::<Vec<_>>(), [position, position + 1]);
    assert!(quarantined[1].error.contains("NUL") || quarantined[1].error.contains("occurred_at"), "{quarantined:?}");
    runner.rebuild(|_| {}).await.expect("a rebuild is not stopped by it either");
    assert_eq!(runner.models().quarantined(RECORDS).await.expect("quarantine"), quarantined);
    assert_eq!(view(app, hit.client_id, 0).await.incomplete, incomplete);
}

on_both_backends!(an_unfoldable_event_leaves_only_its_clients_view_incomplete);
