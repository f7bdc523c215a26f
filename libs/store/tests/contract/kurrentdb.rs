//! The contract on KurrentDB (feature `kurrentdb`), run when `KURRENTDB_URL` is set (or testcontainers
//! can start a server). Each test gets its own stream namespace on the shared cluster. Positions are
//! sparse commit positions here, so these tests compare positions by order, never by value.

use std::sync::Arc;

use carelog_store::{
    AppendRequest, EventStore, ExpectedRevision, KurrentDbOptions, KurrentDbStore, LogFilter, LogQuery, Position,
    StoreError, StreamQuery, SubscriptionItem, VerifyScope,
};
use futures::StreamExt;
use serde_json::json;

use crate::support::{event, events, stream};

/// A store in a fresh namespace, or None (with a notice) when no KurrentDB is configured.
async fn fresh() -> Option<Arc<dyn EventStore>> {
    let url = carelog_testkit::kurrentdb_url().await?;
    let namespace = format!("t{}", uuid::Uuid::new_v4().simple());
    let options = KurrentDbOptions::new(url).namespace(namespace);
    let store = KurrentDbStore::connect(options).await.unwrap_or_else(|e| panic!("KURRENTDB_URL is set but: {e}"));
    Some(Arc::new(store))
}

macro_rules! kurrentdb_test {
    ($name:ident, |$store:ident| $body:block) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let Some($store) = fresh().await else { return };
            $body
        }
    };
}

kurrentdb_test!(append_and_read_back_the_full_envelope, |store| {
    let sent = vec![event("ClientRegistered", json!({ "name": "A. Client" })), event("EpisodeOpened", json!({}))];
    let s = stream("client-0193a7");
    let result = store.append(AppendRequest::new(s.clone(), ExpectedRevision::NoStream, sent.clone())).await.unwrap();
    assert_eq!((result.first_revision, result.last_revision), (0, 1));
    assert!(result.first_position < result.last_position && !result.already_stored);
    let read = store.read_stream(&s, StreamQuery::all()).await.unwrap();
    assert_eq!(
        read.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        sent.iter().map(|e| e.event_id).collect::<Vec<_>>()
    );
    assert_eq!((read[0].position, read[1].position), (result.first_position, result.last_position));
    assert_eq!((&read[0].data, &read[0].metadata), (&sent[0].data, &sent[0].metadata));
    assert_eq!(read[1].prev_hash, read[0].hash, "the chain links the stream's events");
    assert_eq!(store.head_position().await.unwrap(), result.last_position);
    assert_eq!(store.stream_revision(&s).await.unwrap(), Some(1));
    assert_eq!(store.event_by_id(sent[1].event_id).await.unwrap().map(|e| e.revision), Some(1));
});

kurrentdb_test!(expected_revision_is_enforced_and_a_conflict_stores_nothing, |store| {
    let s = stream("plan-1");
    store.append(AppendRequest::new(s.clone(), ExpectedRevision::NoStream, events(2))).await.unwrap();
    let stale = store.append(AppendRequest::new(s.clone(), ExpectedRevision::Exact(0), events(1))).await.unwrap_err();
    assert!(matches!(stale, StoreError::Conflict { actual: Some(1), .. }), "{stale:?}");
    let exists = store.append(AppendRequest::new(s.clone(), ExpectedRevision::NoStream, events(1))).await;
    assert!(matches!(exists, Err(StoreError::Conflict { .. })));
    assert_eq!(store.stream_revision(&s).await.unwrap(), Some(1));
    let next = store.append(AppendRequest::new(s.clone(), ExpectedRevision::Exact(1), events(1))).await.unwrap();
    assert_eq!(next.first_revision, 2);
});

kurrentdb_test!(a_retried_append_is_stored_once, |store| {
    let s = stream("session-1");
    let request = AppendRequest::new(s.clone(), ExpectedRevision::NoStream, events(3));
    let first = store.append(request.clone()).await.unwrap();
    let again = store.append(request.clone()).await.unwrap();
    assert!(again.already_stored);
    assert_eq!((again.first_position, again.last_position), (first.first_position, first.last_position));
    let mut changed = request;
    changed.events[2].data = json!({ "n": 99 });
    assert!(matches!(store.append(changed).await, Err(StoreError::IdempotencyMismatch { .. })));
    assert_eq!(store.read_stream(&s, StreamQuery::all()).await.unwrap().len(), 3);
});

kurrentdb_test!(conditions_on_other_streams_are_refused_and_store_nothing, |store| {
    let s = stream("session-2");
    let request = AppendRequest::new(s.clone(), ExpectedRevision::NoStream, events(1))
        .with_condition(stream("client-2"), ExpectedRevision::NoStream);
    let error = store.append(request).await.unwrap_err();
    assert!(matches!(error, StoreError::Unsupported { backend: "kurrentdb", .. }), "{error:?}");
    assert_eq!(store.stream_revision(&s).await.unwrap(), None);
});

kurrentdb_test!(concurrent_writers_on_one_stream_lose_and_duplicate_nothing, |store| {
    let s = stream("account-1");
    store.append(AppendRequest::new(s.clone(), ExpectedRevision::NoStream, events(1))).await.unwrap();
    let writers = (0..8).map(|_| {
        let (store, s) = (store.clone(), s.clone());
        tokio::spawn(async move { store.append(AppendRequest::new(s, ExpectedRevision::Exact(0), events(1))).await })
    });
    let results = futures::future::join_all(writers).await;
    let won = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
    assert_eq!(won, 1, "exactly one writer at revision 0 wins");
    assert_eq!(store.stream_revision(&s).await.unwrap(), Some(1));
    let report = store.verify(&VerifyScope::All, &|_| {}).await.unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
});

kurrentdb_test!(read_the_log_with_filters_and_resume_after_a_position, |store| {
    store.append(AppendRequest::new(stream("client-9"), ExpectedRevision::NoStream, events(2))).await.unwrap();
    let held = vec![event("SessionHeld", json!({ "minutes": 53 }))];
    store.append(AppendRequest::new(stream("session-9"), ExpectedRevision::NoStream, held)).await.unwrap();
    let all = store.read_all(&LogQuery::from(Position(1), 100)).await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.windows(2).all(|w| w[0].position < w[1].position));
    let after_first = store.read_all(&LogQuery::from(all[0].position.next(), 100)).await.unwrap();
    assert_eq!(after_first, all[1..].to_vec(), "reading from a position + 1 resumes after it");
    let clients = LogQuery::from(Position(1), 100).filtered(LogFilter::categories(["client"]));
    assert_eq!(store.read_all(&clients).await.unwrap().len(), 2);
    let types = LogQuery::from(Position(1), 100).filtered(LogFilter::event_types(["SessionHeld"]));
    assert_eq!(store.read_all(&types).await.unwrap().len(), 1);
    let bounded = LogQuery { up_to: Some(all[1].position), ..LogQuery::from(Position(1), 100) };
    assert_eq!(store.read_all(&bounded).await.unwrap().len(), 2);
    assert_eq!(store.read_client("client-1", &LogQuery::from(Position(1), 100)).await.unwrap().len(), 3);
});

kurrentdb_test!(subscription_catches_up_then_goes_live_and_resumes_exactly_once, |store| {
    let s = stream("client-5");
    store.append(AppendRequest::new(s.clone(), ExpectedRevision::NoStream, events(2))).await.unwrap();
    let mut sub = store.subscribe(Position::START, LogFilter::all());
    let mut seen = Vec::new();
    let caught_up = loop {
        match tokio::time::timeout(std::time::Duration::from_secs(10), sub.next()).await.expect("item").unwrap() {
            Ok(SubscriptionItem::Event(e)) => seen.push(e.position),
            Ok(SubscriptionItem::CaughtUp(p)) => break p,
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(seen.len(), 2);
    assert!(caught_up >= seen[1]);
    let live = store.append(AppendRequest::new(s.clone(), ExpectedRevision::Exact(1), events(1))).await.unwrap();
    let next = loop {
        match sub.next().await.expect("item").unwrap() {
            SubscriptionItem::Event(e) => break e,
            SubscriptionItem::CaughtUp(_) => continue,
        }
    };
    assert_eq!(next.position, live.first_position);
    let mut resumed = store.subscribe(seen[0], LogFilter::all());
    match resumed.next().await.expect("item").unwrap() {
        SubscriptionItem::Event(e) => assert_eq!(e.position, seen[1], "resuming skips the checkpoint event"),
        other => panic!("expected an event, got {other:?}"),
    }
});
