//! The audit index: who did what to which record, when and why, for every event in the log.

use carelog_domain::access::RecordAccessed;
use carelog_store::{Position, RecordedEvent};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Event types whose reason stays readable after their client's erasure: the vault never seals
/// them (their reasons must hold no PHI), so a rebuild reads them in clear too.
pub(crate) const REASONS_KEPT_AFTER_ERASURE: &[&str] = &["LegalHoldPlaced", "LegalHoldReleased", "ClientErased"];

/// One line of the audit trail, taken from an envelope's metadata alone. It deliberately has no
/// field for the event's data: the audit index is read by auditors and connectors who must see
/// the trail without the PHI in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub position: Position,
    pub event_id: Uuid,
    pub stream: String,
    pub revision: u64,
    pub event_type: String,
    pub actor_id: String,
    pub actor_role: String,
    /// The display name the actor's token gave, if any.
    pub actor_name: Option<String>,
    /// Clinical time (may be earlier than `recorded_at` for a late entry).
    pub occurred_at: DateTime<Utc>,
    /// Store time.
    pub recorded_at: DateTime<Utc>,
    pub reason: Option<String>,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    /// The W3C trace the command ran in: ties the entry to the call that caused it.
    pub trace_id: Option<String>,
    /// The client the event is about (`tags.client`).
    pub client: Option<String>,
    /// The episode the event is about (`tags.episode`).
    pub episode: Option<String>,
    /// For an access-log entry: which RPC, for what purpose, with what outcome.
    pub access: Option<AccessFacts>,
}

/// What an access-log entry (`RecordAccessed`) says about the access, beyond its envelope: three
/// administrative fields of its data (never the detail of what was read).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessFacts {
    pub rpc: Option<String>,
    pub purpose_of_use: Option<String>,
    pub outcome: Option<String>,
}

impl AccessFacts {
    /// The facts as stored in three columns: none when every one is empty (not an access entry).
    pub fn from_columns(rpc: Option<String>, purpose_of_use: Option<String>, outcome: Option<String>) -> Option<Self> {
        let facts = Self { rpc, purpose_of_use, outcome };
        (facts != Self::default()).then_some(facts)
    }

    /// The facts of an access-log entry, read through the domain's own type; `None` for any
    /// other event (and for an entry that is not one, which the gate never writes).
    fn of(event: &RecordedEvent) -> Option<Self> {
        if event.event_type != RecordAccessed::EVENT_TYPE {
            return None;
        }
        let entry = RecordAccessed::from_stored(&event.event_type, event.schema_version, &event.data).ok()?;
        Some(Self {
            rpc: Some(entry.rpc),
            purpose_of_use: Some(entry.purpose_of_use.code().to_owned()),
            outcome: Some(entry.outcome.as_str().to_owned()),
        })
    }
}

impl AuditEntry {
    /// The audit line of any envelope, whatever its category (including `access`).
    pub fn from_event(event: &RecordedEvent) -> Self {
        let m = &event.metadata;
        Self {
            position: event.position,
            event_id: event.event_id,
            stream: event.stream.to_string(),
            revision: event.revision,
            event_type: event.event_type.clone(),
            actor_id: m.actor.id.clone(),
            actor_role: m.actor.role.clone(),
            actor_name: m.actor.name.clone(),
            occurred_at: m.occurred_at,
            recorded_at: event.recorded_at,
            reason: m.reason.clone(),
            correlation_id: m.correlation_id,
            causation_id: m.causation_id,
            trace_id: m.trace_id.clone(),
            client: m.tags.client.clone(),
            episode: m.tags.episode.clone(),
            access: AccessFacts::of(event),
        }
    }
}

impl From<&RecordedEvent> for AuditEntry {
    fn from(event: &RecordedEvent) -> Self {
        Self::from_event(event)
    }
}

#[cfg(test)]
mod tests {
    use carelog_domain::intake::{ConsentRevoked, IntakeEvent};
    use carelog_domain::types::{ClientId, ConsentId, EpisodeId};

    use super::*;
    use crate::testing::*;

    #[test]
    fn an_audit_entry_carries_who_what_when_why_and_no_event_data() {
        let (client, episode) = (ClientId::new_v7(), EpisodeId::new_v4());
        let mut log = Log::default();
        let revoked = ConsentRevoked {
            consent_id: ConsentId::new_v4(),
            reason: reason("Moving to another state"),
            revoked_at: at(3, 9),
        };
        let mut event = log.append::<IntakeEvent>(&client.stream_name(), Some(client), Some(episode), revoked);
        event.metadata.reason = Some("client request by phone".to_owned());
        event.metadata.causation_id = Some(Uuid::now_v7());

        let entry = AuditEntry::from_event(&event);

        assert_eq!((entry.position, entry.revision, entry.event_id), (event.position, 0, event.event_id));
        assert_eq!((entry.stream.as_str(), entry.event_type.as_str()), (event.stream.as_str(), "ConsentRevoked"));
        assert_eq!((entry.actor_id.as_str(), entry.actor_role.as_str()), ("clinician-7", "clinician"));
        assert_eq!((entry.occurred_at, entry.recorded_at), (event.metadata.occurred_at, event.recorded_at));
        assert_eq!(entry.reason.as_deref(), Some("client request by phone"));
        assert_eq!(
            (entry.correlation_id, entry.causation_id),
            (event.metadata.correlation_id, event.metadata.causation_id)
        );
        assert_eq!(entry.trace_id, event.metadata.trace_id);
        assert_eq!(
            (entry.client.clone(), entry.episode.clone()),
            (Some(client.to_string()), Some(episode.to_string()))
        );
        let json = serde_json::to_string(&entry).expect("serializes");
        assert!(!json.contains("Moving to another state"), "event data leaked into the audit index: {json}");
    }
}
