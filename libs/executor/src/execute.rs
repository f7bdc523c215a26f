//! Load → decide → append, the way every command runs: idempotent by command id, optimistic with
//! bounded retries, and guarded by conditions on the other streams the decision read.

use carelog_store::{
    AppendRequest, AppendResult, EventStore, ExpectedRevision, NewEvent, Position, StoreError, StreamName,
};
use futures::future::BoxFuture;
use tracing::Instrument;
use uuid::Uuid;

use crate::aggregate::{Aggregate, Loaded, load};
use crate::command_meta::CommandMeta;
use crate::command_telemetry;
use crate::decision::Decision;
use crate::error::ServiceError;
use crate::replay;

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
/// a command id that was already applied gets what its first run committed.
/// `decide` may read other streams (boxed so the future stays `Send` for tonic); it returns the
/// conditions that keep what it read true until the append commits.
pub async fn execute<A: Aggregate>(
    store: &dyn EventStore,
    stream: &StreamName,
    meta: &CommandMeta,
    decide: impl for<'a> Fn(&'a Loaded<A::State>) -> BoxFuture<'a, Result<Decision<A::Event>, ServiceError>>,
) -> Result<Committed, ServiceError> {
    let span = command_telemetry::execute_span(stream.as_str(), meta);
    let run = Run { store, stream, meta };
    let result = run.with_retries::<A>(decide).instrument(span.clone()).await;
    command_telemetry::record_outcome(&span, stream.as_str(), &result);
    result
}

/// One command on its way into the log: what every step reads.
struct Run<'a> {
    store: &'a dyn EventStore,
    stream: &'a StreamName,
    meta: &'a CommandMeta,
}

impl Run<'_> {
    /// Load → decide → append until the append commits, a step refuses, or the attempts run out.
    /// A retry is recognised lazily: on the happy path the store itself finds the command's event
    /// ids already stored; only a refusal asks whether this command already ran ([`replay`]).
    async fn with_retries<A: Aggregate>(
        &self,
        decide: impl for<'a> Fn(&'a Loaded<A::State>) -> BoxFuture<'a, Result<Decision<A::Event>, ServiceError>>,
    ) -> Result<Committed, ServiceError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.pause_before(attempt).await;
            let loaded = self.load::<A>(attempt).await?;
            if let Some(conflict) = self.unexpected_revision(&loaded) {
                return self.replay_or(conflict.into()).await;
            }
            let reached = self.reach_before_deciding::<A>(&loaded).await?;
            let decision = match decide(&loaded).instrument(tracing::info_span!("command.decide")).await {
                Ok(decision) => decision,
                Err(refused) => return self.replay_or(refused).await,
            };
            if !reached {
                self.reach_after_deciding(&decision).await?;
            }
            let (request, event_types) = self.append_request::<A>(&loaded, decision)?;
            match command_telemetry::timed_append(self.store, request).await {
                Ok(appended) => return Ok(self.committed(appended, event_types)),
                Err(error) if self.retries(&error, attempt) => {}
                Err(error @ StoreError::IdempotencyMismatch { .. }) => return self.replay_or(error.into()).await,
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// A registration decides its first attempt on an empty stream without reading it.
    fn guesses_new_stream(&self) -> bool {
        self.meta.expects_new_stream && self.meta.expected_revision.is_none()
    }

    /// Jittered backoff before a retry, so writers that collided do not collide again in lockstep.
    /// After a wrong guess of a new stream the second attempt reads the stream at once: no collision.
    async fn pause_before(&self, attempt: usize) {
        if attempt == 1 || (self.guesses_new_stream() && attempt == 2) {
            return;
        }
        let ceiling = 2_u64.pow(attempt.min(6) as u32);
        let pause = rand::random_range(0..=ceiling);
        tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
    }

    /// The stream folded into state; on a registration's first attempt, an empty stream.
    async fn load<A: Aggregate>(&self, attempt: usize) -> Result<Loaded<A::State>, ServiceError> {
        let assumed_new = self.guesses_new_stream() && attempt == 1;
        let span = tracing::info_span!("command.load", stream = %self.stream, assumed_new);
        async {
            match assumed_new {
                true => Ok(Loaded { stream: self.stream.clone(), state: A::State::default(), revision: None }),
                false => load::<A>(self.store, self.stream).await,
            }
        }
        .instrument(span)
        .await
    }

    /// The conflict, when the caller pinned a revision the stream is no longer at.
    fn unexpected_revision<S>(&self, loaded: &Loaded<S>) -> Option<StoreError> {
        let expected = self.meta.expected_revision.filter(|expected| loaded.revision != Some(*expected))?;
        Some(StoreError::Conflict {
            stream: self.stream.to_string(),
            expected: ExpectedRevision::Exact(expected),
            actual: loaded.revision,
        })
    }

    /// A clinician writes only for clients assigned to them: checked before the decision when the
    /// client is known, so a refusal reveals nothing about the record. Whether it was checked.
    async fn reach_before_deciding<A: Aggregate>(&self, loaded: &Loaded<A::State>) -> Result<bool, ServiceError> {
        match (&self.meta.reach, A::client(&loaded.state).or(self.meta.client_hint)) {
            (Some(reach), Some(client)) if reach.is_limited() => {
                reach.check(self.store, Some(client)).await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// A new stream's client is known only from the decision's tags.
    async fn reach_after_deciding<E>(&self, decision: &Decision<E>) -> Result<(), ServiceError> {
        let Some(reach) = self.meta.reach.as_ref().filter(|reach| reach.is_limited()) else { return Ok(()) };
        let client = decision.tags.client.as_deref().and_then(|c| Uuid::parse_str(c).ok());
        reach.check(self.store, client).await
    }

    /// The append of the decision's events, with ids derived from the command id, and their types.
    fn append_request<A: Aggregate>(
        &self,
        loaded: &Loaded<A::State>,
        decision: Decision<A::Event>,
    ) -> Result<(AppendRequest, Vec<String>), ServiceError> {
        let metadata = self.meta.metadata(&decision.tags);
        let mut events = Vec::with_capacity(decision.events.len());
        for (index, event) in decision.events.iter().enumerate() {
            let (event_type, schema_version, data) =
                A::encode(event).map_err(|e| ServiceError::Decode(format!("cannot encode event: {e}")))?;
            events.push(NewEvent {
                event_id: self.meta.event_id(index),
                event_type: event_type.to_owned(),
                schema_version,
                data,
                metadata: metadata.clone(),
            });
        }
        let event_types = events.iter().map(|event| event.event_type.clone()).collect();
        let request = AppendRequest {
            stream: self.stream.clone(),
            expected: loaded.expected(),
            events,
            conditions: decision.conditions,
        };
        Ok((request, event_types))
    }

    /// Whether a refused append is tried again. Someone else wrote first (or a concurrent retry of
    /// this very command won): look again. A caller's expected revision pins only the target
    /// stream: a move of another stream the decision read is retried like any other race (the
    /// next load re-checks the target).
    fn retries(&self, error: &StoreError, attempt: usize) -> bool {
        let pinned = self.meta.expected_revision.is_some();
        attempt < MAX_ATTEMPTS
            && match error {
                StoreError::Conflict { stream: moved, .. } => !pinned || moved != self.stream.as_str(),
                StoreError::IdempotencyMismatch { .. } => !pinned,
                _ => false,
            }
    }

    fn committed(&self, appended: AppendResult, event_types: Vec<String>) -> Committed {
        Committed {
            stream: self.stream.clone(),
            revision: appended.last_revision,
            position: appended.last_position,
            already_applied: appended.already_stored,
            event_types,
        }
    }

    /// What this command's first run committed, if it ran before; otherwise `refusal`.
    async fn replay_or(&self, refusal: ServiceError) -> Result<Committed, ServiceError> {
        match replay::first_run(self.store, self.stream, self.meta).await? {
            Some(committed) => Ok(committed),
            None => Err(refusal),
        }
    }
}
