//! Two writers on one log (two processes, or one before and after a restart) taking turns at
//! random: each plans from what it last saw, which the other makes stale. Whatever shortcut a
//! writer takes, the outcome of every append is what the log as it stands says it must be.

use std::collections::HashMap;
use std::sync::Arc;

use carelog_store::{AppendRequest, EventStore, ExpectedRevision, NewEvent, Position, StoreError, VerifyScope};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::{Harness, events, stream};

const STREAMS: [&str; 4] = ["client-a", "client-b", "client-c", "client-d"];
const TURNS: usize = 160;

pub async fn two_writers_taking_turns_agree_on_every_outcome(h: &Harness) {
    let writers: [Arc<dyn EventStore>; 2] = [Arc::clone(&h.store), h.reopen().await];
    let seed: u64 = rand::random();
    let mut rng = StdRng::seed_from_u64(seed);
    // The model: each stream's last revision, and appends already made (to retry).
    let mut revisions: HashMap<&str, Option<u64>> = STREAMS.iter().map(|s| (*s, None)).collect();
    let mut made: Vec<(&str, Vec<NewEvent>, u64)> = Vec::new();
    let mut head = 0u64;
    for turn in 0..TURNS {
        let writer = &writers[rng.random_range(0..2)];
        let context = format!("seed {seed}, turn {turn}");
        if !made.is_empty() && rng.random_ratio(1, 6) {
            // A retry of an earlier append stores nothing and answers with the original positions.
            let (name, batch, first_position) = made[rng.random_range(0..made.len())].clone();
            let retried = writer.append(AppendRequest::new(stream(name), ExpectedRevision::Any, batch)).await;
            let retried = retried.unwrap_or_else(|e| panic!("{context}: retry failed: {e}"));
            assert!(retried.already_stored, "{context}");
            assert_eq!(retried.first_position, Position(first_position), "{context}");
            continue;
        }
        // One or two appends to distinct streams at once, so the writer may commit them together.
        let first = rng.random_range(0..STREAMS.len());
        let names: Vec<&str> = match rng.random_range(0..2) {
            0 => vec![STREAMS[first]],
            _ => vec![STREAMS[first], STREAMS[(first + rng.random_range(1..STREAMS.len())) % STREAMS.len()]],
        };
        let appends: Vec<(&str, ExpectedRevision, Vec<NewEvent>)> = names
            .into_iter()
            .map(|name| {
                let actual = revisions[name];
                let expected = match rng.random_range(0..5) {
                    0 => ExpectedRevision::Any,
                    1 => ExpectedRevision::NoStream,
                    2 => ExpectedRevision::StreamExists,
                    3 => ExpectedRevision::Exact(actual.unwrap_or(0)),
                    _ => ExpectedRevision::Exact(actual.map_or(1, |r| r.saturating_sub(1))),
                };
                (name, expected, events(rng.random_range(1..=3)))
            })
            .collect();
        let outcomes =
            futures::future::join_all(appends.iter().map(|(name, expected, batch)| {
                writer.append(AppendRequest::new(stream(name), *expected, batch.clone()))
            }))
            .await;
        let mut taken = Vec::new();
        for ((name, expected, batch), outcome) in appends.into_iter().zip(outcomes) {
            let actual = revisions[name];
            let count = batch.len() as u64;
            if expected.admits(actual) {
                let result = outcome.unwrap_or_else(|e| panic!("{context}: {expected:?} on {actual:?} refused: {e}"));
                let first_revision = actual.map_or(0, |r| r + 1);
                assert_eq!(result.first_revision, first_revision, "{context}");
                assert_eq!(result.last_position.0 - result.first_position.0 + 1, count, "{context}");
                taken.push((result.first_position.0, count));
                made.push((name, batch, result.first_position.0));
                revisions.insert(name, Some(first_revision + count - 1));
            } else {
                let error = outcome.expect_err(&format!("{context}: {expected:?} on {actual:?} accepted"));
                assert!(matches!(&error, StoreError::Conflict { actual: a, .. } if *a == actual), "{context}: {error}");
            }
        }
        // The appends that succeeded took the next positions, without gaps or overlaps.
        taken.sort_unstable();
        for (first, count) in taken {
            assert_eq!(first, head + 1, "{context}: positions stay dense");
            head += count;
        }
    }
    for writer in &writers {
        assert_eq!(writer.head_position().await.unwrap(), Position(head));
    }
    let report = h.store.verify(&VerifyScope::All, &|_| {}).await.unwrap();
    assert!(report.problems.is_empty(), "seed {seed}: {:?}", report.problems);
}
