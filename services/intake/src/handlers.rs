//! Command handlers: load → decide → append for the client stream.

use carelog_domain::intake::{self, IntakeCommand, IntakeContext};
use carelog_domain::types::ClientId;
use carelog_executor::{CommandMeta, Decision, ServiceError, execute};
use carelog_executor::{Committed, aggregate::Client};
use carelog_store::{EventStore, StreamName};

/// Runs an intake command against the client's stream; documentation recorded longer than
/// `late_entry_after` after the fact is labelled a late entry.
pub async fn run(
    store: &dyn EventStore,
    meta: &CommandMeta,
    late_entry_after: chrono::Duration,
    client_id: ClientId,
    command: IntakeCommand,
) -> Result<Committed, ServiceError> {
    let stream = client_stream(client_id)?;
    execute::<Client>(store, &stream, meta, |loaded| {
        let context = IntakeContext::at(meta.now).with_late_entry_after(late_entry_after);
        let decided = intake::decide(&command, &loaded.state, &context);
        let episode = match &command {
            IntakeCommand::OpenEpisode { episode_id, .. } => Some(episode_id.to_string()),
            _ => loaded.state.open_episode().map(|e| e.episode_id.to_string()),
        };
        Box::pin(async move { Ok(Decision::new(decided?).tagged(client_id, episode)) })
    })
    .await
}

pub fn client_stream(client_id: ClientId) -> Result<StreamName, ServiceError> {
    StreamName::new(client_id.stream_name()).map_err(|e| ServiceError::invalid("client_id", e.to_string()))
}
