use std::collections::HashMap;

use chrono::DateTime;
use proptest::prelude::*;
use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::model::{Actor, AppendRequest, ExpectedRevision, LogFilter, Metadata, NewEvent, Position, StreamName};
use crate::plan::BatchPlanner;
use crate::prepare::{Limits, PreparedAppend};

/// `count` committed rows at positions `first..`, one stream each, in categories `a` and `b` by turns.
fn rows(first: u64, count: u64) -> Vec<StoredRow> {
    let at = DateTime::from_timestamp_micros(1_000).expect("valid time");
    let appends: Vec<PreparedAppend> = (first..first + count)
        .map(|p| {
            let category = if p % 2 == 0 { "a" } else { "b" };
            let event = NewEvent {
                event_id: Uuid::from_u128(u128::from(p)),
                event_type: if p % 3 == 0 { "Three" } else { "Other" }.into(),
                schema_version: 1,
                data: json!({ "p": p }),
                metadata: Metadata::by(Actor::new("tester", "admin"), at),
            };
            let stream = StreamName::new(format!("{category}-{p}")).expect("valid stream");
            let request = AppendRequest::new(stream, ExpectedRevision::NoStream, vec![event]);
            PreparedAppend::new(request, &Limits::default()).expect("valid append")
        })
        .collect();
    let heads: HashMap<_, _> = appends.iter().map(|a| (a.stream.to_string(), None)).collect();
    let mut planner = BatchPlanner::new(first - 1, None, at, heads, []);
    for append in &appends {
        planner.plan(append).expect("planned");
    }
    planner.into_rows()
}

fn query(from: u64, up_to: u64, limit: usize, filter: LogFilter) -> LogQuery {
    LogQuery { from: Position(from), up_to: Some(Position(up_to)), filter, limit }
}

fn positions(read: Option<Result<Vec<RecordedEvent>, StoreError>>) -> Option<Vec<u64>> {
    read.map(|events| events.expect("decoded").iter().map(|e| e.position.0).collect())
}

#[test]
fn given_held_commits_when_a_range_is_read_then_it_is_the_rows_as_the_database_returns_them() {
    let recent = RecentCommits::default();
    let committed = rows(1, 10);
    recent.record(&committed[..4]);
    recent.record(&committed[4..]);
    let read = recent.read(&query(3, 7, 100, LogFilter::all())).expect("held").expect("decoded");
    let expected: Vec<RecordedEvent> =
        committed[2..7].iter().cloned().map(|row| row.into_recorded().expect("decoded")).collect();
    assert_eq!(read, expected);
}

#[test]
fn given_held_commits_when_a_filtered_limited_range_is_read_then_only_matching_rows_up_to_the_limit() {
    let recent = RecentCommits::default();
    recent.record(&rows(1, 20));
    assert_eq!(positions(recent.read(&query(1, 20, 3, LogFilter::categories(["a"])))), Some(vec![2, 4, 6]));
    assert_eq!(
        positions(recent.read(&query(1, 20, 100, LogFilter::event_types(["Three"])))),
        Some(vec![3, 6, 9, 12, 15, 18])
    );
    // Position 0 is before the log: from 0 means from the first event.
    assert_eq!(positions(recent.read(&query(0, 2, 100, LogFilter::all()))), Some(vec![1, 2]));
}

#[test]
fn given_a_range_not_wholly_held_when_read_then_the_database_must_answer() {
    let recent = RecentCommits::default();
    assert_eq!(positions(recent.read(&query(1, 1, 10, LogFilter::all()))), None);
    recent.record(&rows(5, 5));
    assert_eq!(positions(recent.read(&query(4, 9, 10, LogFilter::all()))), None, "starts before the first held");
    assert_eq!(positions(recent.read(&query(5, 10, 10, LogFilter::all()))), None, "ends after the last held");
    let open_ended = LogQuery { up_to: None, ..query(5, 9, 10, LogFilter::all()) };
    assert_eq!(positions(recent.read(&open_ended)), None, "no upper bound");
}

#[test]
fn given_a_commit_that_does_not_follow_the_last_when_recorded_then_only_the_new_run_is_held() {
    let recent = RecentCommits::default();
    recent.record(&rows(1, 5));
    // Another process committed 6..=8.
    recent.record(&rows(9, 2));
    assert_eq!(positions(recent.read(&query(5, 10, 10, LogFilter::all()))), None);
    assert_eq!(positions(recent.read(&query(9, 10, 10, LogFilter::all()))), Some(vec![9, 10]));
}

#[test]
fn given_more_commits_than_it_holds_when_read_then_only_the_latest_rows_are_held() {
    let recent = RecentCommits::default();
    let total = HELD_ROWS as u64 + 100;
    recent.record(&rows(1, 50));
    recent.record(&rows(51, total - 50));
    assert_eq!(positions(recent.read(&query(100, total, 1, LogFilter::all()))), None);
    assert_eq!(positions(recent.read(&query(101, 103, 10, LogFilter::all()))), Some(vec![101, 102, 103]));
}

proptest! {
    /// Whatever the commits and the gaps between them, a read answered from memory is exactly the
    /// slice of the committed rows the database would return.
    #[test]
    fn a_read_answered_from_memory_matches_the_committed_rows(
        commits in proptest::collection::vec((0u64..3, 1u64..40), 1..12),
        from in 0u64..300,
        span in 0u64..120,
        limit in 1usize..50,
        categories in proptest::sample::subsequence(vec!["a", "b"], 0..=2),
    ) {
        let recent = RecentCommits::default();
        let mut all = Vec::new();
        let mut next = 1;
        for (gap, count) in commits {
            let committed = rows(next + gap, count);
            recent.record(&committed);
            next += gap + count;
            all.extend(committed);
        }
        let filter = LogFilter::categories(categories);
        let up_to = from + span;
        if let Some(read) = positions(recent.read(&query(from, up_to, limit, filter.clone()))) {
            let expected: Vec<u64> = all
                .into_iter()
                .map(|row| row.into_recorded().expect("decoded"))
                .filter(|e| e.position.0 >= from && e.position.0 <= up_to && filter.matches(e))
                .map(|e| e.position.0)
                .take(limit)
                .collect();
            prop_assert_eq!(read, expected);
        }
    }
}
