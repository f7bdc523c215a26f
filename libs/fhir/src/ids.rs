//! Resource ids that stay the same across exports. Most resources use the domain's UUID; where a
//! resource has none of its own (a diagnosis, the note of a session, a Provenance), the id is a
//! UUIDv5 of what identifies it, so re-exporting never mints a new id.
//!
//! Bundle `fullUrl`s are `urn:uuid:{id}` whatever the type, so ids must be unique across types:
//! the domain's ids are random UUIDs, and derived ids hash a type-specific name.

use carelog_domain::types::{ClientId, SessionId};
use uuid::Uuid;

/// The namespace of every derived id (a v5 of the URL naming this mapping).
fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://carelog.dev/fhir/r4/ids")
}

fn derived(name: &str) -> String {
    Uuid::new_v5(&namespace(), name.as_bytes()).to_string()
}

/// A diagnosis is identified by its place in the client's list: a recoded diagnosis keeps its
/// place (claims point into that order), so the Condition keeps its id across recodes.
pub fn condition(client: ClientId, index: usize) -> String {
    derived(&format!("Condition/{client}/{index}"))
}

/// The progress note of a session (a session has at most one).
pub fn progress_note(session: SessionId) -> String {
    derived(&format!("DocumentReference/progress-note/{session}"))
}

/// The Provenance of one version of a resource.
pub fn provenance(resource_type: &str, id: &str, version: &str) -> String {
    derived(&format!("Provenance/{resource_type}/{id}/{version}"))
}

/// An export of a client's record at a log position.
pub fn bundle(client: ClientId, position: u64) -> String {
    derived(&format!("Bundle/{client}/{position}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        let (client, session) = (ClientId::new_v7(), SessionId::new_v7());
        assert_eq!(condition(client, 0), condition(client, 0));
        assert_ne!(condition(client, 0), condition(client, 1));
        assert_ne!(progress_note(session), session.to_string());
        assert_ne!(provenance("Goal", "a", "1"), provenance("Goal", "a", "2"));
    }
}
