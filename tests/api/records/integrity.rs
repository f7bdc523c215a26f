//! Rebuilds, crash recovery of the projection, resumable subscriptions and tamper detection.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use carelog_blackbox::{Backend, Caller, TestApp, on_both_backends};
use carelog_projections::persist::{Doc, Generation};
use carelog_projections::{RECORDS, Runner};
use carelog_proto::v1 as proto;
use futures::StreamExt;

fn comparable(docs: Vec<Doc>) -> Vec<(String, String, Option<String>, serde_json::Value)> {
    docs.into_iter().map(|d| (d.kind.as_str().to_owned(), d.key, d.owner, d.body)).collect()
}

async fn live_docs(runner: &Runner) -> Vec<Doc> {
    let live = runner.models().live(RECORDS).await.unwrap();
    runner.models().all_docs(live.id).await.unwrap()
}

/// Rebuilding from position 0 beside the live model, then swapping, gives the same documents.
async fn a_rebuild_from_zero_is_identical_to_the_live_model(app: &TestApp) {
    let outcome = app.run_demo().await;
    let mut app_view = app.records(&Caller::new("auditor"));
    app_view
        .get_episode(proto::GetEpisodeRequest {
            client_id: outcome.client_id.clone(),
            min_position: outcome.last_position(),
        })
        .await
        .unwrap();
    // The log's head: the demo's changes and every read of the record, this one included.
    let head = app.event_count().await;
    let runner = Runner::new(Arc::clone(&app.store), app.database()).await.unwrap();
    let before = comparable(live_docs(&runner).await);
    assert!(before.len() >= 2, "an episode view and a ledger");
    let mut reports = Vec::new();
    let (applied, _) = runner.rebuild(|p| reports.push(p)).await.unwrap();
    assert_eq!(applied, head);
    assert_eq!(reports.last().map(|p| p.checkpoint), Some(head));
    assert_eq!(comparable(live_docs(&runner).await), before);
    // The server keeps serving from the swapped-in generation.
    let again = app_view
        .get_episode(proto::GetEpisodeRequest { client_id: outcome.client_id.clone(), min_position: 0 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.last_event_position, outcome.last_position(), "reads are not changes to the record");
}

/// A projection killed at random points mid-run resumes from its committed checkpoint and ends
/// with exactly the documents and audit rows of an uninterrupted run.
async fn a_killed_projection_resumes_without_loss_or_double_count(app: &TestApp) {
    let outcome = app.run_demo().await;
    let mut records = app.records(&Caller::new("auditor"));
    records
        .get_episode(proto::GetEpisodeRequest {
            client_id: outcome.client_id.clone(),
            min_position: outcome.last_position(),
        })
        .await
        .unwrap();
    let head = app.event_count().await;
    let runner = Runner::new(Arc::clone(&app.store), app.database()).await.unwrap();
    let expected = comparable(live_docs(&runner).await);
    let models = runner.models().clone();
    let generation = models.start_rebuild(RECORDS).await.unwrap();
    let mut kills = 0;
    for delay_ms in [1_u64, 3, 7, 15, 40] {
        let checkpoint = models.checkpoint(generation.id).await.unwrap();
        let resumed = Generation { id: generation.id, checkpoint };
        let worker = runner.clone();
        let task = tokio::spawn(async move { worker.catch_up(resumed, |_| {}).await });
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        if !task.is_finished() {
            kills += 1;
        }
        task.abort();
        let _ = task.await;
    }
    let checkpoint = models.checkpoint(generation.id).await.unwrap();
    runner.catch_up(Generation { id: generation.id, checkpoint }, |_| {}).await.unwrap();
    assert_eq!(models.checkpoint(generation.id).await.unwrap(), head);
    assert_eq!(comparable(models.all_docs(generation.id).await.unwrap()), expected, "after {kills} kills");
    // The live trail, once it has folded the last read of the record: every position once, reads included.
    live_reaches(&runner, head).await;
    let audit = records
        .list_audit_trail(proto::ListAuditTrailRequest { page_size: 1000, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let positions: Vec<u64> = audit.entries.iter().map(|e| e.position).collect();
    assert_eq!(positions, (1..=head).collect::<Vec<_>>());
}

/// Waits (up to 10 s) until the live read model has folded the log up to `position`.
async fn live_reaches(runner: &Runner, position: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let live = runner.models().live(RECORDS).await.unwrap();
        if live.checkpoint >= position {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the live model stays at {}", live.checkpoint);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A connector reads part of the log, disconnects, resumes from its last position and receives every
/// later event exactly once, including events committed while it was away.
async fn a_subscriber_resumes_and_receives_every_event_once(app: &TestApp) {
    let (first_client, first_intake) = crate::records::short_intake(app).await;
    let mut records = app.records(&Caller::new("connector"));
    let mut feed = records.subscribe(proto::SubscribeRequest::default()).await.unwrap().into_inner();
    let mut received = Vec::new();
    while received.len() < 3 {
        if let Some(proto::subscribe_reply::Item::Event(event)) = feed.message().await.unwrap().unwrap().item {
            received.push(event.position);
        }
    }
    drop(feed);
    let (_second_client, _) = crate::records::short_intake(app).await;
    let mut resumed = records
        .subscribe(proto::SubscribeRequest { after_position: *received.last().unwrap(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    // Each subscription is logged before its feed starts, so the head includes this one.
    let head = app.event_count().await;
    let mut heartbeat = None;
    let mut logged_reads = Vec::new();
    while heartbeat.is_none() {
        match resumed.next().await.unwrap().unwrap().item.unwrap() {
            proto::subscribe_reply::Item::Event(event) => {
                assert_eq!(crate::given::data_type(&event).as_deref(), Some(event.event_type.as_str()), "{event:?}");
                let named = match event.data.as_ref().and_then(|d| d.event.as_ref()) {
                    Some(proto::event_data::Event::ClientRegistered(c)) => {
                        c.demographics.as_ref().is_some_and(|d| !d.legal_name.is_empty())
                    }
                    _ => false,
                };
                assert_eq!(named, event.event_type == "ClientRegistered", "{event:?}");
                if event.event_type == "RecordAccessed" {
                    logged_reads.push(event.position);
                }
                received.push(event.position);
            }
            proto::subscribe_reply::Item::Heartbeat(beat) => heartbeat = Some(beat.position),
        }
    }
    assert_eq!(heartbeat, Some(head), "the heartbeat carries the position caught up to");
    assert_eq!(received, (1..=head).collect::<Vec<_>>());
    assert_eq!(received.iter().collect::<HashSet<_>>().len(), received.len());
    let first_subscription = first_intake.last().unwrap() + 1;
    assert_eq!(logged_reads, [first_subscription, head], "the two subscriptions, as the access log records them");
    // Filtered: only consent events, with the checkpoint still moving past the rest.
    let mut consents = records
        .subscribe(proto::SubscribeRequest { event_types: vec!["ConsentGiven".into()], ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let head = app.event_count().await;
    let mut types = Vec::new();
    loop {
        match consents.next().await.unwrap().unwrap().item.unwrap() {
            proto::subscribe_reply::Item::Event(event) => types.push(event.event_type),
            proto::subscribe_reply::Item::Heartbeat(beat) => {
                assert_eq!(beat.position, head);
                break;
            }
        }
    }
    assert_eq!(types, ["ConsentGiven", "ConsentGiven"]);
    let _ = first_client;
}

async fn verify_reports_a_tampered_row_by_stream_and_position(app: &TestApp) {
    let (client, positions) = crate::records::short_intake(app).await;
    let mut records = app.records(&Caller::new("auditor"));
    let verify = |client_id: &str| proto::VerifyRequest { client_id: client_id.to_owned() };
    let intact = records.verify(verify(&client)).await.unwrap().into_inner();
    assert!(intact.intact && intact.events_checked == app.event_count().await, "{intact:?}");
    let target = positions[2];
    let edit = match app.backend {
        Backend::Sqlite => format!(
            "UPDATE events SET data = json_set(data, '$.given_at', '2020-01-01T00:00:00Z') WHERE position = {target}"
        ),
        Backend::Postgres => format!("UPDATE events SET data = '{{\"forged\":true}}' WHERE position = {target}"),
    };
    app.tamper(&edit).await;
    for scope in [client.as_str(), ""] {
        let report = records.verify(verify(scope)).await.unwrap().into_inner();
        assert!(!report.intact);
        let first = &report.breaks[0];
        assert_eq!((first.position, first.stream.as_str()), (target, format!("client-{client}").as_str()));
        assert!(first.description.contains("content changed"), "{}", first.description);
    }
}

on_both_backends!(
    a_rebuild_from_zero_is_identical_to_the_live_model,
    a_killed_projection_resumes_without_loss_or_double_count,
    a_subscriber_resumes_and_receives_every_event_once,
    verify_reports_a_tampered_row_by_stream_and_position,
);

/// A connector that stops reading is not dropped silently: once its buffer stays full past the
/// stall time it receives everything already buffered, then RESOURCE_EXHAUSTED naming the position
/// to resume from; resuming there delivers the rest exactly once.
async fn a_stalled_subscriber_is_told_where_to_resume(backend: Backend) {
    let mut config = carelog::app::AppConfig::default();
    config.records.subscriber_stall = Duration::from_millis(500);
    let app = TestApp::spawn_with(backend, config).await;
    for _ in 0..7 {
        app.run_demo().await;
    }
    let logged = app.event_count().await;
    assert!(logged > 300, "more events than the feed buffers ({logged})");
    // A tiny HTTP/2 window: the server can push only a few bytes before the reader drains them.
    let url = format!("http://{}", app.address());
    let channel = tonic::transport::Endpoint::from_shared(url)
        .unwrap()
        .initial_stream_window_size(Some(1024))
        .connect()
        .await
        .unwrap();
    let mut records = proto::records_service_client::RecordsServiceClient::with_interceptor(
        channel,
        carelog_blackbox::CallerHeaders::new(Caller::new("connector")),
    );
    let mut feed = records.subscribe(proto::SubscribeRequest::default()).await.unwrap().into_inner();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut received = Vec::new();
    let status = loop {
        match tokio::time::timeout(Duration::from_secs(30), feed.message()).await.expect("feed stalled") {
            Ok(Some(reply)) => {
                if let Some(proto::subscribe_reply::Item::Event(event)) = reply.item {
                    received.push(event.position);
                }
            }
            Ok(None) => panic!("the feed ended without saying why"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    let resume: u64 = status.message().rsplit(' ').next().unwrap().parse().unwrap();
    assert_eq!(resume, *received.last().unwrap(), "{}", status.message());
    assert!((received.len() as u64) < logged, "the stall cut the feed short");
    let mut rest = records
        .subscribe(proto::SubscribeRequest { after_position: resume, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    // Both subscriptions are in the log they stream: the access log records each before it starts.
    let head = app.event_count().await;
    assert_eq!(head, logged + 2);
    // Until the heartbeat that says the feed has caught up with the head.
    loop {
        let reply = tokio::time::timeout(Duration::from_secs(30), rest.message()).await.expect("feed stalled");
        match reply.unwrap().unwrap().item.unwrap() {
            proto::subscribe_reply::Item::Event(event) => received.push(event.position),
            proto::subscribe_reply::Item::Heartbeat(beat) if beat.position >= head => break,
            proto::subscribe_reply::Item::Heartbeat(_) => {}
        }
    }
    assert_eq!(received, (1..=head).collect::<Vec<_>>());
    // Open streams would hold the graceful shutdown.
    drop((rest, feed, records));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_stalled_subscriber_is_told_where_to_resume() {
    a_stalled_subscriber_is_told_where_to_resume(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_stalled_subscriber_is_told_where_to_resume() {
    a_stalled_subscriber_is_told_where_to_resume(Backend::Postgres).await;
}

/// Stopping the server ends open log subscriptions with UNAVAILABLE and the position to resume
/// from, rather than waiting for connectors to hang up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_server_stops_promptly_under_open_subscriptions_and_says_where_to_resume() {
    let mut app = TestApp::spawn(Backend::Sqlite).await;
    app.run_demo().await;
    let mut records = app.records(&Caller::new("connector"));
    let request = proto::SubscribeRequest { after_position: 0, heartbeat_seconds: 1, ..Default::default() };
    let mut feed = records.subscribe(request).await.expect("subscribe").into_inner();
    let mut last = 0;
    while let Some(Ok(reply)) = feed.next().await {
        if let Some(proto::subscribe_reply::Item::Heartbeat(beat)) = reply.item {
            last = beat.position;
            break;
        }
    }
    assert!(last > 0, "caught up before the stop");
    tokio::time::timeout(Duration::from_secs(10), app.stop_server()).await.expect("the server stops within 10 s");
    let mut ended = None;
    while let Some(item) = feed.next().await {
        if let Err(status) = item {
            ended = Some(status);
            break;
        }
    }
    let status = ended.expect("the feed ends with a status");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(status.message().contains("resume with after_position"), "{status:?}");
    app.stop().await;
}
