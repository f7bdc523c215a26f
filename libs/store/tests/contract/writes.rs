//! Appends: expected revisions, conditions, idempotency, bad input, durability.

use std::collections::HashSet;
use std::sync::Arc;

use carelog_store::{
    AppendRequest, ExpectedRevision, InvalidInput, NewEvent, Position, StoreError, StreamName, StreamQuery,
};
use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use crate::support::{Harness, event, events, metadata, stream};

pub async fn append_and_read_back_the_full_envelope(h: &Harness) {
    let before = Utc::now();
    let sent = vec![
        event("ClientRegistered", json!({ "name": "A. Client", "dob": "1990-04-01" })),
        event("ConsentGiven", json!({ "kind": "treatment", "nested": { "b": [1, 2.5, null], "a": true } })),
        event("EpisodeOpened", json!({})),
    ];
    let s = stream("client-0193a7");
    let result = h.store.append(AppendRequest::new(s.clone(), ExpectedRevision::NoStream, sent.clone())).await.unwrap();
    assert_eq!((result.first_revision, result.last_revision), (0, 2));
    assert_eq!((result.first_position, result.last_position), (Position(1), Position(3)));
    assert!(!result.already_stored);

    let read = h.store.read_stream(&s, StreamQuery::all()).await.unwrap();
    assert_eq!(read.len(), 3);
    for (i, (got, want)) in read.iter().zip(&sent).enumerate() {
        assert_eq!(got.event_id, want.event_id);
        assert_eq!(got.stream, s);
        assert_eq!(got.revision, i as u64);
        assert_eq!(got.position, Position(i as u64 + 1));
        assert_eq!(got.event_type, want.event_type);
        assert_eq!(got.schema_version, 1);
        assert_eq!(got.data, want.data);
        assert_eq!(got.metadata, want.metadata);
        assert!(got.recorded_at >= before - chrono::Duration::milliseconds(1) && got.recorded_at <= Utc::now());
        assert_eq!(got.category(), "client");
    }
    assert_eq!(read[0].prev_hash, carelog_store::EventHash::GENESIS);
    assert_eq!(read[1].prev_hash, read[0].hash);
    assert_eq!(read[2].prev_hash, read[1].hash);
    assert_eq!(h.store.stream_revision(&s).await.unwrap(), Some(2));
    assert_eq!(h.store.stream_revision(&stream("client-none")).await.unwrap(), None);
    assert_eq!(h.store.head_position().await.unwrap(), Position(3));
    let by_id = h.store.event_by_id(sent[1].event_id).await.unwrap().expect("stored");
    assert_eq!(by_id, read[1]);
    assert!(h.store.event_by_id(Uuid::now_v7()).await.unwrap().is_none());
}

pub async fn expected_revision_is_enforced_and_a_conflict_stores_nothing(h: &Harness) {
    let s = stream("plan-1");
    let append = |expected| h.store.append(AppendRequest::new(s.clone(), expected, events(1)));
    let err = append(ExpectedRevision::StreamExists).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { stream, actual: None, .. } if stream == "plan-1"), "{err}");
    let err = append(ExpectedRevision::Exact(0)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { expected: ExpectedRevision::Exact(0), actual: None, .. }));
    append(ExpectedRevision::NoStream).await.unwrap();
    let err = append(ExpectedRevision::NoStream).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { actual: Some(0), .. }), "{err}");
    let err = append(ExpectedRevision::Exact(5)).await.unwrap_err();
    assert_eq!(err.to_string(), "conflict on stream plan-1: expected 5, actual 0");
    append(ExpectedRevision::Exact(0)).await.unwrap();
    append(ExpectedRevision::StreamExists).await.unwrap();
    append(ExpectedRevision::Any).await.unwrap();
    assert_eq!(h.store.stream_revision(&s).await.unwrap(), Some(3));
    assert_eq!(h.store.head_position().await.unwrap(), Position(4));
}

/// Writers race on one stream with optimistic concurrency and retry on conflict: every event lands once.
pub async fn concurrent_writers_on_one_stream_lose_and_duplicate_nothing(h: &Harness) {
    const WRITERS: usize = 8;
    const APPENDS: usize = 20;
    let s = stream("session-shared");
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let store = Arc::clone(&h.store);
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ids, mut conflicts) = (Vec::new(), 0);
            for _ in 0..APPENDS {
                let batch = events(2);
                loop {
                    let expected = match store.stream_revision(&s).await.unwrap() {
                        Some(r) => ExpectedRevision::Exact(r),
                        None => ExpectedRevision::NoStream,
                    };
                    match store.append(AppendRequest::new(s.clone(), expected, batch.clone())).await {
                        Ok(_) => break,
                        Err(StoreError::Conflict { .. }) => conflicts += 1,
                        Err(other) => panic!("unexpected error: {other}"),
                    }
                }
                ids.extend(batch.iter().map(|e| e.event_id));
            }
            (ids, conflicts)
        }));
    }
    let mut written = HashSet::new();
    let mut conflicts = 0;
    for task in tasks {
        let (ids, c) = task.await.unwrap();
        written.extend(ids);
        conflicts += c;
    }
    let stored = h.store.read_stream(&s, StreamQuery::all()).await.unwrap();
    assert_eq!(stored.len(), WRITERS * APPENDS * 2);
    assert_eq!(stored.iter().map(|e| e.event_id).collect::<HashSet<_>>(), written);
    assert!(stored.iter().enumerate().all(|(i, e)| e.revision == i as u64));
    // Each append's two events are adjacent: appends are atomic.
    assert!(stored.chunks(2).all(|pair| pair[1].position.0 == pair[0].position.0 + 1));
    assert!(conflicts > 0, "the writers never collided; the test did not exercise conflicts");
}

pub async fn concurrent_writers_on_many_streams_get_dense_positions(h: &Harness) {
    let mut tasks = Vec::new();
    for w in 0..16 {
        let store = Arc::clone(&h.store);
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                let expected = if i == 0 { ExpectedRevision::NoStream } else { ExpectedRevision::Exact(i - 1) };
                store.append(AppendRequest::new(stream(&format!("account-{w}")), expected, events(1))).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let all = h.store.read_all(&carelog_store::LogQuery::from(Position(1), 1000)).await.unwrap();
    assert_eq!(all.len(), 160);
    assert!(all.iter().enumerate().all(|(i, e)| e.position == Position(i as u64 + 1)));
    assert!(all.windows(2).all(|w| w[0].recorded_at <= w[1].recorded_at), "recorded_at ran backwards");
}

pub async fn a_retried_append_is_stored_once(h: &Harness) {
    let s = stream("client-retry");
    let batch = events(2);
    let first = h.store.append(AppendRequest::new(s.clone(), ExpectedRevision::NoStream, batch.clone())).await.unwrap();
    h.store.append(AppendRequest::new(s.clone(), ExpectedRevision::Exact(1), events(1))).await.unwrap();
    // The retry carries the original expectation, which no longer holds: it still succeeds, storing nothing.
    let retry = h.store.append(AppendRequest::new(s.clone(), ExpectedRevision::NoStream, batch.clone())).await.unwrap();
    assert!(retry.already_stored);
    assert_eq!(
        (retry.first_position, retry.last_position, retry.last_revision),
        (first.first_position, first.last_position, 1)
    );
    assert_eq!(h.store.head_position().await.unwrap(), Position(3));

    let mut changed = batch.clone();
    changed[1].data = json!({ "n": "different" });
    let err = h.store.append(AppendRequest::new(s.clone(), ExpectedRevision::Any, changed)).await.unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyMismatch { .. }), "{err}");
    let partial = vec![batch[0].clone(), event("Noted", json!({}))];
    let err = h.store.append(AppendRequest::new(s.clone(), ExpectedRevision::Any, partial)).await.unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyMismatch { .. }), "{err}");
    let err = h
        .store
        .append(AppendRequest::new(stream("client-other"), ExpectedRevision::Any, batch.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::EventIdInOtherStream { existing_stream, .. } if existing_stream == "client-retry"),
        "{err}"
    );
    assert_eq!(h.store.head_position().await.unwrap(), Position(3));
}

pub async fn concurrent_retries_of_one_append_store_it_once(h: &Harness) {
    let batch = events(3);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (store, batch) = (Arc::clone(&h.store), batch.clone());
        tasks.push(tokio::spawn(async move {
            store.append(AppendRequest::new(stream("client-twice"), ExpectedRevision::NoStream, batch)).await.unwrap()
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    assert_eq!(results.iter().filter(|r| !r.already_stored).count(), 1);
    assert!(results.iter().all(|r| r.first_position == Position(1) && r.last_revision == 2));
    assert_eq!(h.store.head_position().await.unwrap(), Position(3));
}

pub async fn conditions_on_other_streams_are_checked_in_the_same_transaction(h: &Harness) {
    let client = stream("client-c");
    let session = stream("session-s");
    h.store.append(AppendRequest::new(client.clone(), ExpectedRevision::NoStream, events(1))).await.unwrap();
    let held = AppendRequest::new(session.clone(), ExpectedRevision::NoStream, events(1))
        .with_condition(client.clone(), ExpectedRevision::Exact(0));
    h.store.append(held).await.unwrap();
    h.store.append(AppendRequest::new(client.clone(), ExpectedRevision::Exact(0), events(1))).await.unwrap();
    let stale = AppendRequest::new(session.clone(), ExpectedRevision::Exact(0), events(1))
        .with_condition(client.clone(), ExpectedRevision::Exact(0));
    let err = h.store.append(stale).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { stream, expected: ExpectedRevision::Exact(0), actual: Some(1) } if stream == "client-c"),
        "{err}"
    );
    let missing = AppendRequest::new(session.clone(), ExpectedRevision::Exact(0), events(1))
        .with_condition(stream("client-missing"), ExpectedRevision::StreamExists);
    assert!(matches!(h.store.append(missing).await.unwrap_err(), StoreError::Conflict { actual: None, .. }));
    assert_eq!(h.store.stream_revision(&session).await.unwrap(), Some(0));
    assert_eq!(h.store.head_position().await.unwrap(), Position(3));
}

/// A consent revocation races a session append conditioned on the consent stream: the session is
/// stored only if it committed before the revocation.
pub async fn a_condition_holds_under_a_race(h: &Harness) {
    for round in 0..20 {
        let client = stream(&format!("client-race{round}"));
        let session = stream(&format!("session-race{round}"));
        h.store.append(AppendRequest::new(client.clone(), ExpectedRevision::NoStream, events(1))).await.unwrap();
        let (a, b) = (Arc::clone(&h.store), Arc::clone(&h.store));
        let (c1, c2, s1) = (client.clone(), client.clone(), session.clone());
        let revoke =
            tokio::spawn(async move { a.append(AppendRequest::new(c1, ExpectedRevision::Exact(0), events(1))).await });
        let hold = tokio::spawn(async move {
            b.append(
                AppendRequest::new(s1, ExpectedRevision::NoStream, events(1))
                    .with_condition(c2, ExpectedRevision::Exact(0)),
            )
            .await
        });
        let revoked = revoke.await.unwrap().unwrap();
        match hold.await.unwrap() {
            Ok(held) => assert!(held.last_position < revoked.first_position, "session stored after revocation"),
            Err(StoreError::Conflict { stream, .. }) => {
                assert_eq!(stream, client.as_str());
                assert_eq!(h.store.stream_revision(&session).await.unwrap(), None);
            }
            Err(other) => panic!("unexpected: {other}"),
        }
    }
}

pub async fn bad_input_gets_a_typed_error_and_stores_nothing(h: &Harness) {
    assert_eq!(StreamName::new(""), Err(InvalidInput::EmptyStreamName));
    assert!(matches!(StreamName::new("client 1"), Err(InvalidInput::StreamNameCharacter { character: ' ', .. })));
    assert!(matches!(StreamName::new("x".repeat(201)), Err(InvalidInput::StreamNameTooLong { .. })));
    let unknown = "sometimes".parse::<ExpectedRevision>().unwrap_err();
    assert_eq!(unknown.field(), "expected_revision");
    assert_eq!("7".parse::<ExpectedRevision>(), Ok(ExpectedRevision::Exact(7)));
    let invalid_json = NewEvent::from_json_text(Uuid::now_v7(), "Noted", 1, "{\"a\":", metadata()).unwrap_err();
    assert!(matches!(invalid_json, InvalidInput::InvalidJson { .. }));
    assert_eq!(invalid_json.field(), "data");

    let s = stream("client-bad");
    let reject = |events: Vec<NewEvent>| h.store.append(AppendRequest::new(s.clone(), ExpectedRevision::Any, events));
    let invalid = |err: StoreError| match err {
        StoreError::Invalid(invalid) => invalid,
        other => panic!("expected invalid input, got {other}"),
    };
    let huge = event("Noted", json!({ "text": "x".repeat(1024 * 1024) }));
    assert!(matches!(invalid(reject(vec![huge]).await.unwrap_err()), InvalidInput::EventTooLarge { .. }));
    assert!(matches!(invalid(reject(vec![]).await.unwrap_err()), InvalidInput::NoEvents));
    assert!(matches!(
        invalid(reject(vec![event("Noted", json!([1]))]).await.unwrap_err()),
        InvalidInput::DataNotObject { .. }
    ));
    assert!(matches!(
        invalid(reject(vec![event("has space", json!({}))]).await.unwrap_err()),
        InvalidInput::EventType { .. }
    ));
    let twice = event("Noted", json!({}));
    assert!(matches!(
        invalid(reject(vec![twice.clone(), twice]).await.unwrap_err()),
        InvalidInput::DuplicateEventId { .. }
    ));
    let mut nil = event("Noted", json!({}));
    nil.event_id = Uuid::nil();
    assert!(matches!(invalid(reject(vec![nil]).await.unwrap_err()), InvalidInput::NilEventId));
    let mut v0 = event("Noted", json!({}));
    v0.schema_version = 0;
    assert!(matches!(invalid(reject(vec![v0]).await.unwrap_err()), InvalidInput::SchemaVersion { .. }));
    let mut anonymous = event("Noted", json!({}));
    anonymous.metadata.actor.id = " ".into();
    assert!(matches!(invalid(reject(vec![anonymous]).await.unwrap_err()), InvalidInput::MissingActor { .. }));
    assert!(matches!(invalid(reject(events(1001)).await.unwrap_err()), InvalidInput::TooManyEvents { .. }));
    let self_condition = AppendRequest::new(s.clone(), ExpectedRevision::Any, events(1))
        .with_condition(s.clone(), ExpectedRevision::Any);
    assert!(matches!(
        invalid(h.store.append(self_condition).await.unwrap_err()),
        InvalidInput::ConditionOnAppendedStream { .. }
    ));
    assert_eq!(h.store.head_position().await.unwrap(), Position::START);
}

pub async fn events_cannot_be_updated_or_deleted_through_sql(h: &Harness) {
    h.store.append(AppendRequest::new(stream("client-x"), ExpectedRevision::Any, events(2))).await.unwrap();
    let update = h.raw_sql("UPDATE events SET event_type = 'Forged' WHERE position = 1").await.unwrap_err();
    assert!(update.to_string().contains("immutable"), "{update}");
    let delete = h.raw_sql("DELETE FROM events WHERE position = 2").await.unwrap_err();
    assert!(delete.to_string().contains("immutable"), "{delete}");
    assert_eq!(h.store.read_stream(&stream("client-x"), StreamQuery::all()).await.unwrap().len(), 2);
}

pub async fn the_log_survives_a_reopen(h: &Harness) {
    let s = stream("client-durable");
    h.store.append(AppendRequest::new(s.clone(), ExpectedRevision::NoStream, events(3))).await.unwrap();
    let reopened = h.reopen().await;
    assert_eq!(reopened.stream_revision(&s).await.unwrap(), Some(2));
    let next = reopened.append(AppendRequest::new(s.clone(), ExpectedRevision::Exact(2), events(1))).await.unwrap();
    assert_eq!((next.first_revision, next.first_position), (3, Position(4)));
    let stored = h.store.read_stream(&s, StreamQuery::all()).await.unwrap();
    assert_eq!(stored[3].prev_hash, stored[2].hash);
    let report = reopened.verify(&carelog_store::VerifyScope::All, &|_| {}).await.unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
}
