//! Everything a command carries besides its payload, validated: who, when, why, and which command
//! (so a retry is recognised). Parsed from the wire by the runtime (`carelog_runtime::command_context`).

use std::sync::Arc;

use carelog_store::{Actor, CommandRef, Metadata, Tags};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::{FieldViolation, ServiceError};
use crate::reach::ClientReach;

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
    /// How far the caller reaches (what the policy granted them); `None` for commands a trusted
    /// process runs itself.
    pub reach: Option<Arc<dyn ClientReach>>,
    /// The client a command that starts a new stream is for, so the caller's reach is checked
    /// before the decision (which could otherwise reveal facts about another clinician's client).
    pub client_hint: Option<Uuid>,
    /// The command normally starts its stream (a registration): the first attempt decides on an
    /// empty stream without reading it. If the stream exists after all, the append conflicts and
    /// the next attempt reads it, as for any other race.
    pub expects_new_stream: bool,
}

impl CommandMeta {
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

    pub(crate) fn metadata(&self, tags: &Tags) -> Metadata {
        Metadata {
            actor: self.actor.clone(),
            occurred_at: self.occurred_at,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            trace_id: crate::command_telemetry::current_trace_id(),
            reason: self.reason.clone(),
            tags: tags.clone(),
            command: self.fingerprint.clone().map(|fingerprint| CommandRef { id: self.command_id, fingerprint }),
        }
    }
}
