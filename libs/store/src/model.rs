//! The envelope types every backend stores and returns. The store knows envelopes, never clinical event types.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::InvalidInput;
pub use crate::metadata::{Actor, CommandRef, Metadata, Tags};

/// Longest stream name accepted (`{category}-{uuid}` is 40–50 characters).
pub const MAX_STREAM_NAME_LEN: usize = 200;
/// Longest event type name accepted.
pub const MAX_EVENT_TYPE_LEN: usize = 100;

/// A validated stream name: `{category}-{id}`, printable ASCII without spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StreamName(String);

impl StreamName {
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidInput> {
        let name = name.into();
        if name.is_empty() {
            return Err(InvalidInput::EmptyStreamName);
        }
        if name.len() > MAX_STREAM_NAME_LEN {
            return Err(InvalidInput::StreamNameTooLong { len: name.len(), max: MAX_STREAM_NAME_LEN });
        }
        if let Some(bad) = name.chars().find(|c| !is_name_char(*c)) {
            return Err(InvalidInput::StreamNameCharacter { name, character: bad });
        }
        if name.starts_with('-') {
            return Err(InvalidInput::StreamNameCategory { name });
        }
        Ok(Self(name))
    }

    /// The part before the first `-`: `client` for `client-0193…`.
    pub fn category(&self) -> &str {
        category_of(&self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The category of a stream name: the part before the first `-`.
pub(crate) fn category_of(stream: &str) -> &str {
    stream.split_once('-').map_or(stream, |(category, _)| category)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '$')
}

impl TryFrom<String> for StreamName {
    type Error = InvalidInput;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<StreamName> for String {
    fn from(value: StreamName) -> Self {
        value.0
    }
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A place in the global log. Events are numbered from 1 in commit order without gaps;
/// `Position::START` (0) means "before the first event" and is the checkpoint of a new subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct Position(pub u64);

impl Position {
    pub const START: Position = Position(0);

    pub fn next(self) -> Position {
        Position(self.0 + 1)
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What the writer believes about a stream before appending (optimistic concurrency).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExpectedRevision {
    /// No check.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must have at least one event.
    StreamExists,
    /// The stream's last event must have this revision (0-based).
    Exact(u64),
}

impl ExpectedRevision {
    /// Whether a stream whose last revision is `actual` (None: no stream) satisfies this expectation.
    pub fn admits(self, actual: Option<u64>) -> bool {
        match (self, actual) {
            (ExpectedRevision::Any, _) => true,
            (ExpectedRevision::NoStream, None) => true,
            (ExpectedRevision::StreamExists, Some(_)) => true,
            (ExpectedRevision::Exact(want), Some(have)) => want == have,
            _ => false,
        }
    }
}

impl fmt::Display for ExpectedRevision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedRevision::Any => f.write_str("any"),
            ExpectedRevision::NoStream => f.write_str("no_stream"),
            ExpectedRevision::StreamExists => f.write_str("stream_exists"),
            ExpectedRevision::Exact(revision) => revision.fmt(f),
        }
    }
}

/// Parses the wire/CLI spelling: `any`, `no_stream`, `stream_exists` or a revision number.
impl FromStr for ExpectedRevision {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "any" => Ok(ExpectedRevision::Any),
            "no_stream" => Ok(ExpectedRevision::NoStream),
            "stream_exists" => Ok(ExpectedRevision::StreamExists),
            other => other
                .parse::<u64>()
                .map(ExpectedRevision::Exact)
                .map_err(|_| InvalidInput::ExpectedRevision { given: s.to_owned() }),
        }
    }
}

/// An event to append; `data` must be a JSON object.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Unique in the whole log; re-appending the same id to the same stream is a no-op.
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u32,
    pub data: serde_json::Value,
    pub metadata: Metadata,
}

impl NewEvent {
    /// Builds an event from JSON text, rejecting text that is not a JSON object.
    pub fn from_json_text(
        event_id: Uuid,
        event_type: impl Into<String>,
        schema_version: u32,
        data: &str,
        metadata: Metadata,
    ) -> Result<Self, InvalidInput> {
        let data =
            serde_json::from_str(data).map_err(|e| InvalidInput::InvalidJson { event_id, reason: e.to_string() })?;
        Ok(Self { event_id, event_type: event_type.into(), schema_version, data, metadata })
    }
}

/// "Stream X is still at revision R": checked in the same transaction as the append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub stream: StreamName,
    pub expected: ExpectedRevision,
}

/// One atomic append to one stream, optionally guarded by conditions on other streams.
#[derive(Debug, Clone, PartialEq)]
pub struct AppendRequest {
    pub stream: StreamName,
    pub expected: ExpectedRevision,
    pub events: Vec<NewEvent>,
    pub conditions: Vec<Condition>,
}

impl AppendRequest {
    pub fn new(stream: StreamName, expected: ExpectedRevision, events: Vec<NewEvent>) -> Self {
        Self { stream, expected, events, conditions: Vec::new() }
    }

    pub fn with_condition(mut self, stream: StreamName, expected: ExpectedRevision) -> Self {
        self.conditions.push(Condition { stream, expected });
        self
    }
}

/// Where an append landed. For a replayed (idempotent) append, where it landed the first time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendResult {
    pub first_revision: u64,
    /// The stream's revision after this append: pass it as `Exact` to append next.
    pub last_revision: u64,
    pub first_position: Position,
    pub last_position: Position,
    /// True when every event was already stored and nothing new was written.
    pub already_stored: bool,
}

/// A SHA-256 link of a stream's hash chain.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EventHash(pub [u8; 32]);

impl EventHash {
    /// The `prev_hash` of a stream's first event.
    pub const GENESIS: EventHash = EventHash([0; 32]);

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(EventHash)
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for EventHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventHash({})", self.to_hex())
    }
}

/// An event as stored: the full envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    pub event_id: Uuid,
    pub stream: StreamName,
    pub revision: u64,
    pub position: Position,
    pub event_type: String,
    pub schema_version: u32,
    pub data: serde_json::Value,
    pub metadata: Metadata,
    /// Store time, truncated to microseconds; never decreases along the log.
    pub recorded_at: DateTime<Utc>,
    pub prev_hash: EventHash,
    pub hash: EventHash,
}

impl RecordedEvent {
    pub fn category(&self) -> &str {
        self.stream.category()
    }
}

/// Where to start reading a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadFrom {
    Start,
    End,
    Revision(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
}

/// How to read one stream: from a revision (inclusive), in a direction, at most `limit` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamQuery {
    pub from: ReadFrom,
    pub direction: Direction,
    pub limit: usize,
}

impl StreamQuery {
    /// The whole stream, oldest first.
    pub fn all() -> Self {
        Self { from: ReadFrom::Start, direction: Direction::Forward, limit: usize::MAX }
    }

    pub fn forward_from(revision: u64, limit: usize) -> Self {
        Self { from: ReadFrom::Revision(revision), direction: Direction::Forward, limit }
    }

    pub fn backward_from(from: ReadFrom, limit: usize) -> Self {
        Self { from, direction: Direction::Backward, limit }
    }
}

/// Which events of the log a reader wants; empty lists mean "all".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    pub categories: Vec<String>,
    pub event_types: Vec<String>,
}

impl LogFilter {
    pub fn all() -> Self {
        Self::default()
    }

    pub fn categories<I: IntoIterator<Item = S>, S: Into<String>>(categories: I) -> Self {
        Self { categories: categories.into_iter().map(Into::into).collect(), event_types: Vec::new() }
    }

    pub fn event_types<I: IntoIterator<Item = S>, S: Into<String>>(types: I) -> Self {
        Self { categories: Vec::new(), event_types: types.into_iter().map(Into::into).collect() }
    }

    pub fn matches(&self, event: &RecordedEvent) -> bool {
        (self.categories.is_empty() || self.categories.iter().any(|c| c == event.category()))
            && (self.event_types.is_empty() || self.event_types.contains(&event.event_type))
    }
}

/// A forward read of the global log: positions `from..=up_to` (inclusive), filtered, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    pub from: Position,
    pub up_to: Option<Position>,
    pub filter: LogFilter,
    pub limit: usize,
}

impl LogQuery {
    pub fn from(from: Position, limit: usize) -> Self {
        Self { from, up_to: None, filter: LogFilter::all(), limit }
    }

    pub fn filtered(mut self, filter: LogFilter) -> Self {
        self.filter = filter;
        self
    }
}

/// What a subscription yields: events in log order, and a marker each time it has caught up with the head.
#[derive(Debug, Clone, PartialEq)]
pub enum SubscriptionItem {
    Event(Box<RecordedEvent>),
    /// Every matching event up to this position has been delivered: a safe checkpoint even when
    /// the filter skipped the events just before it. The subscription now waits for new commits.
    CaughtUp(Position),
}
