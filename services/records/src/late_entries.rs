//! The late-entry marker on audit-trail entries. The audit read model keeps each event's envelope
//! (who, when, why) but no event data; the CMS late-entry label lives in the data of the four
//! documentation events, so it is read from the event itself — one read per documentation entry
//! on the page, none for any other entry.

use carelog_executor::ServiceError;
use carelog_proto::v1 as proto;
use carelog_store::{EventStore, StreamName, StreamQuery};

/// Event types that carry a `late_entry` label (from their version 2 on).
const LABELLED: &[&str] = &["ProgressNoteSigned", "NoteAddendumAppended", "SessionHeld", "AssessmentRecorded"];

/// Sets `late_entry` on each entry whose event was labelled a late entry.
pub async fn mark(store: &dyn EventStore, entries: &mut [proto::AuditEntry]) -> Result<(), ServiceError> {
    for entry in entries.iter_mut().filter(|e| LABELLED.contains(&e.event_type.as_str())) {
        let Ok(stream) = StreamName::new(entry.stream.clone()) else { continue };
        let events = store.read_stream(&stream, StreamQuery::forward_from(entry.revision, 1)).await?;
        let Some(label) = events.first().and_then(|e| e.data.get("late_entry")).filter(|l| !l.is_null()) else {
            continue;
        };
        let typed = carelog_proto::typed::from_json(label).map_err(|e| ServiceError::Decode(e.to_string()))?;
        entry.late_entry = Some(typed);
    }
    Ok(())
}
