//! What every event records besides its payload: who caused it, when, why, in answer to which
//! command, and the tags that let read models and auditors find it without decoding it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Who caused an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub id: String,
    pub role: String,
    /// The display name the caller's token gave (e.g. "Dr. Ana Ruiz"), so auditors read names, not
    /// ids. Absent on events recorded before names were kept, and for callers whose token has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Actor {
    /// An actor known by id and role only.
    pub fn new(id: impl Into<String>, role: impl Into<String>) -> Self {
        Self { id: id.into(), role: role.into(), name: None }
    }
}

/// Tags that let read models and auditors find an event without decoding it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tags {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episode: Option<String>,
}

/// Who, when, why and in answer to what: recorded with every event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    pub actor: Actor,
    /// Clinical time: when it happened (may be in the past for late entries).
    pub occurred_at: DateTime<Utc>,
    pub correlation_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub tags: Tags,
    /// The client command that produced the event, when it came from one: lets a retry be told
    /// apart from a different command reusing the same id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandRef>,
}

/// A client command: its idempotency id and a fingerprint of its payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRef {
    pub id: Uuid,
    /// Hex SHA-256 of the request without its context.
    pub fingerprint: String,
}

impl Metadata {
    /// Metadata for an event caused by `actor` now, starting a new correlation.
    pub fn by(actor: Actor, occurred_at: DateTime<Utc>) -> Self {
        Self {
            actor,
            occurred_at,
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            trace_id: None,
            reason: None,
            tags: Tags::default(),
            command: None,
        }
    }
}
