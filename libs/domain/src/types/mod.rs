//! Validated value types. Each is parsed once at the edge (`parse`, `FromStr` or `TryFrom`) and
//! re-validated when an event is decoded, so the domain never sees an unchecked value.

mod assessment;
mod billing_codes;
mod codes;
mod ids;
mod money;
mod session;
mod text;
mod time;

pub use assessment::{AssessmentScores, Instrument, ItemScore, Severity};
pub use billing_codes::{CarcCode, DiagnosisPointer, MemberId, RarcCode};
pub use codes::{CodeSetVersion, CptCode, Diagnosis, Icd10Code, Modifier, PlaceOfService};
pub use ids::{
    AccountId, ActorId, AddendumId, AmendmentId, AssessmentId, ChargeId, ClaimId, ClientId, ClinicianId, ConsentId,
    EpisodeId, EstimateId, GoalId, InterventionId, ObjectiveId, PaymentId, PlanId, PsychotherapyNoteId, RecoupmentId,
    RemittanceId, SessionId, SuperbillId, WriteOffId,
};
pub use money::{Balance, MAX_CENTS, Money};
pub use session::{ContentHash, Minutes, Modality, PatientLocation};
pub use text::{ERASED, Email, NoteText, PersonName, PhoneNumber, Reason, ShortText};
pub use time::{FIRST_YEAR, LAST_YEAR, date_in_range, iso_date, time_in_range};

use crate::error::ValidationError;

/// Rejects a timestamp after `now` (clinical time may be in the past for late entries, never
/// in the future).
pub(crate) fn not_after(
    field: &str,
    at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ValidationError> {
    if at > now {
        return Err(ValidationError::new(field, "must not be in the future"));
    }
    Ok(())
}

/// Decodes an erasable date: a date, or `None` when it was erased (the marker) or is absent (null).
pub fn erasable_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<chrono::NaiveDate>, D::Error> {
    use serde::Deserialize as _;
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) if s == ERASED => Ok(None),
        Some(s) => s.parse().map(Some).map_err(serde::de::Error::custom),
    }
}
