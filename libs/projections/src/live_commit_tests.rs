//! Following live with document commits held back: what a reader waits for is committed without
//! waiting out the hold, and so is a full batch.

use super::*;
use crate::live_commit::LIVE_COMMIT_EVENTS;

/// Longer than the test: a held batch is never committed by the clock while it runs.
const HOLD: Duration = Duration::from_secs(600);

/// A runner following the live log with a hold of [`HOLD`], caught up with the store's events
/// (its first commit is never held).
struct Following {
    store: Arc<dyn EventStore>,
    runner: Arc<Runner>,
    checkpoints: watch::Receiver<u64>,
    following: tokio::task::JoinHandle<Result<(), ProjectionError>>,
    /// The log head it caught up with.
    head: u64,
}

impl Following {
    async fn caught_up(opened: &OpenedStore) -> Self {
        let store = Arc::clone(&opened.log);
        let runner = Arc::new(beside_live(opened).await.with_live_commit_interval(HOLD));
        let (checkpoints_tx, mut checkpoints) = watch::channel(0);
        let following = tokio::spawn({
            let runner = Arc::clone(&runner);
            async move { runner.run_live(watch::channel(false).1, checkpoints_tx).await }
        });
        let head = store.head_position().await.expect("head").0;
        let caught_up = tokio::time::timeout(Duration::from_secs(20), checkpoints.wait_for(|c| *c >= head)).await;
        assert!(caught_up.is_ok_and(|r| r.is_ok()), "the runner catches up");
        Self { store, runner, checkpoints, following, head }
    }
}

async fn a_wanted_position_is_committed_at_once(opened: OpenedStore) {
    let Following { store, runner, mut checkpoints, following, .. } = Following::caught_up(&opened).await;

    // A new client's registration right after a commit is held, for HOLD if nobody waits …
    let chart = interleaved_charts(1, None);
    append(&*store, chart[0].clone()).await;
    let wanted = store.head_position().await.expect("head").0;
    let early = tokio::time::timeout(Duration::from_millis(300), checkpoints.wait_for(|c| *c >= wanted)).await.is_ok();
    assert!(!early, "without a reader waiting, the registration is held back");

    // … and committed soon after a reader wants it.
    runner.demand().want(wanted);
    let reached = tokio::time::timeout(Duration::from_secs(20), checkpoints.wait_for(|c| *c >= wanted)).await;
    assert!(reached.is_ok_and(|r| r.is_ok()), "a wanted position is committed without waiting out the hold");
    following.abort();
    let (docs, _) = live_state(&runner).await;
    let client = chart[0].metadata.tags.client.clone().expect("a client's event");
    assert!(docs.iter().any(|doc| doc.key == client), "the new client's episode is stored");
}

/// Without a reader, a held batch is committed once it holds `LIVE_COMMIT_EVENTS` events.
async fn a_full_batch_is_committed_without_a_reader(opened: OpenedStore) {
    let Following { store, mut checkpoints, following, head, .. } = Following::caught_up(&opened).await;
    let events = interleaved_charts(2, None);
    assert!(events.len() > LIVE_COMMIT_EVENTS, "enough events for a full batch");
    for event in events {
        append(&*store, event).await;
    }
    let full = head + LIVE_COMMIT_EVENTS as u64;
    let reached = tokio::time::timeout(Duration::from_secs(20), checkpoints.wait_for(|c| *c >= full)).await;
    assert!(reached.is_ok_and(|r| r.is_ok()), "a full batch is committed without waiting out the hold");
    following.abort();
}

#[tokio::test]
async fn sqlite_a_full_batch_is_committed_without_a_reader() {
    let (store, _dir) = sqlite().await;
    a_full_batch_is_committed_without_a_reader(store).await;
}

#[tokio::test]
async fn postgres_a_full_batch_is_committed_without_a_reader() {
    let schema = Schema::new().await;
    a_full_batch_is_committed_without_a_reader(schema.store.clone()).await;
    schema.drop_schema().await;
}

#[tokio::test]
async fn sqlite_a_position_a_reader_waits_for_is_committed_at_once() {
    let (store, _dir) = sqlite().await;
    a_wanted_position_is_committed_at_once(store).await;
}

#[tokio::test]
async fn postgres_a_position_a_reader_waits_for_is_committed_at_once() {
    let schema = Schema::new().await;
    a_wanted_position_is_committed_at_once(schema.store.clone()).await;
    schema.drop_schema().await;
}
