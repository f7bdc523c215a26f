//! Every version of one resource, from the events: the resource as it stood right after each
//! event that changed it (its `meta.versionId` is that event's stream revision), so `_history`
//! and vread answer from the log itself rather than from stored copies.

use carelog_domain::types::ClientId;
use carelog_store::RecordedEvent;

use crate::RefStyle;
use crate::bundle::{Resource, resources};
use crate::record::{FhirError, Folder};

/// The versions of `resource_type/id` in the client's events (in log order), oldest first.
/// Resources no event stamps (Practitioner, Provenance, AuditEvent) never change: their one
/// version is the current one. Empty when the record never held the resource.
///
/// # Errors
/// As [`EpisodeRecord::from_events`](crate::EpisodeRecord::from_events).
pub fn versions(
    client: ClientId,
    events: &[RecordedEvent],
    resource_type: &'static str,
    id: &str,
    style: RefStyle,
) -> Result<Vec<Resource>, FhirError> {
    let mut folder = Folder::new(client);
    let mut out = Vec::new();
    let mut seen = 0;
    for event in events {
        folder.apply(event)?;
        let changes = folder.stamps().get(resource_type, id).map_or(0, |s| s.changes);
        if changes > seen {
            seen = changes;
            // Before the registration there is no record to map yet; the first version after it
            // carries the change.
            let Ok(record) = folder.record() else { continue };
            out.extend(resources(&record, style).into_iter().find(|r| r.resource_type == resource_type && r.id == id));
        }
    }
    if seen == 0 {
        let record = folder.record()?;
        out.extend(resources(&record, style).into_iter().find(|r| r.resource_type == resource_type && r.id == id));
    }
    Ok(out)
}

/// Every version of every `resource_type` resource in the client's events (type-level
/// `_history`), in the order they were made: one fold, mapping the record after each event that
/// changed one. Resources no event stamps have their current version only.
///
/// # Errors
/// As [`EpisodeRecord::from_events`](crate::EpisodeRecord::from_events).
pub fn versions_of_type(
    client: ClientId,
    events: &[RecordedEvent],
    resource_type: &'static str,
    style: RefStyle,
) -> Result<Vec<Resource>, FhirError> {
    let mut folder = Folder::new(client);
    let mut seen: std::collections::BTreeMap<String, u32> = std::collections::BTreeMap::new();
    let mut out = Vec::new();
    let mut stamped = false;
    for event in events {
        folder.apply(event)?;
        let changed: Vec<(String, u32)> = folder
            .stamps()
            .changes_of_type(resource_type)
            .filter(|(id, changes)| seen.get(*id).is_none_or(|s| s < changes))
            .map(|(id, changes)| (id.to_owned(), changes))
            .collect();
        if changed.is_empty() {
            continue;
        }
        let Ok(record) = folder.record() else { continue };
        let mapped = resources(&record, style);
        for (id, changes) in changed {
            stamped = true;
            out.extend(mapped.iter().find(|r| r.resource_type == resource_type && r.id == id).cloned());
            seen.insert(id, changes);
        }
    }
    if !stamped && let Ok(record) = folder.record() {
        out.extend(resources(&record, style).into_iter().filter(|r| r.resource_type == resource_type));
    }
    Ok(out)
}
