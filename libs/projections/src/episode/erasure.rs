//! Scrubbing a view when its client is erased. The log's PHI is gone with the client's key, but a
//! view folded earlier still holds plaintext: this replaces every PHI value in it by the marker
//! the domain uses for erased values, so views, as-of replays and exports agree after erasure.

use carelog_domain::error::DecodeError;
use carelog_domain::types::ERASED;
use carelog_store::RecordedEvent;
use serde_json::Value;

use super::EpisodeView;
use crate::error::ViewError;

/// Keys of the view whose string values are PHI (names, contact, free text). A key is scrubbed
/// wherever it appears, except under the parents listed in [`NOT_PHI_UNDER`].
const PHI_KEYS: &[&str] = &[
    "legal_name",
    "preferred_name",
    "date_of_birth",
    "phone",
    "email",
    "address",
    "member_id",
    "discharge_summary",
    "reason",
    "action_taken",
    "recipient",
    "purpose",
    "information",
    "signed_by",
    "event",
    "description",
    "measurable_target",
    "comment",
    "aftercare",
    "text",
    "requested_change",
    "explanation",
    "subjective",
    "objective",
    "assessment",
    "plan",
    "data",
    "behavior",
    "intervention",
    "response",
];

/// (parent key, key) pairs that look like PHI but hold codes or ids: a termination's reason is an
/// enum; a progress note and a plan signature are signed by a clinician id (a consent's
/// `signed_by` is a person's name and is scrubbed).
const NOT_PHI_UNDER: &[(&str, &str)] = &[("termination", "reason"), ("note", "signed_by"), ("signatures", "signed_by")];

impl EpisodeView {
    /// Replaces every PHI value by the erased marker (a date of birth by nothing).
    pub(super) fn erase_phi(&mut self, event: &RecordedEvent) -> Result<(), ViewError> {
        let decode = |source| ViewError::Decode {
            position: event.position,
            stream: event.stream.to_string(),
            event_type: event.event_type.clone(),
            source: DecodeError::Data { event_type: "EpisodeView".into(), source },
        };
        let mut json = serde_json::to_value(&*self).map_err(decode)?;
        scrub(&mut json, "");
        if let Some(demographics) = json.get_mut("demographics").and_then(Value::as_object_mut) {
            demographics.insert("date_of_birth".into(), Value::Null);
        }
        *self = serde_json::from_value(json).map_err(decode)?;
        Ok(())
    }
}

fn scrub(value: &mut Value, parent: &str) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                let phi = PHI_KEYS.contains(&key.as_str()) && !NOT_PHI_UNDER.contains(&(parent, key.as_str()));
                if phi && child.is_string() {
                    *child = Value::from(ERASED);
                } else {
                    scrub(child, key);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| scrub(item, parent)),
        _ => {}
    }
}
