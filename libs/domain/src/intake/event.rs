//! Events of the client stream.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::event::event_enum;
use crate::types::{
    ActorId, AssessmentId, AssessmentScores, ClientId, ClinicianId, ConsentId, CptCode, Diagnosis, Email, EpisodeId,
    EstimateId, Icd10Code, ItemScore, MemberId, Money, NoteText, PersonName, PhoneNumber, Reason, Severity, ShortText,
};

event_enum! {
    /// Everything that can happen to a client's record at intake and over an episode.
    pub enum IntakeEvent {
        ClientRegistered,
        EpisodeOpened,
        ConsentGiven,
        ConsentRevoked,
        AssessmentRecorded,
        RiskFlagRaised,
        RiskFlagAcknowledged,
        DiagnosisRecorded,
        DiagnosisRevised,
        GoodFaithEstimateIssued,
        EpisodeClosed,
        LegalHoldPlaced,
        LegalHoldReleased,
        ClientErased,
    }
}

/// Who pays for care.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Payer {
    SelfPay,
    Insurance { payer_name: ShortText, member_id: MemberId },
}

/// How to reach the client; every channel is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub phone: Option<PhoneNumber>,
    pub email: Option<Email>,
    pub address: Option<ShortText>,
}

/// Demographics captured at registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Demographics {
    pub legal_name: PersonName,
    pub preferred_name: Option<PersonName>,
    /// `None` only once the record was erased (crypto-shredded).
    #[serde(deserialize_with = "crate::types::erasable_date")]
    pub date_of_birth: Option<NaiveDate>,
    pub contact: Contact,
    pub payer: Payer,
}

/// A new client's record was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRegistered {
    pub client_id: ClientId,
    pub demographics: Demographics,
    pub registered_by: ActorId,
    pub registered_at: DateTime<Utc>,
}

/// An episode of care began under a treating clinician.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpisodeOpened {
    pub episode_id: EpisodeId,
    pub clinician_id: ClinicianId,
    pub opened_at: DateTime<Utc>,
}

/// When a disclosure consent ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConsentExpiry {
    OnDate {
        date: NaiveDate,
    },
    /// 42 CFR 2.31 also allows an event or condition ("end of treatment").
    UponEvent {
        event: ShortText,
    },
}

/// HIPAA authorization to release information to a named recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseOfInformation {
    pub recipient: ShortText,
    pub purpose: ShortText,
    pub expires_on: NaiveDate,
}

/// A 42 CFR Part 2 consent with every element §2.31 requires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part2Consent {
    /// The program permitted to disclose.
    pub disclosing_program: ShortText,
    pub recipient: ShortText,
    pub purpose: ShortText,
    /// How much and what kind of information may be disclosed.
    pub information: ShortText,
    pub expiry: ConsentExpiry,
    /// The patient or authorized representative who signed.
    pub signed_by: PersonName,
    pub signed_on: NaiveDate,
    /// The patient was told of the right to revoke.
    pub right_to_revoke_acknowledged: bool,
}

/// What a consent covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConsentKind {
    Treatment,
    Telehealth,
    FinancialPolicy,
    ReleaseOfInformation(ReleaseOfInformation),
    Part2(Part2Consent),
}

/// The client gave a consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentGiven {
    pub consent_id: ConsentId,
    pub kind: ConsentKind,
    pub given_at: DateTime<Utc>,
    pub recorded_by: ActorId,
}

/// The client revoked a consent; it stops applying from `revoked_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRevoked {
    pub consent_id: ConsentId,
    pub reason: Reason,
    pub revoked_at: DateTime<Utc>,
}

/// A PHQ-9 or GAD-7 was scored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentRecorded {
    pub assessment_id: AssessmentId,
    pub episode_id: EpisodeId,
    pub scores: AssessmentScores,
    pub total: u8,
    pub severity: Severity,
    pub administered_by: ActorId,
    pub administered_at: DateTime<Utc>,
    /// Set when recorded later than the practice's late-entry threshold after it was
    /// administered (schema version 2; assessments stored under version 1 carry no label).
    pub late_entry: Option<crate::sessions::LateEntry>,
}

/// PHQ-9 item 9 was answered above zero; a clinician must acknowledge it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskFlagRaised {
    pub assessment_id: AssessmentId,
    pub episode_id: EpisodeId,
    pub item9_score: ItemScore,
    pub raised_at: DateTime<Utc>,
}

/// A clinician reviewed a risk flag and recorded what was done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskFlagAcknowledged {
    pub assessment_id: AssessmentId,
    pub acknowledged_by: ClinicianId,
    pub action_taken: Reason,
    pub acknowledged_at: DateTime<Utc>,
}

/// A diagnosis became active in the episode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnosisRecorded {
    pub episode_id: EpisodeId,
    pub diagnosis: Diagnosis,
    pub diagnosed_by: ClinicianId,
    pub recorded_at: DateTime<Utc>,
}

/// How an active diagnosis changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DiagnosisRevision {
    Resolved,
    ChangedTo { diagnosis: Diagnosis },
}

/// An active diagnosis was resolved or recoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnosisRevised {
    pub episode_id: EpisodeId,
    pub code: Icd10Code,
    pub revision: DiagnosisRevision,
    pub reason: Reason,
    pub revised_by: ClinicianId,
    pub revised_at: DateTime<Utc>,
}

/// One expected service on a Good Faith Estimate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstimateLine {
    pub cpt: CptCode,
    pub units: u16,
    pub unit_fee: Money,
    pub amount: Money,
}

/// A No Surprises Act Good Faith Estimate was given to a self-pay client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoodFaithEstimateIssued {
    pub estimate_id: EstimateId,
    pub lines: Vec<EstimateLine>,
    pub total: Money,
    pub issued_by: ActorId,
    pub issued_at: DateTime<Utc>,
}

/// The episode of care ended with a discharge summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpisodeClosed {
    pub episode_id: EpisodeId,
    pub closed_by: ClinicianId,
    pub discharge_summary: NoteText,
    pub closed_at: DateTime<Utc>,
}

/// A legal hold (litigation, subpoena, investigation) now bars erasure of the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalHoldPlaced {
    pub reason: Reason,
    pub placed_by: ActorId,
    pub placed_at: DateTime<Utc>,
}

/// The legal hold was lifted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalHoldReleased {
    pub reason: Reason,
    pub released_by: ActorId,
    pub released_at: DateTime<Utc>,
}

/// The client's PHI was erased by shredding their data key. The events stay (their hashes still
/// verify); their PHI fields read as the erased marker from now on. The reason must hold no PHI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientErased {
    pub reason: Reason,
    pub erased_by: ActorId,
    pub erased_at: DateTime<Utc>,
}
