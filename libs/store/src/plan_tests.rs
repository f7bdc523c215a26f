use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::model::{Actor, AppendRequest, ExpectedRevision, Metadata, NewEvent, StreamName};
use crate::prepare::{Limits, PreparedAppend};

fn at(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).expect("valid time")
}

fn append(stream: &str, expected: ExpectedRevision, ids: &[u128]) -> PreparedAppend {
    let events = ids
        .iter()
        .map(|id| NewEvent {
            event_id: Uuid::from_u128(*id),
            event_type: "Noted".into(),
            schema_version: 1,
            data: json!({ "n": id }),
            metadata: Metadata::by(Actor::new("tester", "admin"), at(0)),
        })
        .collect();
    let request = AppendRequest::new(StreamName::new(stream).expect("valid stream"), expected, events);
    PreparedAppend::new(request, &Limits::default()).expect("valid append")
}

fn planner(streams: &[&str]) -> BatchPlanner {
    let heads: HashMap<_, _> = streams.iter().map(|s| (s.to_string(), None)).collect();
    BatchPlanner::new(10, None, at(5_000_000), heads, [])
}

#[test]
fn given_an_empty_stream_when_two_appends_share_a_batch_then_positions_and_revisions_follow_on() {
    let mut planner = planner(&["a-1"]);
    let first = planner.plan(&append("a-1", ExpectedRevision::NoStream, &[1, 2])).expect("first");
    let second = planner.plan(&append("a-1", ExpectedRevision::Exact(1), &[3])).expect("second");
    assert_eq!((first.first_revision, first.last_revision), (0, 1));
    assert_eq!((first.first_position, first.last_position), (Position(11), Position(12)));
    assert_eq!((second.first_revision, second.last_position), (2, Position(13)));
    let rows = planner.into_rows();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1].prev_hash, rows[0].hash);
    assert_eq!(rows[2].prev_hash, rows[1].hash);
}

#[test]
fn given_a_conflicting_append_in_a_batch_then_only_it_fails_and_it_takes_no_position() {
    let mut planner = planner(&["a-1"]);
    planner.plan(&append("a-1", ExpectedRevision::NoStream, &[1])).expect("first");
    let err = planner.plan(&append("a-1", ExpectedRevision::NoStream, &[2])).expect_err("conflict");
    assert!(matches!(err, StoreError::Conflict { actual: Some(0), .. }), "{err}");
    let third = planner.plan(&append("a-1", ExpectedRevision::Exact(0), &[3])).expect("third");
    assert_eq!(third.first_position, Position(12));
}

#[test]
fn given_an_append_planned_when_it_is_retried_in_the_same_batch_then_the_first_result_is_returned() {
    let mut planner = planner(&["a-1"]);
    let first = planner.plan(&append("a-1", ExpectedRevision::NoStream, &[1, 2])).expect("first");
    let retry = planner.plan(&append("a-1", ExpectedRevision::NoStream, &[1, 2])).expect("retry");
    assert!(retry.already_stored);
    assert_eq!((retry.first_position, retry.last_revision), (first.first_position, first.last_revision));
    assert_eq!(planner.into_rows().len(), 2);
}

#[test]
fn given_a_partial_retry_then_it_is_refused_as_a_mismatch() {
    let mut planner = planner(&["a-1"]);
    planner.plan(&append("a-1", ExpectedRevision::Any, &[1, 2])).expect("first");
    let err = planner.plan(&append("a-1", ExpectedRevision::Any, &[1, 3])).expect_err("partial");
    assert!(matches!(err, StoreError::IdempotencyMismatch { .. }), "{err}");
}

#[test]
fn given_a_clock_that_went_back_then_recorded_at_does_not() {
    let planner = BatchPlanner::new(0, Some(at(9_000_000)), at(5_000_000), HashMap::new(), []);
    assert_eq!(planner.recorded_at(), at(9_000_000));
}
