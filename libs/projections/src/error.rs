//! Why a read model could not fold an envelope.

use carelog_domain::{DecodeError, ValidationError};
use carelog_store::Position;

/// A fold failed. The view is left exactly as it was before the failing event, so the caller
/// can stop, report the position and retry after a fix without rebuilding.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// The envelope's `type`, `schema_version` or `data` is not an event this build knows.
    #[error("position {position}: cannot decode {event_type} in {stream}: {source}")]
    Decode {
        position: Position,
        stream: String,
        event_type: String,
        #[source]
        source: DecodeError,
    },
    /// The stream name does not carry the aggregate id its category promises.
    #[error("position {position}: stream {stream} does not name an aggregate id: {source}")]
    StreamId {
        position: Position,
        stream: String,
        #[source]
        source: ValidationError,
    },
    /// `metadata.tags.client` is present but is not a client id.
    #[error("position {position}: tag client {tag:?} is not a client id: {source}")]
    ClientTag {
        position: Position,
        tag: String,
        #[source]
        source: ValidationError,
    },
    /// The event refers to something this client's record has never seen (a session that was
    /// never scheduled, a consent never given). The write side refuses such commands, so this
    /// means a gap or a reordering in the log; failing loudly beats showing an incomplete record.
    #[error("position {position}: {event_type} in {stream} refers to an unknown {entity}")]
    Orphan { position: Position, stream: String, event_type: String, entity: &'static str },
    /// A total would pass the largest amount a view holds. The write side refuses such events
    /// (every account total is checked), so this is a log written before the check, or a bug.
    #[error("position {position}: {event_type} in {stream} takes a money total past the bound")]
    Overflow { position: Position, stream: String, event_type: String },
}
