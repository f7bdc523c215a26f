//! Load → decide → append, the way every command runs: idempotent by command id, optimistic with
//! bounded retries, and guarded by conditions on the other streams the decision read.

use carelog_proto::v1 as proto;
use carelog_store::{
    Actor, AppendRequest, CommandRef, Condition, EventStore, ExpectedRevision, Metadata, NewEvent, StoreError,
    StreamName, Tags,
};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use tracing::Instrument;
use uuid::Uuid;

use crate::aggregate::{Aggregate, Loaded, load};
use crate::auth::{Pass, Scope, access};
use crate::command_telemetry;
use crate::error::{FieldViolation, ServiceError};
use crate::parse;

/// Attempts of a command whose caller gave no expected revision, when other writers keep winning.
const MAX_ATTEMPTS: usize = 8;

/// Maps a command id to its events' ids: a retried command produces the same ids, so the store
/// recognises the retry and stores nothing twice.
const EVENT_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6361_7265_6c6f_6700_8000_0000_0000_0001);

/// Everything a command carries besides its payload, validated.
#[derive(Debug, Clone)]
pub struct CommandMeta {
    pub command_id: Uuid,
    pub expected_revision: Option<u64>,
    pub reason: Option<String>,
    /// Clinical time of the fact; never in the future.
    pub occurred_at: DateTime<Utc>,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub actor: Actor,
    /// The service's clock when the command arrived.
    pub now: DateTime<Utc>,
    /// Hex SHA-256 of the request without its context: a retry has the same one.
    pub fingerprint: Option<String>,
    /// What the policy granted the caller; `None` for commands a trusted process runs itself.
    pub pass: Option<Pass>,
    /// The client a command that starts a new stream is for, so the caller's reach is checked
    /// before the decision (which could otherwise reveal facts about another clinician's client).
    pub client_hint: Option<Uuid>,
    /// The command normally starts its stream (a registration): the first attempt decides on an
    /// empty stream without reading it. If the stream exists after all, the append conflicts and
    /// the next attempt reads it, as for any other race.
    pub expects_new_stream: bool,
}

impl CommandMeta {
    pub fn parse(
        context: Option<&proto::CommandContext>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Self, ServiceError> {
        let context = context.ok_or_else(|| FieldViolation::new("context", "is required (command_id at least)"))?;
        // The same domain as every other reason (at most 2,000 characters, no control characters
        // but line breaks and tabs): a NUL here once reached PostgreSQL's audit rows and stalled
        // the projector.
        let reason = context.reason.trim();
        let reason_violation = (!reason.is_empty())
            .then(|| carelog_domain::types::Reason::parse(reason).err())
            .flatten()
            .map(|e| FieldViolation::new("context.reason", e.reason));
        // In range (years 1900–2199) and not in the future.
        let occurred_at = parse::optional_timestamp("context.occurred_at", context.occurred_at.as_ref())
            .and_then(|t| parse::past_time("context.occurred_at", t.unwrap_or(now), now));
        match (
            parse::uuid("context.command_id", &context.command_id),
            parse::optional_uuid("context.correlation_id", &context.correlation_id),
            parse::optional_uuid("context.causation_id", &context.causation_id),
            occurred_at,
        ) {
            (Ok(command_id), Ok(correlation_id), Ok(causation_id), Ok(occurred_at)) if reason_violation.is_none() => {
                Ok(Self {
                    command_id,
                    expected_revision: context.expected_revision,
                    reason: (!reason.is_empty()).then(|| reason.to_owned()),
                    occurred_at,
                    correlation_id: correlation_id.unwrap_or_else(Uuid::now_v7),
                    causation_id,
                    actor,
                    now,
                    fingerprint: None,
                    pass: None,
                    client_hint: None,
                    expects_new_stream: false,
                })
            }
            (a, b, c, d) => Err(ServiceError::Invalid(
                [a.err(), b.err(), c.err(), d.err(), reason_violation].into_iter().flatten().collect(),
            )),
        }
    }

    /// Parses a gRPC command the gate let through: the caller from its pass, the context, and the
    /// payload's fingerprint (so reusing a command id for a different command is refused, not ignored).
    pub fn from_request<R: prost::Message>(
        request: &tonic::Request<R>,
        context: Option<&proto::CommandContext>,
        pass: Pass,
    ) -> Result<Self, ServiceError> {
        let mut meta = Self::parse(context, pass.principal.actor(), Utc::now())?;
        meta.fingerprint = Some(fingerprint(&request.get_ref().encode_to_vec()));
        meta.pass = Some(pass);
        Ok(meta)
    }

    /// The id of this command's `index`-th event.
    pub fn event_id(&self, index: usize) -> Uuid {
        let mut name = self.command_id.as_bytes().to_vec();
        name.extend_from_slice(&(index as u64).to_be_bytes());
        Uuid::new_v5(&EVENT_ID_NAMESPACE, &name)
    }

    /// The reason, required for corrections, revocations and reversals.
    pub fn required_reason(&self) -> Result<carelog_domain::types::Reason, ServiceError> {
        let reason = self.reason.as_deref().unwrap_or_default();
        carelog_domain::types::Reason::parse(reason)
            .map_err(|e| ServiceError::Invalid(vec![FieldViolation::new("context.reason", e.reason)]))
    }

    fn metadata(&self, tags: &Tags) -> Metadata {
        Metadata {
            actor: self.actor.clone(),
            occurred_at: self.occurred_at,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            trace_id: crate::telemetry::current_trace_id(),
            reason: self.reason.clone(),
            tags: tags.clone(),
            command: self.fingerprint.clone().map(|fingerprint| CommandRef { id: self.command_id, fingerprint }),
        }
    }
}

/// SHA-256 of an encoded request without field 1 (its `CommandContext`): a client that rebuilds
/// the context on retry (a new clinical time, a new correlation id) still retries the same command.
/// prost writes fields in number order, so the context, when present, is the leading field.
fn fingerprint(encoded: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let payload = strip_leading_field_1(encoded).unwrap_or(encoded);
    hex::encode(Sha256::digest(payload))
}

fn strip_leading_field_1(encoded: &[u8]) -> Option<&[u8]> {
    // Tag of field 1, wire type 2 (length-delimited).
    let rest = encoded.strip_prefix(&[0x0a])?;
    let mut length: usize = 0;
    for (i, byte) in rest.iter().enumerate().take(10) {
        length |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            // Two steps: `i + 1 + length` overflows for a 10-byte varint near u64::MAX.
            return rest.get(i + 1..)?.get(length..);
        }
    }
    None
}

/// What a decision produced: the events, the other streams it read (still at the revisions read),
/// and the tags that let read models find the events.
#[derive(Debug)]
pub struct Plan<E> {
    pub events: Vec<E>,
    pub conditions: Vec<Condition>,
    pub tags: Tags,
}

impl<E> Plan<E> {
    pub fn new(events: Vec<E>) -> Self {
        Self { events, conditions: Vec::new(), tags: Tags::default() }
    }

    /// The decision read `loaded`: refuse the append if that stream moved since.
    pub fn unless_changed<S>(mut self, loaded: &Loaded<S>) -> Self {
        self.conditions.push(Condition { stream: loaded.stream.clone(), expected: loaded.expected() });
        self
    }

    pub fn tagged(mut self, client: impl ToString, episode: Option<String>) -> Self {
        self.tags = Tags { client: Some(client.to_string()), episode };
        self
    }
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
) -> Result<proto::AppendReceipt, ServiceError> {
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
) -> Result<proto::AppendReceipt, ServiceError> {
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
        let reached = match (&meta.pass, A::client(&loaded.state).or(meta.client_hint)) {
            (Some(pass), Some(client)) if pass.scope == Scope::AssignedClients => {
                access::reach(store, pass, client).await?;
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
        if let Some(pass) = meta.pass.as_ref().filter(|p| p.scope == Scope::AssignedClients && !reached) {
            // A new stream: the client is known only from the decision's tags.
            let client = plan.tags.client.as_deref().and_then(|c| Uuid::parse_str(c).ok());
            match client {
                Some(client) => access::reach(store, pass, client).await?,
                None => return Err(access::deny(store, pass, None, "CLIENT_NOT_ASSIGNED", "no client".into()).await),
            }
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
        let request =
            AppendRequest { stream: stream.clone(), expected: loaded.expected(), events, conditions: plan.conditions };
        match command_telemetry::timed_append(store, request).await {
            Ok(result) => {
                return Ok(proto::AppendReceipt {
                    stream: stream.to_string(),
                    revision: result.last_revision,
                    position: result.last_position.0,
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
) -> Result<Option<proto::AppendReceipt>, ServiceError> {
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
    Ok(Some(proto::AppendReceipt {
        stream: stream.to_string(),
        revision: last.revision,
        position: last.position.0,
        already_applied: true,
        event_types: types,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use sha2::Digest;

    fn request(command_id: &str, occurred: i64, name: &str) -> Vec<u8> {
        proto::RegisterClientRequest {
            context: Some(proto::CommandContext {
                command_id: command_id.into(),
                occurred_at: Some(prost_types::Timestamp { seconds: occurred, nanos: 0 }),
                ..Default::default()
            }),
            legal_name: name.into(),
            ..Default::default()
        }
        .encode_to_vec()
    }

    /// A length past the end (or near usize::MAX) means "no context to strip", never an overflow.
    #[test]
    fn a_context_length_beyond_the_bytes_is_not_stripped() {
        let mut huge = vec![0x0a];
        huge.extend([0xff; 9]);
        huge.push(0x01);
        for encoded in [huge, vec![0x0a, 0x05, 0x01], vec![0x0a], vec![0x0a, 0x80]] {
            assert_eq!(fingerprint(&encoded), hex::encode(sha2::Sha256::digest(&encoded)), "{encoded:?}");
        }
    }

    #[test]
    fn a_retry_with_a_rebuilt_context_has_the_same_fingerprint_and_another_payload_does_not() {
        let first = fingerprint(&request("a", 1, "Jo Blake"));
        assert_eq!(first, fingerprint(&request("a", 99, "Jo Blake")));
        assert_ne!(first, fingerprint(&request("a", 1, "Jo Black")));
        let without_context = proto::RegisterClientRequest { legal_name: "Jo Blake".into(), ..Default::default() };
        assert_eq!(first, fingerprint(&without_context.encode_to_vec()));
    }
}
