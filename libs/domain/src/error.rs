//! Errors: field-level validation (the edge), rule violations (decide) and event decoding.

use std::fmt;

pub use crate::entity::Entity;
use crate::types::ClinicianId;

/// A value that failed to parse; `field` names the offending input so the gRPC layer can
/// report it as a field violation (`INVALID_ARGUMENT`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    /// Name of the input field, e.g. `icd10_code` or `items[8]`.
    pub field: String,
    /// What is wrong, in words a caller can act on.
    pub reason: String,
}

impl ValidationError {
    /// A validation error for `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }

    /// The same error reported under another field name (parsers use a generic default name;
    /// the caller knows where the value came from).
    #[must_use]
    pub fn in_field(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}

/// A clinical or billing rule that refused a command. [`DomainError::code`] is the stable reason
/// code the gRPC layer returns with `FAILED_PRECONDITION` (or `INVALID_ARGUMENT` for
/// [`DomainError::Invalid`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Input that is well-formed but impossible in context (e.g. a signature dated in the future).
    #[error("invalid argument: {0}")]
    Invalid(#[from] ValidationError),
    #[error("{entity} {id} not found")]
    NotFound { entity: Entity, id: String },
    #[error("{entity} {id} already exists")]
    AlreadyExists { entity: Entity, id: String },

    // Intake
    #[error("an episode of care is already open")]
    EpisodeAlreadyOpen,
    #[error("no episode of care is open")]
    EpisodeNotOpen,
    #[error("the episode of care is closed")]
    EpisodeClosed,
    /// A command names a clinician for the clinical work of an episode that is not its treating
    /// clinician (who alone may then sign that work).
    #[error("clinician {named} is not the treating clinician of this episode ({treating})")]
    NotTreatingClinician { named: String, treating: String },
    #[error("consent {0} is already revoked")]
    ConsentAlreadyRevoked(String),
    #[error("risk flag from assessment {0} is already acknowledged")]
    RiskFlagAlreadyAcknowledged(String),
    #[error("{0} unacknowledged risk flag(s) must be acknowledged first")]
    RiskFlagUnacknowledged(usize),
    #[error("diagnosis {0} is already active")]
    DiagnosisAlreadyActive(String),
    #[error("diagnosis {0} is not active in this episode")]
    DiagnosisNotActive(String),
    #[error("only self-pay clients can be given this")]
    SelfPayOnly,
    #[error("{0} progress note(s) are still unsigned")]
    UnsignedNotes(u32),
    #[error("a legal hold is active since {0}; release it first")]
    LegalHoldActive(String),
    #[error("no legal hold is active")]
    LegalHoldNotActive,
    #[error("an episode of care is open; close it first")]
    EpisodeOpen,
    #[error("the retention period runs until {0}")]
    RetentionPeriodActive(String),
    #[error("the client's record is already erased")]
    AlreadyErased,
    #[error("the client's record was erased; it takes no new entries")]
    ClientErased,

    // Sessions
    #[error("the client has no active treatment consent")]
    ConsentNotActive,
    #[error("video and audio sessions need an active telehealth consent")]
    TelehealthConsentRequired,
    #[error("the session is already {0}")]
    SessionAlreadyConcluded(&'static str),
    #[error("the session was not held")]
    SessionNotHeld,
    #[error("a no-show cannot be recorded before the session's start time")]
    NoShowBeforeStart,
    #[error("the progress note is already signed and locked")]
    NoteAlreadySigned,
    #[error("the progress note is not signed")]
    NoteNotSigned,
    #[error("only the session's clinician may do this")]
    NotSessionClinician,
    #[error("goal {0} is not an active goal of the client's treatment plan")]
    GoalNotActive(String),
    #[error("amendment request {0} is already decided")]
    AmendmentAlreadyDecided(String),
    /// 45 CFR 149.610 under the practice's refuse setting: no estimate covers the service.
    #[error("no Good Faith Estimate covers this self-pay service; issue one first (due by {0})")]
    GoodFaithEstimateRequired(String),

    // Planning
    #[error("plan version {0} is signed and cannot change")]
    PlanAlreadySigned(u32),
    #[error("the plan has no signed version")]
    PlanNotSigned,
    #[error("a plan needs at least one goal before it is signed")]
    PlanHasNoGoals,
    #[error("the plan is discharged")]
    PlanDischarged,
    #[error("the review gives no progress for goal(s) {0}")]
    ReviewIncomplete(String),
    #[error("goal {0} already has that status")]
    GoalStatusUnchanged(String),
    #[error("termination is already planned")]
    TerminationAlreadyPlanned,

    // Billing
    #[error("a no-show is never billable")]
    NoShowNotBillable,
    #[error("{minutes} minutes is below the {minimum}-minute minimum for this service")]
    DurationNotBillable { minutes: u16, minimum: u16 },
    #[error("add-on {0} requires a compatible primary procedure")]
    AddonRequiresPrimary(String),
    #[error("the session is already charged as {0}")]
    SessionAlreadyCharged(String),
    #[error("the session belongs to another client")]
    SessionClientMismatch,
    #[error("the episode has no active diagnosis to point to")]
    NoActiveDiagnosis,
    #[error("diagnosis pointer {0} does not point to an active diagnosis")]
    DiagnosisPointerInvalid(u8),
    #[error("the treatment plan review is overdue")]
    PlanReviewOverdue,
    #[error("no fee is configured for {0}")]
    FeeNotConfigured(String),
    #[error("claims are only for insured clients")]
    InsuranceRequired,
    #[error("charge {0} is already on an open claim")]
    ChargeAlreadyClaimed(String),
    #[error("claim {0} cannot be replaced or voided in its current status ({1})")]
    ClaimNotCorrectable(String, &'static str),
    #[error("claim {0} is not awaiting remittance ({1})")]
    ClaimNotAwaitingRemittance(String, &'static str),
    #[error("charge {0} is not on claim {1}")]
    ChargeNotOnClaim(String, String),
    #[error("charge {0}: remitted amount {1} differs from the charged amount {2}")]
    RemittanceChargeMismatch(String, String, String),
    #[error("charge {0}: charged {1} != paid + adjustments + patient responsibility ({2})")]
    RemittanceUnbalanced(String, String, String),
    #[error("write-off of {0} exceeds the balance of {1}")]
    WriteOffExceedsBalance(String, String),
    #[error("charge {0} is adjudicated by remittance {1}; the payer must reverse it first")]
    ChargeAlreadyAdjudicated(String, String),
    #[error("remittance {0} is already reversed")]
    RemittanceAlreadyReversed(String),
    #[error("charge {0} has no adjudication of claim {1} to recoup from")]
    ChargeNotAdjudicated(String, String),
    #[error("recoupment of {0} exceeds the {1} the payer paid on the charge")]
    RecoupmentExceedsPaid(String, String),
}

impl DomainError {
    /// Stable reason code of the rule, e.g. `CONSENT_NOT_ACTIVE`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "INVALID_ARGUMENT",
            Self::NotFound { entity, .. } => entity.not_found_code(),
            Self::AlreadyExists { entity, .. } => entity.exists_code(),
            Self::EpisodeAlreadyOpen => "EPISODE_ALREADY_OPEN",
            Self::EpisodeNotOpen => "EPISODE_NOT_OPEN",
            Self::EpisodeClosed => "EPISODE_CLOSED",
            Self::NotTreatingClinician { .. } => "NOT_TREATING_CLINICIAN",
            Self::ConsentAlreadyRevoked(_) => "CONSENT_ALREADY_REVOKED",
            Self::RiskFlagAlreadyAcknowledged(_) => "RISK_FLAG_ALREADY_ACKNOWLEDGED",
            Self::RiskFlagUnacknowledged(_) => "RISK_FLAG_UNACKNOWLEDGED",
            Self::DiagnosisAlreadyActive(_) => "DIAGNOSIS_ALREADY_ACTIVE",
            Self::DiagnosisNotActive(_) => "DIAGNOSIS_NOT_ACTIVE",
            Self::SelfPayOnly => "SELF_PAY_ONLY",
            Self::UnsignedNotes(_) => "UNSIGNED_NOTES",
            Self::LegalHoldActive(_) => "LEGAL_HOLD_ACTIVE",
            Self::LegalHoldNotActive => "LEGAL_HOLD_NOT_ACTIVE",
            Self::EpisodeOpen => "EPISODE_OPEN",
            Self::RetentionPeriodActive(_) => "RETENTION_PERIOD_ACTIVE",
            Self::AlreadyErased => "ALREADY_ERASED",
            Self::ClientErased => "CLIENT_ERASED",
            Self::ConsentNotActive => "CONSENT_NOT_ACTIVE",
            Self::TelehealthConsentRequired => "TELEHEALTH_CONSENT_REQUIRED",
            Self::SessionAlreadyConcluded(_) => "SESSION_ALREADY_CONCLUDED",
            Self::SessionNotHeld => "SESSION_NOT_HELD",
            Self::NoShowBeforeStart => "NO_SHOW_BEFORE_START",
            Self::NoteAlreadySigned => "NOTE_ALREADY_SIGNED",
            Self::NoteNotSigned => "NOTE_NOT_SIGNED",
            Self::NotSessionClinician => "NOT_SESSION_CLINICIAN",
            Self::GoalNotActive(_) => "GOAL_NOT_ACTIVE",
            Self::AmendmentAlreadyDecided(_) => "AMENDMENT_ALREADY_DECIDED",
            Self::GoodFaithEstimateRequired(_) => "GOOD_FAITH_ESTIMATE_REQUIRED",
            Self::PlanAlreadySigned(_) => "PLAN_ALREADY_SIGNED",
            Self::PlanNotSigned => "PLAN_NOT_SIGNED",
            Self::PlanHasNoGoals => "PLAN_HAS_NO_GOALS",
            Self::PlanDischarged => "PLAN_DISCHARGED",
            Self::ReviewIncomplete(_) => "REVIEW_INCOMPLETE",
            Self::GoalStatusUnchanged(_) => "GOAL_STATUS_UNCHANGED",
            Self::TerminationAlreadyPlanned => "TERMINATION_ALREADY_PLANNED",
            Self::NoShowNotBillable => "NO_SHOW_NOT_BILLABLE",
            Self::DurationNotBillable { .. } => "DURATION_NOT_BILLABLE",
            Self::AddonRequiresPrimary(_) => "ADDON_REQUIRES_PRIMARY",
            Self::SessionAlreadyCharged(_) => "SESSION_ALREADY_CHARGED",
            Self::SessionClientMismatch => "SESSION_CLIENT_MISMATCH",
            Self::NoActiveDiagnosis => "NO_ACTIVE_DIAGNOSIS",
            Self::DiagnosisPointerInvalid(_) => "DIAGNOSIS_POINTER_INVALID",
            Self::PlanReviewOverdue => "PLAN_REVIEW_OVERDUE",
            Self::FeeNotConfigured(_) => "FEE_NOT_CONFIGURED",
            Self::InsuranceRequired => "INSURANCE_REQUIRED",
            Self::ChargeAlreadyClaimed(_) => "CHARGE_ALREADY_CLAIMED",
            Self::ClaimNotCorrectable(..) => "CLAIM_NOT_CORRECTABLE",
            Self::ChargeAlreadyAdjudicated(..) => "CHARGE_ALREADY_ADJUDICATED",
            Self::RemittanceAlreadyReversed(_) => "REMITTANCE_ALREADY_REVERSED",
            Self::ChargeNotAdjudicated(..) => "CHARGE_NOT_ADJUDICATED",
            Self::RecoupmentExceedsPaid(..) => "RECOUPMENT_EXCEEDS_PAID",
            Self::ClaimNotAwaitingRemittance(..) => "CLAIM_NOT_AWAITING_REMITTANCE",
            Self::ChargeNotOnClaim(..) => "CHARGE_NOT_ON_CLAIM",
            Self::RemittanceChargeMismatch(..) => "REMITTANCE_CHARGE_MISMATCH",
            Self::RemittanceUnbalanced(..) => "REMITTANCE_UNBALANCED",
            Self::WriteOffExceedsBalance(..) => "WRITE_OFF_EXCEEDS_BALANCE",
        }
    }

    /// True when the gRPC layer should answer `INVALID_ARGUMENT` rather than `FAILED_PRECONDITION`.
    pub fn is_invalid_argument(&self) -> bool {
        matches!(self, Self::Invalid(_))
    }

    pub(crate) fn not_found(entity: Entity, id: impl fmt::Display) -> Self {
        Self::NotFound { entity, id: id.to_string() }
    }

    pub(crate) fn exists(entity: Entity, id: impl fmt::Display) -> Self {
        Self::AlreadyExists { entity, id: id.to_string() }
    }

    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Self::Invalid(ValidationError::new(field, reason))
    }
}

/// A stored event that could not be turned back into a domain event.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    #[error("event type {event_type} has no schema version {version}")]
    UnsupportedVersion { event_type: String, version: u32 },
    #[error("event type {event_type}: malformed data: {source}")]
    Data {
        event_type: String,
        #[source]
        source: serde_json::Error,
    },
}

/// The clinician a command names for an episode's clinical work must be that episode's treating
/// clinician; an episode nobody treats (unknown) is left to the episode rules.
pub fn check_treating(treating: Option<ClinicianId>, named: ClinicianId) -> Result<(), DomainError> {
    match treating {
        Some(treating) if treating != named => {
            Err(DomainError::NotTreatingClinician { named: named.to_string(), treating: treating.to_string() })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_are_stable_screaming_snake_case() {
        let samples = [
            DomainError::not_found(Entity::Client, "x"),
            DomainError::exists(Entity::Client, "x"),
            DomainError::exists(Entity::WriteOff, "x"),
            DomainError::ConsentNotActive,
            DomainError::UnsignedNotes(2),
        ];
        let codes: Vec<_> = samples.iter().map(DomainError::code).collect();
        assert_eq!(
            codes,
            [
                "CLIENT_NOT_FOUND",
                "CLIENT_ALREADY_REGISTERED",
                "WRITE_OFF_ALREADY_EXISTS",
                "CONSENT_NOT_ACTIVE",
                "UNSIGNED_NOTES"
            ]
        );
        for c in codes {
            assert!(c.chars().all(|ch| ch.is_ascii_uppercase() || ch == '_'));
        }
    }

    #[test]
    fn validation_errors_name_the_field_and_can_be_renamed() {
        let e = ValidationError::new("code", "bad").in_field("diagnosis.code");
        assert_eq!(e.to_string(), "diagnosis.code: bad");
        let d: DomainError = e.into();
        assert!(d.is_invalid_argument());
        assert_eq!(d.code(), "INVALID_ARGUMENT");
    }
}
