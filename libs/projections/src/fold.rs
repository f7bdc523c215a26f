//! Folding a batch of envelopes into the documents they touch. Pure: the runner loads the
//! documents before and writes them after, in one transaction with the checkpoint.

use std::collections::{BTreeMap, HashMap};

use carelog_store::RecordedEvent;

use crate::persist::{AuditRow, Doc, DocKind};
use crate::{AuditEntry, EpisodeView, LedgerView, ProjectionError};

/// The documents a batch touches, keyed by (kind, key).
pub fn touched(events: &[RecordedEvent]) -> BTreeMap<DocKind, Vec<String>> {
    let mut keys: BTreeMap<DocKind, Vec<String>> = BTreeMap::new();
    for event in events {
        for (kind, key) in routes(event) {
            let list = keys.entry(kind).or_default();
            if !list.contains(&key) {
                list.push(key);
            }
        }
    }
    keys
}

/// Which documents an event changes: its client's episode view, and an account's ledger.
fn routes(event: &RecordedEvent) -> Vec<(DocKind, String)> {
    let mut routes = Vec::new();
    if let Some(client) = &event.metadata.tags.client {
        routes.push((DocKind::Episode, client.clone()));
    }
    if event.category() == "account" {
        routes.push((DocKind::Ledger, event.stream.to_string()));
    }
    routes
}

/// Folds `events` into the `loaded` documents (missing ones start empty) and returns every changed
/// document plus one audit row per event.
pub fn fold(
    loaded: HashMap<(DocKind, String), serde_json::Value>,
    events: &[RecordedEvent],
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
        for (kind, key) in routes(event) {
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
