//! The runner on real databases (a SQLite file, a fresh PostgreSQL schema): a rebuild that
//! commits often and drops its documents between commits ends where one that holds them all
//! ends; a catch-up stopped between commits leaves a consistent generation that resumes; an event
//! it cannot fold is quarantined and stops nothing.

use std::sync::Arc;

use carelog_store::{
    AppendRequest, EventStore, ExpectedRevision, NewEvent, OpenedStore, PostgresOptions, PostgresStore, SqliteStore,
};

use super::*;
use crate::live_commit::AUDIT_ONLY_DELAY;
use crate::persist::{AuditQuery, AuditRow, Doc};
use crate::testing::interleaved_charts;

/// A pace that commits every three events and keeps nothing between commits: each commit covers
/// three of the five interleaved clients, so the other two are dropped and loaded back later.
const TIGHT: Pace = Pace { batch: 1, commit_every: 3, hold_bytes: 0 };

/// A store holding five interleaved charts (one client erased), appended in log order.
async fn filled(opened: OpenedStore) -> OpenedStore {
    for event in interleaved_charts(5, Some(2)) {
        append(&*opened.log, event).await;
    }
    opened
}

async fn append(store: &dyn EventStore, event: RecordedEvent) {
    let new = NewEvent {
        event_id: event.event_id,
        event_type: event.event_type,
        schema_version: event.schema_version,
        data: event.data,
        metadata: event.metadata,
    };
    store.append(AppendRequest::new(event.stream, ExpectedRevision::Any, vec![new])).await.expect("append");
}

/// A runner beside a live generation (as a server keeps one), so that a rebuild has one to replace.
async fn beside_live(opened: &OpenedStore) -> Runner {
    let runner = Runner::new(Arc::clone(&opened.log), opened.database.clone()).await.expect("runner");
    runner.models().live(RECORDS).await.expect("live generation");
    runner
}

async fn sqlite() -> (OpenedStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path().join("carelog.db")).await.expect("open sqlite");
    (filled(OpenedStore::sqlite(store)).await, dir)
}

/// A fresh schema on the configured server, dropped when the test is done with it.
struct Schema {
    store: OpenedStore,
    pool: sqlx::PgPool,
    name: String,
}

impl Schema {
    async fn new() -> Self {
        let url = carelog_testkit::postgres_url().await;
        let name = format!("carelog_projections_{}", uuid::Uuid::new_v4().simple());
        let store = PostgresStore::connect_with(PostgresOptions::new(&url).schema(&name)).await.expect("connect");
        let pool = store.pool().clone();
        Self { store: filled(OpenedStore::postgres(store)).await, pool, name }
    }

    async fn drop_schema(self) {
        let sql = format!("DROP SCHEMA {} CASCADE", self.name);
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&self.pool).await.expect("drop schema");
    }
}

/// The live documents and audit trail.
async fn live_state(runner: &Runner) -> (Vec<Doc>, Vec<AuditRow>) {
    let live = runner.models().live(RECORDS).await.expect("live generation");
    let docs = runner.models().all_docs(live.id).await.expect("documents");
    let audit = runner.models().audit(RECORDS, &AuditQuery { limit: 10_000, ..AuditQuery::default() }).await;
    (docs, audit.expect("audit trail"))
}

async fn rebuilt_at_both_paces_is_the_same(opened: OpenedStore) {
    let store = Arc::clone(&opened.log);
    let head = store.head_position().await.expect("head").0;
    let runner = beside_live(&opened).await;
    let mut commits = 0;
    runner.rebuild(|_| commits += 1).await.expect("rebuild holding every document");
    assert_eq!(commits, 1, "{head} events fit one commit");
    let expected = live_state(&runner).await;
    assert_eq!(expected.0.len(), 10, "five episode views and five ledgers");
    assert_eq!(expected.1.len() as u64, head);

    let tight = runner.clone().with_catch_up_pace(TIGHT);
    let mut reports = Vec::new();
    let (applied, _) = tight.rebuild(|p| reports.push(p)).await.expect("rebuild committing every 3 events");
    assert_eq!(applied, head);
    assert_eq!(reports.len() as u64, head.div_ceil(3));
    assert!(reports.windows(2).all(|w| w[0].checkpoint < w[1].checkpoint), "{reports:?}");
    assert_eq!(live_state(&runner).await, expected);
}

#[tokio::test]
async fn sqlite_a_rebuild_committing_often_and_dropping_documents_equals_one_holding_them() {
    let (store, _dir) = sqlite().await;
    rebuilt_at_both_paces_is_the_same(store).await;
}

#[tokio::test]
async fn postgres_a_rebuild_committing_often_and_dropping_documents_equals_one_holding_them() {
    let schema = Schema::new().await;
    rebuilt_at_both_paces_is_the_same(schema.store.clone()).await;
    schema.drop_schema().await;
}

/// Stops a catch-up right after its second commit (a panic in the progress callback unwinds
/// through the runner like a crash), then checks the generation left behind and resumes it.
async fn stopped_between_commits_resumes(opened: OpenedStore) {
    let store = Arc::clone(&opened.log);
    let head = store.head_position().await.expect("head").0;
    let runner = beside_live(&opened).await;
    runner.rebuild(|_| {}).await.expect("reference rebuild");
    let expected = live_state(&runner).await;

    let models = runner.models().clone();
    let generation = models.start_rebuild(RECORDS).await.expect("generation");
    let tight = runner.clone().with_catch_up_pace(TIGHT);
    let crashed = tokio::spawn(async move {
        let mut commits = 0;
        tight
            .catch_up(generation, |_| {
                commits += 1;
                assert!(commits < 2, "simulated crash after the second commit");
            })
            .await
    })
    .await;
    assert!(crashed.is_err_and(|e| e.is_panic()));

    // What the crash left: the events of two commits, every document as of its checkpoint.
    let checkpoint = models.checkpoint(generation.id).await.expect("checkpoint");
    assert_eq!(checkpoint, 6);
    let partial = models.all_docs(generation.id).await.expect("documents");
    assert!(!partial.is_empty() && partial.iter().all(|d| d.position <= checkpoint), "{partial:?}");

    let (applied, _) = runner.catch_up(Generation { id: generation.id, checkpoint }, |_| {}).await.expect("resume");
    assert_eq!(applied, head - checkpoint);
    models.swap(RECORDS, generation.id).await.expect("swap");
    assert_eq!(live_state(&runner).await, expected);
}

#[tokio::test]
async fn sqlite_a_catch_up_stopped_between_commits_resumes_to_the_same_read_models() {
    let (store, _dir) = sqlite().await;
    stopped_between_commits_resumes(store).await;
}

#[tokio::test]
async fn postgres_a_catch_up_stopped_between_commits_resumes_to_the_same_read_models() {
    let schema = Schema::new().await;
    stopped_between_commits_resumes(schema.store.clone()).await;
    schema.drop_schema().await;
}

/// An event no view can fold (a type the client stream never had, as a bug would make one) is
/// quarantined: the rebuild reaches the head, that client's view says it is incomplete since the
/// event's position, the quarantine table names the event and why, and every other client's
/// view is complete. A second rebuild (the same build) quarantines the same event again.
async fn quarantines_an_unfoldable_event(opened: OpenedStore) {
    let store = Arc::clone(&opened.log);
    let runner = beside_live(&opened).await.with_catch_up_pace(TIGHT);
    let mut bogus = interleaved_charts(1, None).remove(0);
    bogus.event_id = uuid::Uuid::now_v7();
    bogus.event_type = "ClientTeleported".to_owned();
    let client = bogus.metadata.tags.client.clone().expect("a client tag");
    append(&*store, bogus).await;
    let head = store.head_position().await.expect("head").0;

    runner.rebuild(|_| {}).await.expect("a rebuild is never stopped by one event");

    let live = runner.models().live(RECORDS).await.expect("live");
    assert_eq!(live.checkpoint, head);
    let quarantined = runner.models().quarantined(RECORDS).await.expect("quarantine");
    assert_eq!(quarantined.len(), 1, "{quarantined:?}");
    let q = &quarantined[0];
    assert_eq!((q.position, q.key.as_str(), q.client.as_deref()), (head, client.as_str(), Some(client.as_str())));
    assert!(q.error.contains("ClientTeleported"), "{}", q.error);
    let (docs, _) = live_state(&runner).await;
    for doc in &docs {
        let incomplete = &doc.body["incomplete"];
        if doc.kind == DocKind::Episode && doc.key == client {
            assert_eq!(incomplete[0]["position"], head, "{incomplete}");
            assert_eq!(incomplete[0]["event_type"], "ClientTeleported");
        } else {
            assert!(incomplete.is_null(), "{} {} is complete: {incomplete}", doc.kind.as_str(), doc.key);
        }
    }
    runner.rebuild(|_| {}).await.expect("rebuild again");
    assert_eq!(runner.models().quarantined(RECORDS).await.expect("quarantine"), quarantined);
    assert_eq!(live_state(&runner).await.0, docs, "a rebuild gives the same views");
}

#[tokio::test]
async fn sqlite_an_unfoldable_event_is_quarantined_and_only_its_client_is_incomplete() {
    let (store, _dir) = sqlite().await;
    quarantines_an_unfoldable_event(store).await;
}

#[tokio::test]
async fn postgres_an_unfoldable_event_is_quarantined_and_only_its_client_is_incomplete() {
    let schema = Schema::new().await;
    quarantines_an_unfoldable_event(schema.store.clone()).await;
    schema.drop_schema().await;
}

/// A read of the record as the access log stores it: audit trail only, no document.
fn access_event(client_of: &RecordedEvent) -> RecordedEvent {
    let mut access = client_of.clone();
    access.event_id = uuid::Uuid::now_v7();
    access.stream = carelog_store::StreamName::new(format!("access-{}", uuid::Uuid::new_v4())).expect("stream");
    access.event_type = "RecordAccessed".to_owned();
    access.data = serde_json::json!({"outcome": "allowed"});
    access
}

/// Following live, a batch of access-log events alone is held back for a moment (it would take
/// the write lock once per read otherwise) and then committed; an event that changes a document
/// is committed with what waits before it. Every event is in the audit trail exactly once.
#[tokio::test]
async fn sqlite_live_audit_only_batches_are_held_back_then_committed_exactly_once() {
    let (opened, _dir) = sqlite().await;
    let store = Arc::clone(&opened.log);
    let runner = Arc::new(beside_live(&opened).await);
    let (stop_tx, stop) = watch::channel(false);
    let (checkpoints_tx, mut checkpoints) = watch::channel(0);
    let following = tokio::spawn({
        let runner = Arc::clone(&runner);
        async move { runner.run_live(stop, checkpoints_tx).await }
    });
    let reached = |target: u64| move |checkpoint: &u64| *checkpoint >= target;
    let head = store.head_position().await.expect("head").0;
    tokio::time::timeout(Duration::from_secs(20), checkpoints.wait_for(reached(head))).await.expect("caught up").ok();

    let chart = interleaved_charts(1, None);
    let appended = std::time::Instant::now();
    append(&*store, access_event(&chart[0])).await;
    tokio::time::timeout(Duration::from_secs(20), checkpoints.wait_for(reached(head + 1)))
        .await
        .expect("committed")
        .ok();
    assert!(appended.elapsed() >= AUDIT_ONLY_DELAY, "an access-only batch waits {AUDIT_ONLY_DELAY:?} for company");

    // Two reads, then a new client's registration (a document changes): all three land, once each.
    append(&*store, access_event(&chart[0])).await;
    append(&*store, access_event(&chart[0])).await;
    append(&*store, chart[0].clone()).await;
    let head = store.head_position().await.expect("head").0;
    tokio::time::timeout(Duration::from_secs(20), checkpoints.wait_for(reached(head))).await.expect("committed").ok();
    stop_tx.send_replace(true);
    following.await.expect("runner task").expect("runner");

    let (docs, audit) = live_state(&runner).await;
    let client = chart[0].metadata.tags.client.clone().expect("a client's event");
    assert!(docs.iter().any(|doc| doc.key == client), "the new client's episode is stored");
    let mut positions: Vec<u64> = audit.iter().map(|row| row.position).collect();
    positions.sort_unstable();
    assert_eq!(positions, (1..=head).collect::<Vec<_>>(), "every event once in the audit trail");
}

/// Following live, commands in quick succession share commits (at most one per
/// `LIVE_COMMIT_INTERVAL`); a runner killed among them and started again loses nothing and applies
/// nothing twice: its documents are a rebuild's, and every event is in the audit trail once.
async fn live_commits_survive_a_crash(opened: OpenedStore) {
    let store = Arc::clone(&opened.log);
    let runner = Arc::new(beside_live(&opened).await);
    let (checkpoints_tx, mut checkpoints) = watch::channel(0);
    let start = |runner: &Arc<Runner>| {
        let (runner, checkpoints_tx) = (Arc::clone(runner), checkpoints_tx.clone());
        tokio::spawn(async move { runner.run_live(watch::channel(false).1, checkpoints_tx).await })
    };
    let mut following = start(&runner);
    let events = interleaved_charts(6, Some(4));
    for (n, event) in events.into_iter().enumerate() {
        append(&*store, event).await;
        if n == 25 {
            following.abort(); // a crash, possibly in the middle of a commit
            following.await.ok();
            following = start(&runner);
        }
    }
    let head = store.head_position().await.expect("head").0;
    let reached = tokio::time::timeout(Duration::from_secs(20), checkpoints.wait_for(|c| *c >= head)).await;
    assert!(reached.is_ok_and(|r| r.is_ok()), "the live generation reaches the head");
    following.abort();
    let live = live_state(&runner).await;
    let positions: Vec<u64> = live.1.iter().map(|row| row.position).collect();
    assert_eq!(positions, (1..=head).collect::<Vec<_>>(), "every event once in the audit trail, in order");
    runner.rebuild(|_| {}).await.expect("rebuild");
    assert_eq!(live_state(&runner).await, live, "the live documents are a rebuild's");
}

#[tokio::test]
async fn sqlite_live_commits_coalesced_and_interrupted_lose_nothing() {
    let (store, _dir) = sqlite().await;
    live_commits_survive_a_crash(store).await;
}

#[tokio::test]
async fn postgres_live_commits_coalesced_and_interrupted_lose_nothing() {
    let schema = Schema::new().await;
    live_commits_survive_a_crash(schema.store.clone()).await;
    schema.drop_schema().await;
}

#[path = "live_commit_tests.rs"]
mod live_commit;
