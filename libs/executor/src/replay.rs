//! Idempotent replay: a command id that already ran gets what its first run committed, found by
//! the event ids the command id determines.

use carelog_store::{EventStore, StreamName};

use crate::command_meta::CommandMeta;
use crate::error::ServiceError;
use crate::execute::Committed;

/// What this command's first run committed, if its events are stored; the same id used for a
/// different command (another stream, another payload) is refused.
pub(crate) async fn first_run(
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
