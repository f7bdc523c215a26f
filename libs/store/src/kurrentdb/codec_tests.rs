use chrono::{Duration, TimeZone};
use serde_json::json;

use super::*;
use crate::model::{Actor, AppendRequest, ExpectedRevision, Metadata, NewEvent, StreamName, Tags};
use crate::prepare::Limits;
use crate::verify::ChainVerifier;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 9, 30, 0).single().expect("time") + Duration::microseconds(123_456)
}

fn new_event(n: u128) -> NewEvent {
    let mut metadata = Metadata::by(Actor::new("clinician-7", "clinician"), now());
    metadata.tags = Tags { client: Some("client-1".into()), episode: None };
    NewEvent {
        event_id: Uuid::from_u128(n),
        event_type: "SessionHeld".into(),
        schema_version: 2,
        data: json!({ "minutes": 53, "nested": { "b": [1, 2.5, null], "a": true } }),
        metadata,
    }
}

fn prepared(expected: ExpectedRevision, ids: &[u128]) -> PreparedAppend {
    let stream = StreamName::new("session-1").expect("stream");
    let request = AppendRequest::new(stream, expected, ids.iter().map(|n| new_event(*n)).collect());
    PreparedAppend::new(request, &Limits::default()).expect("valid append")
}

fn rows_of(plan: Plan) -> (Option<u64>, Vec<StoredRow>) {
    match plan {
        Plan::Write { pinned, rows } => (pinned, rows),
        Plan::Replayed(result) => panic!("expected a write, got a replay {result:?}"),
    }
}

/// What KurrentDB would hand back for a row written at `commit`.
fn stored(row: &StoredRow, commit: u64) -> (StoredRow, Position) {
    let metadata = encode_metadata(row);
    decode(RawEvent {
        stream: &row.stream,
        revision: row.revision,
        event_id: row.event_id,
        event_type: &row.event_type,
        data: row.data.as_bytes(),
        custom_metadata: metadata.as_bytes(),
        commit,
    })
    .expect("decodes")
}

#[test]
fn a_new_stream_is_pinned_to_no_stream_and_chains_from_genesis() {
    let (pinned, rows) =
        rows_of(plan_append(&prepared(ExpectedRevision::NoStream, &[1, 2]), None, vec![], now()).unwrap());
    assert_eq!(pinned, None);
    assert_eq!(rows.iter().map(|r| r.revision).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(rows[0].prev_hash, EventHash::GENESIS.0);
    assert_eq!(rows[1].prev_hash, rows[0].hash, "the second event links to the first");
    assert_eq!(rows[0].hash, rows[0].compute_hash(&rows[0].prev_hash).0, "position 0 is what is hashed");
    assert_eq!(rows[0].recorded_at, now());
}

#[test]
fn an_append_chains_from_the_head_it_read_and_pins_that_revision() {
    let head = ChainHead { revision: 4, hash: EventHash([9; 32]), recorded_at: now() + Duration::seconds(5) };
    let plan = plan_append(&prepared(ExpectedRevision::Any, &[7]), Some(&head), vec![], now()).unwrap();
    let (pinned, rows) = rows_of(plan);
    assert_eq!(pinned, Some(4), "any still pins the exact head, so a racing writer cannot fork the chain");
    assert_eq!((rows[0].revision, rows[0].prev_hash.as_slice()), (5, &[9u8; 32][..]));
    assert_eq!(rows[0].recorded_at, head.recorded_at, "recorded_at never runs backwards in a stream");
}

#[test]
fn a_wrong_expected_revision_is_a_typed_conflict() {
    let head = ChainHead { revision: 2, hash: EventHash([1; 32]), recorded_at: now() };
    for expected in [ExpectedRevision::NoStream, ExpectedRevision::Exact(1), ExpectedRevision::Exact(3)] {
        match plan_append(&prepared(expected, &[1]), Some(&head), vec![], now()) {
            Err(StoreError::Conflict { stream, expected: e, actual }) => {
                assert_eq!((stream.as_str(), e, actual), ("session-1", expected, Some(2)));
            }
            other => panic!("{expected}: expected a conflict, got {other:?}"),
        }
    }
    assert!(matches!(
        plan_append(&prepared(ExpectedRevision::StreamExists, &[1]), None, vec![], now()),
        Err(StoreError::Conflict { actual: None, .. })
    ));
}

#[test]
fn conditions_are_refused_naming_the_stream_and_the_limitation() {
    let request =
        AppendRequest::new(StreamName::new("session-1").unwrap(), ExpectedRevision::NoStream, vec![new_event(1)])
            .with_condition(StreamName::new("client-1").unwrap(), ExpectedRevision::Exact(3));
    let append = PreparedAppend::new(request, &Limits::default()).unwrap();
    let error = plan_append(&append, None, vec![], now()).unwrap_err();
    assert!(matches!(error, StoreError::Unsupported { backend: "kurrentdb", .. }), "{error:?}");
    assert!(error.to_string().contains("client-1") && error.to_string().contains("atomic"), "{error}");
}

#[test]
fn a_retry_of_a_stored_append_is_answered_from_the_stored_events() {
    let (_, rows) = rows_of(plan_append(&prepared(ExpectedRevision::NoStream, &[1, 2]), None, vec![], now()).unwrap());
    let known: Vec<_> = rows.iter().zip([812, 990]).map(|(row, commit)| known(row, Position(commit))).collect();
    let head = ChainHead::of(&rows[1]).unwrap();
    match plan_append(&prepared(ExpectedRevision::NoStream, &[1, 2]), Some(&head), known.clone(), now()).unwrap() {
        Plan::Replayed(result) => {
            assert_eq!((result.first_revision, result.last_revision), (0, 1));
            assert_eq!((result.first_position, result.last_position), (Position(812), Position(990)));
            assert!(result.already_stored);
        }
        other => panic!("expected a replay, got {other:?}"),
    }
    let mut changed = prepared(ExpectedRevision::NoStream, &[1, 2]);
    changed.events[1].data = r#"{"minutes":54}"#.into();
    assert!(matches!(plan_append(&changed, Some(&head), known, now()), Err(StoreError::IdempotencyMismatch { .. })));
}

#[test]
fn metadata_round_trips_and_the_chain_verifies_at_sparse_positions() {
    let (_, rows) =
        rows_of(plan_append(&prepared(ExpectedRevision::NoStream, &[1, 2, 3]), None, vec![], now()).unwrap());
    let mut verifier = ChainVerifier::new(false);
    for (row, commit) in rows.iter().zip([100, 250, 4096]) {
        let (back, position) = stored(row, commit);
        assert_eq!(&back, row, "every hashed field survives the trip through KurrentDB");
        assert_eq!(position, Position(commit));
        let event = to_recorded(back.clone(), position).unwrap();
        assert_eq!((event.position, event.revision), (Position(commit), row.revision));
        assert_eq!(event.metadata.tags.client.as_deref(), Some("client-1"));
        verifier.check_at(&back, position);
    }
    assert!(verifier.finish(None).is_intact());
}

#[test]
fn an_edited_event_is_reported_at_its_commit_position() {
    let (_, rows) = rows_of(plan_append(&prepared(ExpectedRevision::NoStream, &[1, 2]), None, vec![], now()).unwrap());
    let mut verifier = ChainVerifier::new(false);
    let (first, p1) = stored(&rows[0], 100);
    let (mut second, p2) = stored(&rows[1], 250);
    second.data = r#"{"minutes":90}"#.into();
    verifier.check_at(&first, p1);
    verifier.check_at(&second, p2);
    let report = verifier.finish(None);
    assert_eq!(report.first_problem().map(|p| p.position), Some(Position(250)));
}

#[test]
fn foreign_or_damaged_metadata_is_refused_with_the_reason() {
    let raw = |metadata: &'static [u8]| RawEvent {
        stream: "client-1",
        revision: 3,
        event_id: Uuid::from_u128(5),
        event_type: "Noted",
        data: b"{}",
        custom_metadata: metadata,
        commit: 77,
    };
    let (position, reason) = decode(raw(b"{}")).unwrap_err();
    assert_eq!(position, 77);
    assert!(reason.contains("client-1 revision 3") && reason.contains("not a Carelog event"), "{reason}");
    let other_format =
        br#"{"format":"x","schemaVersion":"1","metadata":"{}","recordedAt":"0","prevHash":"","hash":""}"#;
    assert!(decode(raw(other_format)).unwrap_err().1.contains("unknown metadata format"));
    let bad_time =
        br#"{"format":"carelog.v1","schemaVersion":"1","metadata":"{}","recordedAt":"soon","prevHash":"","hash":""}"#;
    assert!(decode(raw(bad_time)).unwrap_err().1.contains("recordedAt"));
}
