//! Scrubbing a view when its client is erased. The log's PHI is gone with the client's key, but a
//! view folded earlier still holds plaintext: this replaces every PHI value in it by the marker
//! the domain uses for erased values, so views, as-of replays and exports agree after erasure.
//! What is scrubbed is what is sealed in the log: every text whose class is sealed at rest
//! (`carelog_domain::disclosure::scrub` over the view's classes), nothing listed by hand.

use carelog_domain::disclosure::scrub;
use carelog_domain::error::DecodeError;
use carelog_domain::types::ERASED;
use carelog_store::RecordedEvent;
use serde_json::Value;

use super::EpisodeView;
use crate::classes::EPISODE_VIEW;
use crate::error::ViewError;

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
        scrub(&mut json, &EPISODE_VIEW, ERASED);
        if let Some(demographics) = json.get_mut("demographics").and_then(Value::as_object_mut) {
            demographics.insert("date_of_birth".into(), Value::Null);
        }
        *self = serde_json::from_value(json).map_err(decode)?;
        Ok(())
    }
}
