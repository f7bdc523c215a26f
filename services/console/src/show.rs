//! Values as a reader says them: times in UTC without the `T`, enum values in words, event types
//! as phrases, actors by name (or role and the random tail of their id). Pure.

use chrono::{DateTime, Utc};

/// How every page prints a time: `2026-11-21 09:30:05 UTC` (the as-of field takes it back).
pub const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S UTC";

/// A protobuf time as a reader says it; empty when unset or out of range.
pub fn timestamp(t: &prost_types::Timestamp) -> String {
    DateTime::<Utc>::from_timestamp(t.seconds, t.nanos.max(0) as u32)
        .map(|t| t.format(TIME_FORMAT).to_string())
        .unwrap_or_default()
}

/// An optional time, as [`timestamp`].
pub fn time(t: &Option<prost_types::Timestamp>) -> String {
    t.as_ref().map(timestamp).unwrap_or_default()
}

/// The same time for machines (CSV): RFC 3339 with milliseconds.
pub fn rfc3339(t: &Option<prost_types::Timestamp>) -> String {
    t.as_ref()
        .and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, t.nanos.max(0) as u32))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// An enum value's name as a reader says it: `SESSION_STATUS_NO_SHOW` → `no show`.
pub fn label(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).replace('_', " ").to_lowercase()
}

/// An event type as a phrase: `NoteAddendumAppended` → `Note addendum appended`.
pub fn event(event_type: &str) -> String {
    let words = carelog_proto::typed::snake_case(event_type).replace('_', " ");
    let mut chars = words.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The distinguishing part of an id: the last 8 characters (UUIDv7 ids minted in the same
/// second share their first 8, so a prefix would make different people look alike).
pub fn short_id(id: &str) -> &str {
    id.get(id.len().saturating_sub(8)..).unwrap_or(id)
}

/// Who acted: their display name with role and short id (two people may share a name), or the
/// role and short id alone when no name was recorded.
pub fn actor(name: &str, role: &str, id: &str) -> String {
    let role = if role.is_empty() { "unknown role" } else { role };
    let who = if id.is_empty() { role.to_owned() } else { format!("{role} …{}", short_id(id)) };
    match name.trim() {
        "" => who,
        name => format!("{name} ({who})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_enums_and_event_types_read_as_words() {
        let t = prost_types::Timestamp { seconds: 1_795_253_405, nanos: 0 };
        assert_eq!(timestamp(&t), "2026-11-21 09:30:05 UTC");
        assert_eq!(rfc3339(&Some(t)), "2026-11-21T09:30:05.000Z");
        assert_eq!(time(&None), "");
        assert_eq!(timestamp(&prost_types::Timestamp { seconds: i64::MAX, nanos: 0 }), "");
        assert_eq!(label("SESSION_STATUS_NO_SHOW", "SESSION_STATUS_"), "no show");
        assert_eq!(event("NoteAddendumAppended"), "Note addendum appended");
        assert_eq!(event("RecordAccessed"), "Record accessed");
    }

    #[test]
    fn actors_by_name_or_role_and_the_random_tail_of_their_id() {
        let (a, b) = ("019b0c3e-1111-7000-8000-00000000aaaa", "019b0c3e-1111-7000-8000-00000000bbbb");
        assert_eq!(actor("Dr. Ada Osei", "clinician", a), "Dr. Ada Osei (clinician …0000aaaa)");
        assert_eq!(actor("", "clinician", a), "clinician …0000aaaa");
        assert_ne!(actor("", "clinician", a), actor("", "clinician", b));
        assert_eq!(actor(" ", "", ""), "unknown role");
    }
}
