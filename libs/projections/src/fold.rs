//! Folding a batch of envelopes into the documents they touch. Pure: the runner loads the
//! documents before and writes them after, in one transaction with the checkpoint.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use carelog_store::RecordedEvent;

use crate::persist::{AuditRow, Doc, DocKind};
use crate::{AuditEntry, EpisodeView, LedgerView, ProjectionError};

/// The documents a batch touches, keyed by (kind, key).
pub fn touched(events: &[RecordedEvent]) -> BTreeMap<DocKind, Vec<String>> {
    let mut keys: BTreeMap<DocKind, Vec<String>> = BTreeMap::new();
    for event in events {
        for (kind, key) in routes(event, &Owned::new()) {
            let list = keys.entry(kind).or_default();
            if !list.contains(&key) {
                list.push(key);
            }
        }
    }
    keys
}

/// The clients whose erasure the batch records. Their ledgers are not named by the event: the
/// runner asks the persist layer which ledgers each one owns and passes them to [`fold`].
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

fn is_erasure(event: &RecordedEvent) -> bool {
    event.category() == "client" && event.event_type == "ClientErased"
}

/// Ledger keys per owning client: those stored before the batch (from the persist layer) and
/// those the batch itself opened.
pub type Owned = BTreeMap<String, BTreeSet<String>>;

/// Which documents an event changes: its client's episode view, and an account's ledger; a
/// client's erasure also changes every ledger the client owns.
fn routes(event: &RecordedEvent, owned: &Owned) -> Vec<(DocKind, String)> {
    let mut routes = Vec::new();
    // A read of the record (an `access` event) is in the audit trail, but changes no document.
    if let Some(client) = &event.metadata.tags.client
        && event.category() != "access"
    {
        routes.push((DocKind::Episode, client.clone()));
    }
    if event.category() == "account" {
        routes.push((DocKind::Ledger, event.stream.to_string()));
    }
    if is_erasure(event)
        && let Some(ledgers) = event.metadata.tags.client.as_ref().and_then(|client| owned.get(client))
    {
        routes.extend(ledgers.iter().map(|key| (DocKind::Ledger, key.clone())));
    }
    routes
}

/// Folds `events` into the `loaded` documents (missing ones start empty) and returns every changed
/// document plus one audit row per event. `owned` lists the stored ledgers of each client in
/// [`erased_clients`] (their documents are in `loaded`).
pub fn fold(
    loaded: HashMap<(DocKind, String), serde_json::Value>,
    events: &[RecordedEvent],
    mut owned: Owned,
) -> Result<(Vec<Doc>, Vec<AuditRow>), ProjectionError> {
    let mut episodes: BTreeMap<String, EpisodeView> = BTreeMap::new();
    let mut ledgers: BTreeMap<String, (LedgerView, Option<String>)> = BTreeMap::new();
    let mut positions: BTreeMap<(DocKind, String), u64> = BTreeMap::new();
    let decode = |kind: DocKind, key: &str| -> Result<Option<serde_json::Value>, ProjectionError> {
        Ok(loaded.get(&(kind, key.to_owned())).cloned())
    };
    let mut audit = Vec::with_capacity(events.len());
    for event in events {
        let unfoldable = |reason: String| ProjectionError::Unfoldable { position: event.position.0, reason };
        if event.category() == "account"
            && let Some(client) = &event.metadata.tags.client
        {
            owned.entry(client.clone()).or_default().insert(event.stream.to_string());
        }
        for (kind, key) in routes(event, &owned) {
            match kind {
                DocKind::Episode => {
                    if !episodes.contains_key(&key) {
                        let view = match decode(kind, &key)? {
                            Some(doc) => serde_json::from_value(doc).map_err(|e| corrupt(&key, e))?,
                            None => EpisodeView::default(),
                        };
                        episodes.insert(key.clone(), view);
                    }
                    if let Some(view) = episodes.get_mut(&key) {
                        view.apply(event).map_err(|e| unfoldable(e.to_string()))?;
                    }
                }
                DocKind::Ledger => {
                    if !ledgers.contains_key(&key) {
                        let view = match decode(kind, &key)? {
                            Some(doc) => serde_json::from_value(doc).map_err(|e| corrupt(&key, e))?,
                            None => LedgerView::default(),
                        };
                        ledgers.insert(key.clone(), (view, None));
                    }
                    if let Some((view, owner)) = ledgers.get_mut(&key) {
                        view.apply(event).map_err(|e| unfoldable(e.to_string()))?;
                        if owner.is_none() {
                            owner.clone_from(&event.metadata.tags.client);
                        }
                    }
                }
            }
            positions.insert((kind, key), event.position.0);
        }
        audit.push(audit_row(event));
    }
    let mut docs = Vec::with_capacity(episodes.len() + ledgers.len());
    for (key, view) in episodes {
        let position = positions.get(&(DocKind::Episode, key.clone())).copied().unwrap_or_default();
        let owner = view.assigned_clinician().map(|c| c.to_string());
        let body = serde_json::to_value(&view).map_err(|e| corrupt(&key, e))?;
        docs.push(Doc { kind: DocKind::Episode, key, owner, body, position });
    }
    for (key, (view, owner)) in ledgers {
        let position = positions.get(&(DocKind::Ledger, key.clone())).copied().unwrap_or_default();
        let body = serde_json::to_value(&view).map_err(|e| corrupt(&key, e))?;
        docs.push(Doc { kind: DocKind::Ledger, key, owner, body, position });
    }
    Ok((docs, audit))
}

fn corrupt(key: &str, error: serde_json::Error) -> ProjectionError {
    ProjectionError::Corrupt(format!("document {key}: {error}"))
}

fn audit_row(event: &RecordedEvent) -> AuditRow {
    let entry = AuditEntry::from_event(event);
    AuditRow {
        position: entry.position.0,
        client: entry.client,
        stream: entry.stream,
        revision: entry.revision,
        event_type: entry.event_type,
        actor_id: entry.actor_id,
        actor_role: entry.actor_role,
        occurred_at: entry.occurred_at,
        recorded_at: entry.recorded_at,
        reason: entry.reason,
        correlation_id: entry.correlation_id.to_string(),
        causation_id: entry.causation_id.map(|c| c.to_string()),
    }
}

#[cfg(test)]
#[path = "fold_tests.rs"]
mod tests;
