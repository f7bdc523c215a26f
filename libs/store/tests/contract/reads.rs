//! Reads and subscriptions: stream reads, filtered log reads, catch-up then live, resumption, no skips.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use carelog_store::{
    AppendRequest, EventStore, ExpectedRevision, LogFilter, LogQuery, Position, ReadFrom, StreamQuery, SubscriptionItem,
};
use futures::StreamExt;
use rand::Rng;
use serde_json::json;

use crate::support::{Harness, event, events, stream};

const PATIENCE: Duration = Duration::from_secs(30);

async fn seed(store: &dyn EventStore) {
    for (name, types) in [
        ("client-1", ["ClientRegistered", "ConsentGiven"]),
        ("session-1", ["SessionScheduled", "SessionHeld"]),
        ("account-1", ["ChargeCreated", "ClaimSubmitted"]),
        ("client-2", ["ClientRegistered", "ConsentRevoked"]),
    ] {
        let batch = types.iter().map(|t| event(t, json!({ "stream": name }))).collect();
        store.append(AppendRequest::new(stream(name), ExpectedRevision::NoStream, batch)).await.unwrap();
    }
}

/// Takes the next `n` events from a subscription, skipping caught-up markers.
async fn next_events(sub: &mut carelog_store::EventSubscription, n: usize) -> Vec<carelog_store::RecordedEvent> {
    let mut got = Vec::new();
    while got.len() < n {
        let item = tokio::time::timeout(PATIENCE, sub.next()).await.expect("subscription stalled").expect("ended");
        if let SubscriptionItem::Event(event) = item.unwrap() {
            got.push(*event);
        }
    }
    got
}

pub async fn read_a_stream_forward_and_backward(h: &Harness) {
    let s = stream("session-r");
    h.store.append(AppendRequest::new(s.clone(), ExpectedRevision::NoStream, events(5))).await.unwrap();
    let revisions = |events: Vec<carelog_store::RecordedEvent>| events.iter().map(|e| e.revision).collect::<Vec<_>>();
    assert_eq!(revisions(h.store.read_stream(&s, StreamQuery::forward_from(2, 2)).await.unwrap()), [2, 3]);
    assert_eq!(revisions(h.store.read_stream(&s, StreamQuery::backward_from(ReadFrom::End, 2)).await.unwrap()), [4, 3]);
    assert_eq!(
        revisions(h.store.read_stream(&s, StreamQuery::backward_from(ReadFrom::Revision(1), 10)).await.unwrap()),
        [1, 0]
    );
    assert!(h.store.read_stream(&s, StreamQuery::forward_from(9, 10)).await.unwrap().is_empty());
    assert!(h.store.read_stream(&stream("session-none"), StreamQuery::all()).await.unwrap().is_empty());
    assert!(h.store.read_stream(&s, StreamQuery::forward_from(0, 0)).await.is_err());
}

pub async fn read_the_log_with_filters(h: &Harness) {
    seed(h.store.as_ref()).await;
    let read = |query: LogQuery| {
        let store = Arc::clone(&h.store);
        async move { store.read_all(&query).await.unwrap().iter().map(|e| e.position.0).collect::<Vec<_>>() }
    };
    assert_eq!(read(LogQuery::from(Position(1), 100)).await, (1..=8).collect::<Vec<_>>());
    assert_eq!(read(LogQuery::from(Position(6), 100)).await, [6, 7, 8]);
    assert_eq!(read(LogQuery::from(Position(2), 3)).await, [2, 3, 4]);
    assert_eq!(read(LogQuery::from(Position(1), 100).filtered(LogFilter::categories(["client"]))).await, [1, 2, 7, 8]);
    assert_eq!(
        read(LogQuery::from(Position(1), 100).filtered(LogFilter::categories(["session", "account"]))).await,
        [3, 4, 5, 6]
    );
    assert_eq!(
        read(LogQuery::from(Position(1), 100).filtered(LogFilter::event_types(["ClientRegistered"]))).await,
        [1, 7]
    );
    let both = LogFilter {
        categories: vec!["client".into()],
        event_types: vec!["ConsentRevoked".into(), "SessionHeld".into()],
    };
    assert_eq!(read(LogQuery::from(Position(1), 100).filtered(both)).await, [8]);
    let bounded = LogQuery { from: Position(2), up_to: Some(Position(4)), filter: LogFilter::all(), limit: 100 };
    assert_eq!(read(bounded).await, [2, 3, 4]);
    assert!(read(LogQuery::from(Position(9), 100)).await.is_empty());
}

pub async fn subscription_catches_up_then_goes_live(h: &Harness) {
    h.store.append(AppendRequest::new(stream("client-s"), ExpectedRevision::NoStream, events(5))).await.unwrap();
    let mut sub = h.store.subscribe(Position::START, LogFilter::all());
    let caught_up = next_events(&mut sub, 5).await;
    assert_eq!(caught_up.iter().map(|e| e.position.0).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    let marker = tokio::time::timeout(PATIENCE, sub.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(marker, SubscriptionItem::CaughtUp(Position(5)));
    let live = events(3);
    h.store.append(AppendRequest::new(stream("client-s"), ExpectedRevision::Exact(4), live.clone())).await.unwrap();
    let got = next_events(&mut sub, 3).await;
    assert_eq!(got.iter().map(|e| e.event_id).collect::<Vec<_>>(), live.iter().map(|e| e.event_id).collect::<Vec<_>>());
}

pub async fn subscription_resumes_from_a_checkpoint_exactly_once(h: &Harness) {
    h.store.append(AppendRequest::new(stream("client-a"), ExpectedRevision::NoStream, events(10))).await.unwrap();
    let mut sub = h.store.subscribe(Position::START, LogFilter::all());
    let first = next_events(&mut sub, 4).await;
    let checkpoint = first.last().unwrap().position;
    drop(sub);
    h.store.append(AppendRequest::new(stream("client-b"), ExpectedRevision::NoStream, events(5))).await.unwrap();
    let mut resumed = h.store.subscribe(checkpoint, LogFilter::all());
    let rest = next_events(&mut resumed, 11).await;
    let positions: Vec<u64> = first.iter().chain(&rest).map(|e| e.position.0).collect();
    assert_eq!(positions, (1..=15).collect::<Vec<_>>());
}

pub async fn filtered_subscription_reports_caught_up_past_skipped_events(h: &Harness) {
    seed(h.store.as_ref()).await;
    let mut sub = h.store.subscribe(Position::START, LogFilter::categories(["session"]));
    let got = next_events(&mut sub, 2).await;
    assert!(got.iter().all(|e| e.category() == "session"));
    let marker = tokio::time::timeout(PATIENCE, sub.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(marker, SubscriptionItem::CaughtUp(Position(8)), "the checkpoint must move past filtered-out events");
}

/// The foundation's promise: many concurrent writers, some slow, two store instances (two processes)
/// on one database, and a live subscriber that sees every event exactly once, densely, in order.
pub async fn no_event_is_skipped_or_duplicated_under_concurrent_writers(h: &Harness) {
    const WRITERS: usize = 12;
    const APPENDS: usize = 25;
    let other_process = h.reopen().await;
    let mut sub = h.store.subscribe(Position::START, LogFilter::all());
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = if w % 2 == 0 { Arc::clone(&h.store) } else { Arc::clone(&other_process) };
        tasks.push(tokio::spawn(async move {
            let mut written = 0;
            for i in 0..APPENDS {
                let (size, pause) = {
                    let mut rng = rand::rng();
                    (rng.random_range(1..=4), rng.random_range(0..3))
                };
                if pause > 0 {
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
                let expected = if i == 0 { ExpectedRevision::NoStream } else { ExpectedRevision::StreamExists };
                store
                    .append(AppendRequest::new(stream(&format!("session-w{w}")), expected, events(size)))
                    .await
                    .unwrap();
                written += size;
            }
            written
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    let received = next_events(&mut sub, total).await;
    let positions: Vec<u64> = received.iter().map(|e| e.position.0).collect();
    assert_eq!(positions, (1..=total as u64).collect::<Vec<_>>(), "skipped, duplicated or reordered events");
    assert_eq!(received.iter().map(|e| e.event_id).collect::<HashSet<_>>().len(), total);
    let extra = tokio::time::timeout(Duration::from_millis(300), sub.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(extra, SubscriptionItem::CaughtUp(Position(total as u64)));
}

pub async fn a_second_process_sees_commits_of_the_first(h: &Harness) {
    let other = h.reopen().await;
    let mut sub = other.subscribe(Position::START, LogFilter::all());
    let marker = tokio::time::timeout(PATIENCE, sub.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(marker, SubscriptionItem::CaughtUp(Position::START));
    h.store.append(AppendRequest::new(stream("client-p"), ExpectedRevision::NoStream, events(2))).await.unwrap();
    let got = next_events(&mut sub, 2).await;
    assert_eq!(got.iter().map(|e| e.position.0).collect::<Vec<_>>(), [1, 2]);
    let next =
        other.append(AppendRequest::new(stream("client-p"), ExpectedRevision::Exact(1), events(1))).await.unwrap();
    assert_eq!(next.first_position, Position(3));
}

fn for_client(client: &str, n: usize) -> Vec<carelog_store::NewEvent> {
    let mut batch = events(n);
    for e in &mut batch {
        e.metadata.tags.client = Some(client.to_owned());
    }
    batch
}

pub async fn read_one_clients_events_up_to_a_position(h: &Harness) {
    for (stream_name, client) in [("client-a1", "a1"), ("client-b2", "b2"), ("session-x", "a1"), ("account-y", "b2")] {
        let batch = for_client(client, 2);
        h.store.append(AppendRequest::new(stream(stream_name), ExpectedRevision::NoStream, batch)).await.unwrap();
    }
    let mut untagged = events(1);
    untagged[0].metadata.tags.client = None;
    h.store.append(AppendRequest::new(stream("client-none"), ExpectedRevision::NoStream, untagged)).await.unwrap();
    let positions = |events: Vec<carelog_store::RecordedEvent>| events.iter().map(|e| e.position.0).collect::<Vec<_>>();
    let all = LogQuery::from(Position(1), 100);
    assert_eq!(positions(h.store.read_client("a1", &all).await.unwrap()), [1, 2, 5, 6]);
    assert_eq!(positions(h.store.read_client("b2", &all).await.unwrap()), [3, 4, 7, 8]);
    let until_5 = LogQuery { from: Position(1), up_to: Some(Position(5)), filter: LogFilter::all(), limit: 100 };
    assert_eq!(positions(h.store.read_client("a1", &until_5).await.unwrap()), [1, 2, 5]);
    let sessions = LogQuery::from(Position(1), 100).filtered(LogFilter::categories(["session"]));
    assert_eq!(positions(h.store.read_client("a1", &sessions).await.unwrap()), [5, 6]);
    assert!(h.store.read_client("nobody", &all).await.unwrap().is_empty());
}

pub async fn position_at_maps_a_time_to_the_log_as_it_stood(h: &Harness) {
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    assert_eq!(h.store.position_at(chrono::Utc::now()).await.unwrap(), Position::START);
    h.store.append(AppendRequest::new(stream("client-t1"), ExpectedRevision::NoStream, events(2))).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    h.store.append(AppendRequest::new(stream("client-t1"), ExpectedRevision::Exact(1), events(1))).await.unwrap();
    assert_eq!(h.store.position_at(before).await.unwrap(), Position::START);
    assert_eq!(h.store.position_at(between).await.unwrap(), Position(2));
    assert_eq!(h.store.position_at(chrono::Utc::now()).await.unwrap(), Position(3));
}

/// What is kept beside an embedded log (its development signing key) finds the log's file; a
/// server has no file to keep anything beside.
pub async fn the_database_names_its_file_only_when_embedded(h: &Harness) {
    let expected = h.sqlite_file().map(|path| path.canonicalize().expect("the file exists"));
    let found = h.database.embedded_file().await;
    assert_eq!(found.map(|file| file.canonicalize().expect("named file exists")), expected);
}
