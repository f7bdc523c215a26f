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
