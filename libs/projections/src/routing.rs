//! Where an event goes: the documents it changes (its client's episode, its account's ledger, and
//! for an erasure every ledger the client owns) and its row in the audit trail. Pure functions of
//! one event, kept apart from the fold's in-memory bookkeeping because the runner and the live
//! commit pacing ask the same questions before folding (which clients' ledgers to load, whether a
//! batch changes any document). This changes when a stream category or event type starts or stops
//! touching a document, or the audit row gains a column.

use carelog_store::RecordedEvent;

use crate::AuditEntry;
use crate::persist::AuditRow;

/// The episode view an event changes: its client's. A read of the record (an `access` event) is
/// in the audit trail, but changes no document.
pub(crate) fn episode_key(event: &RecordedEvent) -> Option<&str> {
    event.metadata.tags.client.as_deref().filter(|_| event.category() != "access")
}

/// The ledger an event changes: its account's.
pub(crate) fn ledger_key(event: &RecordedEvent) -> Option<&str> {
    (event.category() == "account").then(|| event.stream.as_str())
}

/// Whether any of `events` changes a document (all others only add audit rows, such as the reads
/// the access log records).
pub fn changes_documents(events: &[RecordedEvent]) -> bool {
    events.iter().any(|event| episode_key(event).is_some() || ledger_key(event).is_some() || is_erasure(event))
}

/// The clients whose erasure `events` record. Their ledgers are not named by the event: the
/// runner loads the stored ledgers each one owns before folding.
pub fn erased_clients(events: &[RecordedEvent]) -> Vec<String> {
    let mut clients: Vec<String> = Vec::new();
    for event in events.iter().filter(|e| is_erasure(e)) {
        if let Some(client) = &event.metadata.tags.client
            && !clients.contains(client)
        {
            clients.push(client.clone());
        }
    }
    clients
}

pub(crate) fn is_erasure(event: &RecordedEvent) -> bool {
    event.category() == "client" && event.event_type == "ClientErased"
}

pub(crate) fn audit_row(event: &RecordedEvent) -> AuditRow {
    let entry = AuditEntry::from_event(event);
    AuditRow {
        position: entry.position.0,
        client: entry.client,
        stream: entry.stream,
        revision: entry.revision,
        event_type: entry.event_type,
        actor_id: entry.actor_id,
        actor_role: entry.actor_role,
        actor_name: entry.actor_name,
        occurred_at: entry.occurred_at,
        recorded_at: entry.recorded_at,
        reason: entry.reason,
        correlation_id: entry.correlation_id.to_string(),
        causation_id: entry.causation_id.map(|c| c.to_string()),
        access: entry.access,
    }
}
