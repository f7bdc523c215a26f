//! The executor alone on a real SQLite log: what a command commits, how a retry of the same
//! command is answered, and the refusals a caller can act on. (The black-box suite runs it through
//! every service; these pin its own contract in its own terms.)

use carelog_domain::DecodeError;
use carelog_executor::{Aggregate, CommandMeta, Decision, Loaded, ServiceError, execute};
use carelog_store::{Actor, EventStore, RecordedEvent, SqliteStore, StoreError, StreamName, StreamQuery};
use chrono::Utc;
use futures::future::BoxFuture;
use uuid::Uuid;

/// A stream of notes: the smallest aggregate, so only the executor is under test.
#[derive(Debug)]
struct Notes;

impl Aggregate for Notes {
    type State = Vec<String>;
    type Event = String;

    fn decode(event: &RecordedEvent) -> Result<String, DecodeError> {
        let text = event.data["text"].as_str().ok_or_else(|| DecodeError::UnknownType(event.event_type.clone()))?;
        Ok(text.to_owned())
    }

    fn evolve(mut state: Vec<String>, event: &String) -> Vec<String> {
        state.push(event.clone());
        state
    }

    fn client(_: &Vec<String>) -> Option<Uuid> {
        None
    }

    fn encode(event: &String) -> Result<(&'static str, u32, serde_json::Value), serde_json::Error> {
        Ok(("NoteTaken", 1, serde_json::json!({ "text": event })))
    }
}

fn meta(command_id: Uuid) -> CommandMeta {
    CommandMeta {
        command_id,
        expected_revision: None,
        reason: None,
        occurred_at: Utc::now(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        actor: Actor::new(Uuid::now_v7().to_string(), "admin"),
        now: Utc::now(),
        fingerprint: Some("payload".into()),
        reach: None,
        client_hint: None,
        expects_new_stream: false,
    }
}

fn stream() -> StreamName {
    StreamName::new(format!("notes-{}", Uuid::now_v7())).expect("a stream name")
}

async fn log() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("log.db")).await.expect("a SQLite log");
    (dir, store)
}

/// Takes one note: `text` after what the stream already holds.
async fn note(
    store: &dyn EventStore,
    stream: &StreamName,
    meta: &CommandMeta,
    text: &str,
) -> Result<u64, ServiceError> {
    let text = text.to_owned();
    let committed = execute::<Notes>(store, stream, meta, |loaded| {
        let decision = Decision::new(vec![format!("{} {text}", loaded.state.len())]);
        Box::pin(async move { Ok(decision) })
    })
    .await?;
    Ok(committed.revision)
}

fn two_notes(_: &Loaded<Vec<String>>) -> BoxFuture<'_, Result<Decision<String>, ServiceError>> {
    Box::pin(async { Ok(Decision::new(vec!["second".to_owned(), "third".to_owned()])) })
}

fn refuse(_: &Loaded<Vec<String>>) -> BoxFuture<'_, Result<Decision<String>, ServiceError>> {
    Box::pin(async { Err(ServiceError::invalid("text", "already taken")) })
}

#[tokio::test]
async fn a_command_commits_its_events_and_its_retry_gets_the_first_run_again() {
    let (_dir, store) = log().await;
    let stream = stream();
    note(&store, &stream, &meta(Uuid::now_v7()), "first").await.expect("a first note");

    let command = meta(Uuid::now_v7());
    let first = execute::<Notes>(&store, &stream, &command, two_notes).await.expect("committed");
    assert_eq!((first.revision, first.already_applied), (2, false));
    assert_eq!(first.event_types, ["NoteTaken", "NoteTaken"]);
    assert_eq!(first.stream, stream);

    let again = execute::<Notes>(&store, &stream, &command, two_notes).await.expect("the retry");
    assert!(again.already_applied, "{again:?}");
    assert_eq!(
        (again.revision, again.position, &again.event_types),
        (first.revision, first.position, &first.event_types)
    );
    assert_eq!(store.read_stream(&stream, StreamQuery::all()).await.expect("the stream").len(), 3, "stored once");
}

#[tokio::test]
async fn a_decision_refused_for_a_command_that_already_ran_gets_its_first_run() {
    let (_dir, store) = log().await;
    let (stream, command_id) = (stream(), Uuid::now_v7());
    let revision = note(&store, &stream, &meta(command_id), "once").await.expect("a note");

    // Run again, the decision now refuses (the state moved on): the caller still learns it ran.
    let replayed = execute::<Notes>(&store, &stream, &meta(command_id), refuse).await.expect("the first run");
    assert_eq!((replayed.revision, replayed.already_applied), (revision, true));

    let refused = execute::<Notes>(&store, &stream, &meta(Uuid::now_v7()), refuse).await;
    assert!(matches!(refused, Err(ServiceError::Invalid(_))), "{refused:?}");
}

#[tokio::test]
async fn a_command_id_used_for_another_payload_is_refused() {
    let (_dir, store) = log().await;
    let (stream, command_id) = (stream(), Uuid::now_v7());
    note(&store, &stream, &meta(command_id), "once").await.expect("a note");

    let other = CommandMeta { fingerprint: Some("another payload".into()), ..meta(command_id) };
    let reused = note(&store, &stream, &other, "other").await;
    assert!(matches!(reused, Err(ServiceError::CommandIdReused { .. })), "{reused:?}");
}

#[tokio::test]
async fn a_stale_expected_revision_is_a_conflict_naming_both_revisions() {
    let (_dir, store) = log().await;
    let stream = stream();
    note(&store, &stream, &meta(Uuid::now_v7()), "first").await.expect("a note");
    note(&store, &stream, &meta(Uuid::now_v7()), "second").await.expect("a note");

    let stale = CommandMeta { expected_revision: Some(0), ..meta(Uuid::now_v7()) };
    let refused = note(&store, &stream, &stale, "late").await;
    match refused {
        Err(ServiceError::Store(StoreError::Conflict { actual, .. })) => assert_eq!(actual, Some(1)),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let current = CommandMeta { expected_revision: Some(1), ..meta(Uuid::now_v7()) };
    assert_eq!(note(&store, &stream, &current, "on time").await.expect("appended"), 2);
}
