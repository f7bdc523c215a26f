//! Closing an episode of care: `EpisodeClosed` belongs to the client's stream, but whether it may
//! happen depends on every session of the episode (no progress note may be left unsigned).

use std::sync::Arc;

use carelog_domain::intake::{self, EpisodeStatus, IntakeContext};
use carelog_domain::sessions::{SessionEvent, SessionState, SessionStatus};
use carelog_domain::types::{ClientId, EpisodeId, SessionId};
use carelog_executor::aggregate::{Aggregate, Client, Session};
use carelog_executor::{CommandMeta, Committed, Decision, Loaded, ServiceError, client_events, execute, load};
use carelog_store::{EventStore, LogFilter, StreamName};

use crate::convert::CloseEpisode;
use crate::handlers::stream;

/// Closes the episode unless one of its held sessions still has an unsigned note.
#[tracing::instrument(skip_all, err(level = "info"), fields(episode = %request.episode_id))]
pub async fn close(
    store: &Arc<dyn EventStore>,
    meta: &CommandMeta,
    request: CloseEpisode,
) -> Result<Committed, ServiceError> {
    let CloseEpisode { client_id, episode_id, command } = request;
    let client_stream = stream(client_id.stream_name(), "client_id")?;
    execute::<Client>(store.as_ref(), &client_stream, meta, |client| {
        // Each attempt owns its store handle and command: the future may borrow only `client`.
        let (store, command, now) = (Arc::clone(store), command.clone(), meta.now);
        Box::pin(async move {
            // Only an open episode's sessions matter; otherwise the rules refuse without them.
            let sessions = match client.state.episode_status(episode_id) {
                EpisodeStatus::Open => episode_sessions(store.as_ref(), client_id, episode_id).await?,
                EpisodeStatus::Closed | EpisodeStatus::Unknown => Vec::new(),
            };
            let unsigned = sessions.iter().filter(|s| s.state.has_unsigned_note()).count();
            let context = IntakeContext::at(now).with_unsigned_notes(u32::try_from(unsigned).unwrap_or(u32::MAX));
            let events = intake::decide(&command, &client.state, &context)?;
            // Only a session still scheduled can turn into an unsigned note (by being held); held
            // sessions are signed here (else the decision failed), cancelled ones and no-shows are
            // final. Guarding just those keeps an addendum on an old note from aborting the close.
            // A session scheduled after this read cannot be held any more: its hold is conditioned on
            // the client's stream, which this append moves.
            let plan = sessions
                .iter()
                .filter(|s| s.state.status == SessionStatus::Scheduled)
                .fold(Decision::new(events), |decision, session| decision.unless_changed(session));
            Ok(plan.tagged(client_id, Some(episode_id.to_string())))
        })
    })
    .await
}

/// The episode's sessions, each folded at the revision read. The log is the only index of which
/// sessions belong to an episode: every session stream starts with its SessionScheduled event.
async fn episode_sessions(
    store: &dyn EventStore,
    client_id: ClientId,
    episode_id: EpisodeId,
) -> Result<Vec<Loaded<SessionState>>, ServiceError> {
    let filter = LogFilter {
        categories: vec![SessionId::CATEGORY.to_owned()],
        event_types: vec!["SessionScheduled".to_owned()],
    };
    let mut streams: Vec<StreamName> = Vec::new();
    for recorded in client_events(store, &client_id.to_string(), filter).await? {
        let event = Session::decode(&recorded)
            .map_err(|e| ServiceError::Decode(format!("{} revision {}: {e}", recorded.stream, recorded.revision)))?;
        if let SessionEvent::SessionScheduled(s) = event
            && s.client_id == client_id
            && s.episode_id == episode_id
            && !streams.contains(&recorded.stream)
        {
            streams.push(recorded.stream.clone());
        }
    }
    let mut sessions = Vec::with_capacity(streams.len());
    for session in &streams {
        sessions.push(load::<Session>(store, session).await?);
    }
    Ok(sessions)
}
