//! Validation and serialisation of an append, done in the caller's task before it reaches the writer.

use std::collections::HashSet;

use uuid::Uuid;

use crate::error::InvalidInput;
use crate::first_keys::NewClientKey;
use crate::model::{AppendRequest, ExpectedRevision, MAX_EVENT_TYPE_LEN, StreamName};

/// Limits on what one append may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Data plus metadata of one event, as JSON text.
    pub max_event_bytes: usize,
    pub max_events_per_append: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_event_bytes: 1024 * 1024, max_events_per_append: 1000 }
    }
}

/// An event ready to store: its JSON already serialised exactly as it will be stored and hashed.
#[derive(Debug, Clone)]
pub(crate) struct PreparedEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u32,
    pub data: String,
    pub metadata: String,
    /// `metadata.tags.client`, kept in an indexed column.
    pub client_tag: Option<String>,
}

/// A validated append.
#[derive(Debug, Clone)]
pub(crate) struct PreparedAppend {
    pub stream: StreamName,
    pub expected: ExpectedRevision,
    pub events: Vec<PreparedEvent>,
    pub conditions: Vec<(StreamName, ExpectedRevision)>,
    /// First keys of clients, committed with the events or the append fails ([`crate::first_keys`]).
    pub client_keys: Vec<NewClientKey>,
}

impl PreparedAppend {
    pub fn new(request: AppendRequest, limits: &Limits) -> Result<Self, InvalidInput> {
        let AppendRequest { stream, expected, events, conditions } = request;
        if events.is_empty() {
            return Err(InvalidInput::NoEvents);
        }
        if events.len() > limits.max_events_per_append {
            return Err(InvalidInput::TooManyEvents { count: events.len(), max: limits.max_events_per_append });
        }
        let mut seen = HashSet::with_capacity(events.len());
        let mut prepared = Vec::with_capacity(events.len());
        for event in events {
            let event_id = event.event_id;
            if event_id.is_nil() {
                return Err(InvalidInput::NilEventId);
            }
            if !seen.insert(event_id) {
                return Err(InvalidInput::DuplicateEventId { event_id });
            }
            if !is_valid_event_type(&event.event_type) {
                return Err(InvalidInput::EventType { given: event.event_type });
            }
            if event.schema_version == 0 {
                return Err(InvalidInput::SchemaVersion { event_id });
            }
            if !event.data.is_object() {
                return Err(InvalidInput::DataNotObject { event_id, found: json_kind(&event.data) });
            }
            if event.metadata.actor.id.trim().is_empty() {
                return Err(InvalidInput::MissingActor { event_id });
            }
            // serde_json keeps object keys sorted, so equal values serialise to equal text.
            let data = event.data.to_string();
            let metadata = serde_json::to_string(&event.metadata)
                .map_err(|e| InvalidInput::InvalidJson { event_id, reason: e.to_string() })?;
            let size = data.len() + metadata.len();
            if size > limits.max_event_bytes {
                return Err(InvalidInput::EventTooLarge { event_id, size, max: limits.max_event_bytes });
            }
            prepared.push(PreparedEvent {
                client_tag: event.metadata.tags.client.clone(),
                event_id,
                event_type: event.event_type,
                schema_version: event.schema_version,
                data,
                metadata,
            });
        }
        let mut condition_streams = HashSet::new();
        let mut checked = Vec::with_capacity(conditions.len());
        for condition in conditions {
            if condition.stream == stream {
                return Err(InvalidInput::ConditionOnAppendedStream { stream: stream.to_string() });
            }
            if !condition_streams.insert(condition.stream.clone()) {
                return Err(InvalidInput::DuplicateCondition { stream: condition.stream.to_string() });
            }
            checked.push((condition.stream, condition.expected));
        }
        Ok(Self { stream, expected, events: prepared, conditions: checked, client_keys: Vec::new() })
    }
}

impl PreparedAppend {
    pub fn with_keys(mut self, keys: Vec<NewClientKey>) -> Self {
        self.client_keys = keys;
        self
    }
}

pub(crate) fn is_valid_event_type(event_type: &str) -> bool {
    !event_type.is_empty()
        && event_type.len() <= MAX_EVENT_TYPE_LEN
        && event_type.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
