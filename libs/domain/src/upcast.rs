//! Stored event schemas over the years: each event type's current schema version, and the
//! upcasters that bring data stored under an older version to the current shape before it is
//! decoded. Events are never rewritten in the log; they are read forward.
//!
//! Changing how an event type is encoded means: bump its version in [`CURRENT`], add the step
//! from the old version in [`step`], and commit a golden fixture of the new version beside the
//! old one (`fixtures/events/`); `tests/golden.rs` decodes every fixture forever and fails when a
//! current version's encoding changes without a new version.

use std::borrow::Cow;

use serde_json::Value;

use crate::error::DecodeError;

/// Event types whose schema has moved past version 1, with their current version.
const CURRENT: &[(&str, u32)] = &[
    // v2: replacements and voids carry the payer's claim number of the original claim.
    // v3: the first and last service date of the claim's charges.
    ("ClaimSubmitted", 3),
    // v2: the date of the service a payment is for.
    ("PaymentReceived", 2),
    // v2: a note signed past the practice's threshold is labelled a late entry.
    ("ProgressNoteSigned", 2),
    // v2: recorded past the practice's threshold, each is labelled a late entry.
    ("SessionHeld", 2),
    ("NoteAddendumAppended", 2),
    ("AssessmentRecorded", 2),
    // v2: a self-pay service scheduled with no Good Faith Estimate covering it says when one is due.
    ("SessionScheduled", 2),
];

/// The version this code writes for `event_type`.
pub fn current_version(event_type: &str) -> u32 {
    CURRENT.iter().find(|(t, _)| *t == event_type).map_or(1, |(_, v)| *v)
}

/// `data` stored as `event_type` at `version`, brought to the current version step by step
/// (borrowed as it is when already current: the common case costs no copy).
pub fn upcast<'a>(event_type: &str, version: u32, data: &'a Value) -> Result<Cow<'a, Value>, DecodeError> {
    let current = current_version(event_type);
    if version == 0 || version > current {
        return Err(DecodeError::UnsupportedVersion { event_type: event_type.to_owned(), version });
    }
    if version == current {
        return Ok(Cow::Borrowed(data));
    }
    let mut data = data.clone();
    for from in version..current {
        data = step(event_type, from, data)?;
    }
    Ok(Cow::Owned(data))
}

/// One step: `event_type` data at version `from` → `from + 1`.
fn step(event_type: &str, from: u32, data: Value) -> Result<Value, DecodeError> {
    match (event_type, from) {
        ("ClaimSubmitted", 1) => unknown(event_type, data, &["payer_claim_number"]),
        // Version 2 did not record the service dates; they are unknown (the charges still say).
        ("ClaimSubmitted", 2) => unknown(event_type, data, &["service_from", "service_to"]),
        ("PaymentReceived", 1) => unknown(event_type, data, &["service_date"]),
        ("ProgressNoteSigned", 1) => unknown(event_type, data, &["late_entry"]),
        ("SessionScheduled", 1) => unknown(event_type, data, &["estimate_due_by"]),
        ("SessionHeld" | "NoteAddendumAppended" | "AssessmentRecorded", 1) => {
            unknown(event_type, data, &["late_entry"])
        }
        _ => Err(DecodeError::UnsupportedVersion { event_type: event_type.to_owned(), version: from }),
    }
}

/// `data` with each of `fields` the older version did not record set to null: unknown.
fn unknown(event_type: &str, mut data: Value, fields: &[&str]) -> Result<Value, DecodeError> {
    let object = data.as_object_mut().ok_or_else(|| not_an_object(event_type))?;
    for field in fields {
        object.entry(*field).or_insert(Value::Null);
    }
    Ok(data)
}

fn not_an_object(event_type: &str) -> DecodeError {
    let source = <serde_json::Error as serde::de::Error>::custom("event data must be a JSON object");
    DecodeError::Data { event_type: event_type.to_owned(), source }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_version_one_claim_reads_as_the_current_version_and_unknown_versions_are_refused() {
        let v1 = json!({"claim_id": "c", "frequency": {"kind": "original"}});
        let current = upcast("ClaimSubmitted", 1, &v1).unwrap().into_owned();
        assert_eq!(current["payer_claim_number"], Value::Null);
        assert_eq!(current["claim_id"], "c");
        assert_eq!(current["service_from"], Value::Null);
        assert_eq!(*upcast("ClaimSubmitted", 3, &current).unwrap(), current);
        assert!(upcast("ClaimSubmitted", 4, &v1).is_err());
        assert!(upcast("ClaimSubmitted", 0, &v1).is_err());
        assert_eq!(*upcast("SessionCancelled", 1, &v1).unwrap(), v1);
        assert!(upcast("SessionCancelled", 2, &v1).is_err());
    }
}
