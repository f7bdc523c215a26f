//! Command handlers: load → decide → append for the session stream and the psychotherapy-note streams.
//!
//! A session's rules read other aggregates: the client's record (consents, episode status) and the
//! treatment plan (active goals). Each decision appends only while those streams are still at the
//! revisions it read, so a consent revoked or an episode closed concurrently makes the command
//! retry against the new facts instead of committing on stale ones.

use std::sync::Arc;

use carelog_domain::intake::ClientState;
use carelog_domain::planning::PlanState;
use carelog_domain::sessions::{self, SessionCommand, SessionContext, SessionSettings, SessionState};
use carelog_domain::types::{ClientId, EpisodeId, GoalId, PlanId};
use carelog_domain::{DomainError, Entity};
use carelog_executor::aggregate::{Client, Plan as PlanAggregate, Session};
use carelog_executor::{CommandMeta, Committed, Decision, Loaded, ServiceError, execute, load};
use carelog_store::{EventStore, StreamName};
use chrono::{DateTime, Utc};

use crate::convert::SessionRequest;

/// Runs a session command; a psychotherapy note goes to its own stream.
#[tracing::instrument(skip_all, err(level = "info"), fields(session = %request.session_id))]
pub async fn run(
    store: &Arc<dyn EventStore>,
    meta: &CommandMeta,
    settings: SessionSettings,
    request: SessionRequest,
) -> Result<Committed, ServiceError> {
    let SessionRequest { session_id, command, plan_id } = request;
    let session_stream = stream(session_id.stream_name(), "session_id")?;
    if let SessionCommand::RecordPsychotherapyNote { note_id, .. } = &command {
        let note_stream = stream(note_id.stream_name(), "note_id")?;
        return psychotherapy_note(store, meta, session_stream, &note_stream, command).await;
    }
    execute::<Session>(store.as_ref(), &session_stream, meta, |loaded| {
        // `execute` wants a future that borrows only the loaded stream, so each attempt takes its
        // own handle on the store and its own copy of the command.
        let (store, command, arrived) = (Arc::clone(store), command.clone(), meta.now);
        Box::pin(async move {
            let facts = Facts::read(store.as_ref(), &command, &loaded.state, plan_id, arrived).await?;
            let facts = Facts { context: facts.context.with_settings(settings), ..facts };
            let events = sessions::decide(&command, &loaded.state, &facts.context)?;
            Ok(facts.guard(Decision::new(events)))
        })
    })
    .await
}

/// The psychotherapy note is decided from the session's state but stored in the note's own stream,
/// so it can be keyed and read-guarded apart from the record.
async fn psychotherapy_note(
    store: &Arc<dyn EventStore>,
    meta: &CommandMeta,
    session_stream: StreamName,
    note_stream: &StreamName,
    command: SessionCommand,
) -> Result<Committed, ServiceError> {
    // The note's own stream is new and names no client: the session's client is the hint that
    // `execute` checks the caller's reach on, before deciding.
    let mut meta = meta.clone();
    meta.client_hint = load::<Session>(store.as_ref(), &session_stream).await?.state.client_id.map(|c| c.as_uuid());
    let meta = &meta;
    execute::<Session>(store.as_ref(), note_stream, meta, |note| {
        let (store, session_stream, command, arrived) =
            (Arc::clone(store), session_stream.clone(), command.clone(), meta.now);
        Box::pin(async move {
            // A note is written once; a second command under the same note id is a caller error
            // (a retry of the same command was already answered from its stored events).
            if note.exists() {
                return Err(ServiceError::invalid("note_id", "a psychotherapy note with this id is already recorded"));
            }
            let session = load::<Session>(store.as_ref(), &session_stream).await?;
            let events = sessions::decide(&command, &session.state, &bare_context(arrived))?;
            Ok(tagged(
                Decision::new(events).unless_changed(&session),
                session.state.client_id,
                session.state.episode_id,
            ))
        })
    })
    .await
}

/// What a session decision read from outside its stream, and the streams to hold still.
struct Facts {
    context: SessionContext,
    client: Option<Loaded<ClientState>>,
    plan: Option<Loaded<PlanState>>,
    tags: (Option<ClientId>, Option<EpisodeId>),
}

impl Facts {
    /// Reads only what the command's rules look at: the client's record to schedule or hold a
    /// session, the plan to sign a note against its goals. Other commands depend on the session alone,
    /// so they do not conflict with unrelated changes to the client's record.
    async fn read(
        store: &dyn EventStore,
        command: &SessionCommand,
        state: &SessionState,
        plan_id: Option<PlanId>,
        arrived: DateTime<Utc>,
    ) -> Result<Self, ServiceError> {
        let (client_id, episode_id) = match command {
            SessionCommand::ScheduleSession { client_id, episode_id, .. } => (Some(*client_id), Some(*episode_id)),
            _ => (state.client_id, state.episode_id),
        };
        let reads_client =
            matches!(command, SessionCommand::ScheduleSession { .. } | SessionCommand::HoldSession { .. });
        let mut client = None;
        if let (true, Some(client_id)) = (reads_client, client_id) {
            client = Some(load::<Client>(store, &stream(client_id.stream_name(), "client_id")?).await?);
        }
        let now = arrived;
        let mut context = match (&client, episode_id) {
            (Some(client), Some(episode_id)) => SessionContext::from_client(&client.state, episode_id, now),
            _ => bare_context(now),
        };
        let mut plan = None;
        if let (SessionCommand::SignProgressNote { .. }, Some(plan_id), Some(client_id)) = (command, plan_id, client_id)
        {
            let loaded = load::<PlanAggregate>(store, &stream(plan_id.stream_name(), "plan_id")?).await?;
            context.active_goals = active_goals(&loaded.state, plan_id, client_id)?;
            plan = Some(loaded);
        }
        Ok(Self { context, client, plan, tags: (client_id, episode_id) })
    }

    /// Adds the conditions that keep the facts true until the append commits, and the tags.
    fn guard(self, mut decision: Decision<sessions::SessionEvent>) -> Decision<sessions::SessionEvent> {
        if let Some(client) = &self.client {
            decision = decision.unless_changed(client);
        }
        if let Some(treatment_plan) = &self.plan {
            decision = decision.unless_changed(treatment_plan);
        }
        let (client, episode) = self.tags;
        tagged(decision, client, episode)
    }
}

/// Goals a note may address: the active goals of a plan of this client with a signed version.
fn active_goals(plan: &PlanState, plan_id: PlanId, client_id: ClientId) -> Result<Vec<GoalId>, ServiceError> {
    // Another client's plan is reported as not found: it must not confirm that the plan exists.
    if plan.client_id != Some(client_id) {
        return Err(DomainError::NotFound { entity: Entity::Plan, id: plan_id.to_string() }.into());
    }
    if plan.last_signed_version.is_none() {
        return Err(DomainError::PlanNotSigned.into());
    }
    Ok(plan.active_goals())
}

/// A context for a decision that reads nothing outside the session stream.
fn bare_context(now: DateTime<Utc>) -> SessionContext {
    // Settings matter only to decisions that go through `run`, which applies them.
    SessionContext::bare(now, SessionSettings::default())
}

/// Tags the events with their client and episode so read models find them without decoding.
fn tagged<E>(decision: Decision<E>, client: Option<ClientId>, episode: Option<EpisodeId>) -> Decision<E> {
    match client {
        Some(client) => decision.tagged(client, episode.map(|e| e.to_string())),
        None => decision,
    }
}

pub fn stream(name: String, field: &str) -> Result<StreamName, ServiceError> {
    StreamName::new(name).map_err(|e| ServiceError::invalid(field, e.to_string()))
}
