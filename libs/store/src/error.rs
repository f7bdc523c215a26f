//! Typed errors: a caller can tell bad input from a conflict from an outage and act on each.

use uuid::Uuid;

use crate::model::{ExpectedRevision, Position};

/// Input the store refuses before touching the database. Each names the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidInput {
    #[error("stream: the stream name is empty")]
    EmptyStreamName,
    #[error("stream: the stream name is {len} bytes long, the limit is {max}")]
    StreamNameTooLong { len: usize, max: usize },
    #[error("stream: {name:?} contains {character:?}; use letters, digits and - _ . : $")]
    StreamNameCharacter { name: String, character: char },
    #[error("stream: {name:?} has no category; name streams `{{category}}-{{id}}`")]
    StreamNameCategory { name: String },
    #[error("events: an append needs at least one event")]
    NoEvents,
    #[error("events: {count} events in one append, the limit is {max}")]
    TooManyEvents { count: usize, max: usize },
    #[error("event_id: event ids must not be nil")]
    NilEventId,
    #[error("event_id: {event_id} appears twice in one append")]
    DuplicateEventId { event_id: Uuid },
    #[error("event_type: {given:?} is not a valid event type (1–100 letters, digits, _ or .)")]
    EventType { given: String },
    #[error("schema_version: event {event_id} has schema version 0; versions start at 1")]
    SchemaVersion { event_id: Uuid },
    #[error("data: event {event_id} is not valid JSON: {reason}")]
    InvalidJson { event_id: Uuid, reason: String },
    #[error("data: event {event_id} must be a JSON object, not {found}")]
    DataNotObject { event_id: Uuid, found: &'static str },
    #[error("data: event {event_id} is {size} bytes with its metadata, the limit is {max}")]
    EventTooLarge { event_id: Uuid, size: usize, max: usize },
    #[error("metadata.actor: event {event_id} has no actor id")]
    MissingActor { event_id: Uuid },
    #[error("expected_revision: {given:?} is not one of any, no_stream, stream_exists or a revision number")]
    ExpectedRevision { given: String },
    #[error("conditions: a condition names the appended stream {stream}; use expected_revision instead")]
    ConditionOnAppendedStream { stream: String },
    #[error("conditions: stream {stream} has two conditions")]
    DuplicateCondition { stream: String },
    #[error("query.limit: the limit must be at least 1")]
    ZeroLimit,
}

impl InvalidInput {
    /// The request field at fault, for field violations on the wire.
    pub fn field(&self) -> &'static str {
        match self {
            InvalidInput::EmptyStreamName
            | InvalidInput::StreamNameTooLong { .. }
            | InvalidInput::StreamNameCharacter { .. }
            | InvalidInput::StreamNameCategory { .. } => "stream",
            InvalidInput::NoEvents | InvalidInput::TooManyEvents { .. } => "events",
            InvalidInput::NilEventId | InvalidInput::DuplicateEventId { .. } => "event_id",
            InvalidInput::EventType { .. } => "event_type",
            InvalidInput::SchemaVersion { .. } => "schema_version",
            InvalidInput::InvalidJson { .. }
            | InvalidInput::DataNotObject { .. }
            | InvalidInput::EventTooLarge { .. } => "data",
            InvalidInput::MissingActor { .. } => "metadata.actor",
            InvalidInput::ExpectedRevision { .. } => "expected_revision",
            InvalidInput::ConditionOnAppendedStream { .. } | InvalidInput::DuplicateCondition { .. } => "conditions",
            InvalidInput::ZeroLimit => "limit",
        }
    }
}

/// Everything an event store operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid input: {0}")]
    Invalid(#[from] InvalidInput),
    /// The stream (the appended one or a condition's) is not where the writer expected it. Nothing was stored.
    #[error("conflict on stream {stream}: expected {expected}, actual {}", describe_revision(*actual))]
    Conflict { stream: String, expected: ExpectedRevision, actual: Option<u64> },
    /// An event id is already stored in another stream: ids are unique across the log.
    #[error("event {event_id} is already stored in stream {existing_stream}")]
    EventIdInOtherStream { event_id: Uuid, existing_stream: String },
    /// A retry that does not match what the first attempt stored (other events, data or order).
    #[error("event {event_id} is already stored in stream {stream} but this append differs from it: {detail}")]
    IdempotencyMismatch { event_id: Uuid, stream: String, detail: String },
    /// The database cannot be reached or the writer is gone; the append may be retried with the same event ids.
    #[error("event store unavailable: {0}; check that the database is reachable and retry with the same event ids")]
    Unavailable(String),
    /// A stored row cannot be decoded: see `verify`.
    #[error("stored event at position {position} cannot be read: {reason}")]
    Corrupt { position: Position, reason: String },
    #[error("database error: {0}")]
    Database(String),
    /// The append carried a new data key for a client who already has one (another first append
    /// won the race) or was erased. Nothing was stored: seal again with the stored key and retry.
    #[error("client {client} already has a data key or was erased; nothing was stored")]
    ClientKeyTaken { client: String },
    /// The backend cannot do what was asked without weakening a guarantee (e.g. conditions on KurrentDB).
    #[error("not supported on the {backend} backend: {what}")]
    Unsupported { backend: &'static str, what: String },
}

fn describe_revision(revision: Option<u64>) -> String {
    revision.map_or_else(|| "no stream".to_owned(), |r| r.to_string())
}

impl StoreError {
    /// Whether the error comes from the environment (and a retry may succeed), not from the request.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => StoreError::Unavailable(error.to_string()),
            sqlx::Error::Database(ref db) if is_unavailable_code(db.code().as_deref()) => {
                StoreError::Unavailable(error.to_string())
            }
            other => StoreError::Database(other.to_string()),
        }
    }
}

/// PostgreSQL shutdown/connection classes (08, 57P), too many connections (53300), and a write on a
/// server that is (now) a standby (25006: a failover demoted it; the next connection finds the new
/// primary). (SQLite's busy and locked are mapped where rusqlite's errors are, in `sqlite_reader`.)
fn is_unavailable_code(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || matches!(c, "53300" | "25006"))
}
