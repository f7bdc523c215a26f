//! Load → decide → append, the way every command runs: idempotent by command id, optimistic with
//! bounded retries, and guarded by conditions on the other streams the decision read.

use carelog_store::{AppendRequest, EventStore, ExpectedRevision, NewEvent, Position, StoreError, StreamName};
use futures::future::BoxFuture;
use tracing::Instrument;
use uuid::Uuid;

use crate::aggregate::{Aggregate, Loaded, load};
use crate::command_meta::CommandMeta;
use crate::command_telemetry;
use crate::decision::Plan;
use crate::error::ServiceError;

/// Attempts of a command whose caller gave no expected revision, when other writers keep winning.
const MAX_ATTEMPTS: usize = 8;

/// What a command left in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub stream: StreamName,
    /// The revision of the command's last event in its stream.
    pub revision: u64,
    /// The log position of the command's last event.
    pub position: Position,
    /// The command had run before: nothing was stored this time, and this is its first run.
    pub already_applied: bool,
    /// The types of the command's events, in order.
    pub event_types: Vec<String>,
}

/// Runs one command against `stream`: loads the stream, decides, and appends, retrying on conflicts;
/// a command id that was already applied gets the receipt of its first run.
/// `decide` may read other streams (boxed so the future stays `Send` for tonic); it returns the
/// conditions that keep what it read true until the append commits.
pub async fn execute<A: Aggregate>(
    store: &dyn EventStore,
    stream: &StreamName,
    meta: &CommandMeta,
    decide: impl for<'a> Fn(&'a Loaded<A::State>) -> BoxFuture<'a, Result<Plan<A::Event>, ServiceError>>,
) -> Result<Committed, ServiceError> {
    let span = command_telemetry::execute_span(stream.as_str(), meta);
    let result = attempt::<A>(store, stream, meta, decide).instrument(span.clone()).await;
    command_telemetry::record_outcome(&span, stream.as_str(), &result);
    result
}

async fn attempt<A: Aggregate>(
    store: &dyn EventStore,
    stream: &StreamName,
    meta: &CommandMeta,
    decide: impl for<'a> Fn(&'a Loaded<A::State>) -> BoxFuture<'a, Result<Plan<A::Event>, ServiceError>>,
) -> Result<Committed, ServiceError> {
    let guess_new = meta.expects_new_stream && meta.expected_revision.is_none();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let guessed_new = guess_new && attempt == 1;
        // After a wrong guess of a new stream the second attempt reads it at once: no collision.
        if attempt > 1 && !(guess_new && attempt == 2) {
            // Jittered backoff: writers that collided should not collide again in lockstep.
            let ceiling = 2_u64.pow(attempt.min(6) as u32);
            let pause = rand::random_range(0..=ceiling);
            tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
        }
        // A retry is recognised lazily: on the happy path the store itself finds the command's
        // event ids already stored; only a refusal needs to ask whether this command already ran.
        let loading = tracing::info_span!("command.load", stream = %stream, assumed_new = guessed_new);
        let loaded = async {
            match guessed_new {
                true => Ok(Loaded { stream: stream.clone(), state: A::State::default(), revision: None }),
                false => load::<A>(store, stream).await,
            }
        }
        .instrument(loading)
        .await?;
        if let Some(expected) = meta.expected_revision
            && loaded.revision != Some(expected)
        {
            if let Some(receipt) = already_applied(store, stream, meta).await? {
                return Ok(receipt);
            }
            return Err(StoreError::Conflict {
                stream: stream.to_string(),
                expected: ExpectedRevision::Exact(expected),
                actual: loaded.revision,
            }
            .into());
        }
        // A clinician writes only for clients assigned to them: checked before the decision, so a
        // refusal reveals nothing about the record.
        let reached = match (&meta.reach, A::client(&loaded.state).or(meta.client_hint)) {
            (Some(reach), Some(client)) if reach.is_limited() => {
                reach.check(store, Some(client)).await?;
                true
            }
            _ => false,
        };
        let plan = match decide(&loaded).instrument(tracing::info_span!("command.decide")).await {
            Ok(plan) => plan,
            Err(refused) => {
                return match already_applied(store, stream, meta).await? {
                    Some(receipt) => Ok(receipt),
                    None => Err(refused),
                };
            }
        };
        if let Some(reach) = meta.reach.as_ref().filter(|r| r.is_limited() && !reached) {
            // A new stream: the client is known only from the decision's tags.
            let client = plan.tags.client.as_deref().and_then(|c| Uuid::parse_str(c).ok());
            reach.check(store, client).await?;
        }
        let metadata = meta.metadata(&plan.tags);
        let mut events = Vec::with_capacity(plan.events.len());
        let mut types = Vec::with_capacity(plan.events.len());
        for (index, event) in plan.events.iter().enumerate() {
            let (event_type, schema_version, data) =
                A::encode(event).map_err(|e| ServiceError::Decode(format!("cannot encode event: {e}")))?;
            types.push(event_type.to_owned());
            events.push(NewEvent {
                event_id: meta.event_id(index),
                event_type: event_type.to_owned(),
                schema_version,
                data,
                metadata: metadata.clone(),
            });
        }
        let request = AppendRequest {
            stream: stream.clone(),
            expected: loaded.expected(),
            events,
            conditions: plan.conditions,
            client_key: None,
        };
        match command_telemetry::timed_append(store, request).await {
            Ok(result) => {
                return Ok(Committed {
                    stream: stream.clone(),
                    revision: result.last_revision,
                    position: result.last_position,
                    already_applied: result.already_stored,
                    event_types: types,
                });
            }
            // Someone else wrote first (or a concurrent retry of this very command won): look again.
            // A caller's expected revision pins only the target stream: a move of another stream the
            // decision read is retried like any other race (the next load re-checks the target).
            Err(StoreError::Conflict { stream: moved, .. })
                if attempt < MAX_ATTEMPTS && (meta.expected_revision.is_none() || moved != stream.as_str()) => {}
            Err(StoreError::IdempotencyMismatch { .. })
                if attempt < MAX_ATTEMPTS && meta.expected_revision.is_none() => {}
            Err(error @ StoreError::IdempotencyMismatch { .. }) => {
                return match already_applied(store, stream, meta).await? {
                    Some(receipt) => Ok(receipt),
                    None => Err(error.into()),
                };
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// The receipt of this command's first run, if its events are stored.
async fn already_applied(
    store: &dyn EventStore,
    stream: &StreamName,
    meta: &CommandMeta,
) -> Result<Option<Committed>, ServiceError> {
    let Some(first) = store.event_by_id(meta.event_id(0)).await? else { return Ok(None) };
    let other_payload = match (&first.metadata.command, &meta.fingerprint) {
        (Some(stored), Some(now)) => stored.fingerprint != *now,
        _ => false,
    };
    if first.stream != *stream || other_payload {
        return Err(ServiceError::CommandIdReused { command_id: meta.command_id.to_string() });
    }
    let mut last = first.clone();
    let mut types = vec![first.event_type.clone()];
    for index in 1.. {
        match store.event_by_id(meta.event_id(index)).await? {
            Some(next) if next.stream == *stream => {
                types.push(next.event_type.clone());
                last = next;
            }
            _ => break,
        }
    }
    Ok(Some(Committed {
        stream: stream.clone(),
        revision: last.revision,
        position: last.position,
        already_applied: true,
        event_types: types,
    }))
}
