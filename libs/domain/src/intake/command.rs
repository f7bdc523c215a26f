//! Commands on the client stream and the facts a decision needs from outside it.

use chrono::{DateTime, Utc};

use super::event::{ConsentKind, Demographics, DiagnosisRevision};
use crate::types::{
    ActorId, AssessmentId, AssessmentScores, ClientId, ClinicianId, ConsentId, CptCode, Diagnosis, EpisodeId,
    EstimateId, Icd10Code, Money, NoteText, Reason,
};

/// What a user asks of a client's record. Times a user may backdate (a consent signed on paper
/// yesterday, an assessment administered in the waiting room) are carried here; the time of
/// recording comes from [`IntakeContext::now`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntakeCommand {
    RegisterClient {
        client_id: ClientId,
        demographics: Demographics,
        registered_by: ActorId,
    },
    OpenEpisode {
        episode_id: EpisodeId,
        clinician_id: ClinicianId,
        opened_at: DateTime<Utc>,
    },
    GiveConsent {
        consent_id: ConsentId,
        kind: ConsentKind,
        given_at: DateTime<Utc>,
        recorded_by: ActorId,
    },
    RevokeConsent {
        consent_id: ConsentId,
        reason: Reason,
        revoked_at: DateTime<Utc>,
    },
    RecordAssessment {
        assessment_id: AssessmentId,
        scores: AssessmentScores,
        administered_by: ActorId,
        administered_at: DateTime<Utc>,
    },
    AcknowledgeRiskFlag {
        assessment_id: AssessmentId,
        clinician_id: ClinicianId,
        action_taken: Reason,
    },
    RecordDiagnosis {
        diagnosis: Diagnosis,
        clinician_id: ClinicianId,
    },
    ReviseDiagnosis {
        code: Icd10Code,
        revision: DiagnosisRevision,
        reason: Reason,
        clinician_id: ClinicianId,
    },
    IssueGoodFaithEstimate {
        estimate_id: EstimateId,
        lines: Vec<EstimateRequestLine>,
        issued_by: ActorId,
    },
    PlaceLegalHold {
        reason: Reason,
        placed_by: ActorId,
    },
    ReleaseLegalHold {
        reason: Reason,
        released_by: ActorId,
    },
    /// Erase the client's PHI (the key is shredded after this is recorded): refused while a
    /// legal hold applies, an episode is open, or within `retention_years` of the last episode's
    /// close (of registration, if no episode was opened).
    EraseClient {
        reason: Reason,
        erased_by: ActorId,
        retention_years: u32,
    },
    /// Sent by the sessions service; see the module docs.
    CloseEpisode {
        episode_id: EpisodeId,
        clinician_id: ClinicianId,
        discharge_summary: NoteText,
    },
}

/// An expected service requested on a Good Faith Estimate; the amount is computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstimateRequestLine {
    pub cpt: CptCode,
    pub units: u16,
    pub unit_fee: Money,
}

/// Facts from outside the client stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeContext {
    /// Recording time, from the service's clock.
    pub now: DateTime<Utc>,
    /// Unsigned progress notes in the episode being closed, counted from its session streams
    /// (only read by `CloseEpisode`).
    pub unsigned_notes: u32,
    /// The practice's late-entry threshold: an assessment recorded longer than this after it was
    /// administered is labelled a late entry.
    pub late_entry_after: chrono::Duration,
}

impl IntakeContext {
    /// A context at `now` with no unsigned notes.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self { now, unsigned_notes: 0, late_entry_after: crate::sessions::LATE_ENTRY_AFTER }
    }

    /// The same context under the practice's late-entry threshold.
    #[must_use]
    pub fn with_late_entry_after(mut self, threshold: chrono::Duration) -> Self {
        self.late_entry_after = threshold;
        self
    }

    /// The same context with `n` unsigned notes.
    #[must_use]
    pub fn with_unsigned_notes(mut self, n: u32) -> Self {
        self.unsigned_notes = n;
        self
    }
}

impl IntakeCommand {
    /// The clinician who attests this command (it is recorded as theirs), with the request field
    /// naming them: only that clinician may send it.
    pub fn signer(&self) -> Option<(&'static str, ClinicianId)> {
        match self {
            Self::AcknowledgeRiskFlag { clinician_id, .. }
            | Self::RecordDiagnosis { clinician_id, .. }
            | Self::ReviseDiagnosis { clinician_id, .. }
            | Self::CloseEpisode { clinician_id, .. } => Some(("clinician_id", *clinician_id)),
            _ => None,
        }
    }
}
