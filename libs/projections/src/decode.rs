//! Turns an envelope into a domain event, choosing the decoder by the stream's category.

use carelog_domain::billing::BillingEvent;
use carelog_domain::intake::IntakeEvent;
use carelog_domain::planning::PlanningEvent;
use carelog_domain::sessions::SessionEvent;
use carelog_domain::{DecodeError, ValidationError};
use carelog_store::RecordedEvent;

use crate::error::ViewError;

/// The clinical events the read models understand, by the stream they came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decoded {
    /// `client-…`
    Intake(IntakeEvent),
    /// `plan-…`
    Planning(PlanningEvent),
    /// `session-…`
    Session(SessionEvent),
    /// `psynote-…`: only ever counted, never shown.
    PsychotherapyNote(SessionEvent),
    /// `account-…`
    Billing(BillingEvent),
}

/// Stream categories whose events carry clinical or billing facts.
pub(crate) const CLINICAL_CATEGORIES: &[&str] = &["client", "plan", "session", "psynote", "account"];

/// Decodes `event`, or `None` for a category the read models do not fold (e.g. `access`: reading
/// the record must not change the record).
pub(crate) fn decode(event: &RecordedEvent) -> Result<Option<Decoded>, ViewError> {
    let (kind, version, data) = (event.event_type.as_str(), event.schema_version, &event.data);
    let wrap = |source: DecodeError| decode_error(event, source);
    let decoded = match event.category() {
        "client" => Decoded::Intake(IntakeEvent::from_stored(kind, version, data).map_err(wrap)?),
        "plan" => Decoded::Planning(PlanningEvent::from_stored(kind, version, data).map_err(wrap)?),
        "session" => Decoded::Session(SessionEvent::from_stored(kind, version, data).map_err(wrap)?),
        "psynote" => Decoded::PsychotherapyNote(SessionEvent::from_stored(kind, version, data).map_err(wrap)?),
        "account" => Decoded::Billing(BillingEvent::from_stored(kind, version, data).map_err(wrap)?),
        _ => return Ok(None),
    };
    Ok(Some(decoded))
}

/// An envelope's domain event, decoded the first time a view asks for it: an account event is
/// folded into its client's episode view and into the account's ledger, but decoded once.
#[derive(Debug, Default)]
pub(crate) struct DecodeOnce(Option<Option<Decoded>>);

impl DecodeOnce {
    /// The domain event of `event` (always the same envelope for one `DecodeOnce`).
    pub(crate) fn get(&mut self, event: &RecordedEvent) -> Result<Option<&Decoded>, ViewError> {
        if self.0.is_none() {
            self.0 = Some(decode(event)?);
        }
        Ok(self.0.as_ref().and_then(Option::as_ref))
    }
}

pub(crate) fn decode_error(event: &RecordedEvent, source: DecodeError) -> ViewError {
    ViewError::Decode {
        position: event.position,
        stream: event.stream.to_string(),
        event_type: event.event_type.clone(),
        source,
    }
}

/// Parses the aggregate id out of the envelope's stream name with `parse` (e.g.
/// `SessionId::from_stream_name`).
pub(crate) fn stream_id<T>(
    event: &RecordedEvent,
    parse: fn(&str) -> Result<T, ValidationError>,
) -> Result<T, ViewError> {
    parse(event.stream.as_str()).map_err(|source| ViewError::StreamId {
        position: event.position,
        stream: event.stream.to_string(),
        source,
    })
}

/// A [`ViewError::Overflow`] for `event`.
pub(crate) fn overflow(event: &RecordedEvent) -> ViewError {
    ViewError::Overflow {
        position: event.position,
        stream: event.stream.to_string(),
        event_type: event.event_type.clone(),
    }
}

/// An [`ViewError::Orphan`] for `event`.
pub(crate) fn orphan(event: &RecordedEvent, entity: &'static str) -> ViewError {
    ViewError::Orphan {
        position: event.position,
        stream: event.stream.to_string(),
        event_type: event.event_type.clone(),
        entity,
    }
}
