//! Psychotherapy notes, read straight from their own stream: no read model ever holds their text.

use carelog_domain::sessions::SessionEvent;
use carelog_domain::types::PsychotherapyNoteId;
use carelog_executor::ServiceError;
use carelog_proto::v1 as proto;
use carelog_runtime::parse::to_timestamp;
use carelog_store::{EventStore, StreamName, StreamQuery};
use uuid::Uuid;

use crate::convert::not_found;

/// A note and who may read it.
#[derive(Debug)]
pub struct Note {
    pub author: Uuid,
    pub client_id: String,
    pub reply: proto::PsychotherapyNoteReply,
}

pub async fn psychotherapy_note(store: &dyn EventStore, note_id: PsychotherapyNoteId) -> Result<Note, ServiceError> {
    let stream = StreamName::new(note_id.stream_name()).map_err(|e| ServiceError::invalid("note_id", e.to_string()))?;
    let events = store.read_stream(&stream, StreamQuery::all()).await?;
    let recorded = events.first().ok_or_else(|| not_found("psychotherapy note", &note_id.to_string()))?;
    let decoded = SessionEvent::from_stored(&recorded.event_type, recorded.schema_version, &recorded.data)
        .map_err(|e| ServiceError::Decode(format!("{stream} revision {}: {e}", recorded.revision)))?;
    let SessionEvent::PsychotherapyNoteRecorded(note) = decoded else {
        return Err(ServiceError::Decode(format!("{stream} does not start with PsychotherapyNoteRecorded")));
    };
    let client_id = recorded.metadata.tags.client.clone().unwrap_or_default();
    Ok(Note {
        author: note.author.as_uuid(),
        client_id: client_id.clone(),
        reply: proto::PsychotherapyNoteReply {
            note_id: note.note_id.to_string(),
            session_id: note.session_id.to_string(),
            client_id,
            author_id: note.author.to_string(),
            text: note.text.as_str().to_owned(),
            recorded_at: Some(to_timestamp(note.recorded_at)),
            position: recorded.position.0,
        },
    })
}
