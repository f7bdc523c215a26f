//! Commands on the session stream and the facts a decision needs from outside it.

use chrono::{DateTime, Utc};

use super::estimate::EstimatePolicy;
use super::note::{AddendumKind, CancelledBy, DenialBasis, NoteContent, SessionKind};
use crate::intake::{ClientState, ConsentType, EpisodeStatus};
use crate::types::{
    ActorId, AddendumId, AmendmentId, ClientId, ClinicianId, ContentHash, EpisodeId, GoalId, Minutes, Modality,
    NoteText, PatientLocation, PsychotherapyNoteId, Reason, SessionId,
};

/// What a user asks of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionCommand {
    ScheduleSession {
        session_id: SessionId,
        client_id: ClientId,
        episode_id: EpisodeId,
        clinician_id: ClinicianId,
        kind: SessionKind,
        starts_at: DateTime<Utc>,
        planned_minutes: Minutes,
        planned_modality: Modality,
    },
    HoldSession {
        started_at: DateTime<Utc>,
        actual_minutes: Minutes,
        modality: Modality,
        patient_location: Option<PatientLocation>,
    },
    CancelSession {
        cancelled_by: CancelledBy,
        reason: Reason,
    },
    RecordNoShow {
        recorded_by: ActorId,
    },
    SignProgressNote {
        content: NoteContent,
        goals_addressed: Vec<GoalId>,
        content_hash: ContentHash,
        clinician_id: ClinicianId,
    },
    AppendAddendum {
        addendum_id: AddendumId,
        kind: AddendumKind,
        author: ClinicianId,
        reason: Reason,
        text: NoteText,
    },
    RecordPsychotherapyNote {
        note_id: PsychotherapyNoteId,
        author: ClinicianId,
        text: NoteText,
    },
    RequestAmendment {
        amendment_id: AmendmentId,
        requested_by: ActorId,
        requested_change: NoteText,
        reason: Reason,
    },
    DecideAmendment {
        amendment_id: AmendmentId,
        response: AmendmentResponse,
        clinician_id: ClinicianId,
    },
}

/// The practice's answer to an amendment request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmendmentResponse {
    /// Accept: the requested change is appended as a correction under `addendum_id`.
    Accept {
        addendum_id: AddendumId,
    },
    Deny {
        basis: DenialBasis,
        explanation: Reason,
    },
}

/// Facts from outside the session stream: the client's record and the plan's active goals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionContext {
    pub now: DateTime<Utc>,
    pub client_registered: bool,
    /// Status of the session's episode (of the command's episode when scheduling).
    pub episode: EpisodeStatus,
    /// The treating clinician of that episode: a session is scheduled with them alone.
    pub episode_clinician: Option<ClinicianId>,
    pub treatment_consent_active: bool,
    pub telehealth_consent_active: bool,
    /// A treatment (telehealth) consent was revoked and none permits new activity now: nothing
    /// new is scheduled (a consent never given yet does not stop scheduling a first visit).
    pub treatment_consent_withdrawn: bool,
    pub telehealth_consent_withdrawn: bool,
    /// Whether the client pays for themselves: a Good Faith Estimate is owed.
    pub self_pay: bool,
    /// When each of the client's Good Faith Estimates was issued.
    pub estimates_issued: Vec<DateTime<Utc>>,
    /// Active goals of the client's treatment plan; a note may only address these.
    pub active_goals: Vec<GoalId>,
    /// What the practice chose (flags of the sessions service).
    pub settings: SessionSettings,
}

/// A practice's settings for its sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    /// Documentation written longer than this after the service is labelled a late entry.
    pub late_entry_after: chrono::Duration,
    /// Scheduling a self-pay service no Good Faith Estimate covers: warn or refuse.
    pub estimate_policy: EstimatePolicy,
}

/// The default late-entry threshold: 24 hours after the service.
pub const LATE_ENTRY_AFTER: chrono::Duration = chrono::Duration::hours(24);

impl Default for SessionSettings {
    fn default() -> Self {
        Self { late_entry_after: LATE_ENTRY_AFTER, estimate_policy: EstimatePolicy::default() }
    }
}

impl SessionContext {
    /// Fills the context from the client's folded record at `now` (consents are judged as of
    /// recording time: a revoked consent stops new activity even for a backdated entry).
    pub fn from_client(client: &ClientState, episode: EpisodeId, now: DateTime<Utc>) -> Self {
        Self {
            now,
            client_registered: client.is_registered(),
            episode: client.episode_status(episode),
            episode_clinician: client.episode(episode).map(|e| e.clinician_id),
            treatment_consent_active: client.permits_new_activity(ConsentType::Treatment, now),
            telehealth_consent_active: client.permits_new_activity(ConsentType::Telehealth, now),
            treatment_consent_withdrawn: client.consent_withdrawn(ConsentType::Treatment, now),
            telehealth_consent_withdrawn: client.consent_withdrawn(ConsentType::Telehealth, now),
            self_pay: client.is_self_pay(),
            estimates_issued: client.estimates.values().copied().collect(),
            active_goals: Vec::new(),
            settings: SessionSettings::default(),
        }
    }

    /// A context that reads nothing outside the session stream.
    pub fn bare(now: DateTime<Utc>, settings: SessionSettings) -> Self {
        Self {
            now,
            client_registered: false,
            episode: EpisodeStatus::Unknown,
            episode_clinician: None,
            treatment_consent_active: false,
            telehealth_consent_active: false,
            treatment_consent_withdrawn: false,
            telehealth_consent_withdrawn: false,
            self_pay: false,
            estimates_issued: Vec::new(),
            active_goals: Vec::new(),
            settings,
        }
    }

    /// The same context under the practice's settings.
    #[must_use]
    pub fn with_settings(mut self, settings: SessionSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The same context with the plan's active goals.
    #[must_use]
    pub fn with_active_goals(mut self, goals: Vec<GoalId>) -> Self {
        self.active_goals = goals;
        self
    }
}

impl SessionCommand {
    /// The clinician this command names as doing or attesting clinical work, with the request
    /// field naming them: the service checks them against the caller (a schedule names the
    /// treating clinician, which only the roles the policy lets act for a clinician may name for
    /// another).
    pub fn signer(&self) -> Option<(&'static str, ClinicianId)> {
        match self {
            Self::ScheduleSession { clinician_id, .. }
            | Self::SignProgressNote { clinician_id, .. }
            | Self::DecideAmendment { clinician_id, .. } => Some(("clinician_id", *clinician_id)),
            Self::AppendAddendum { author, .. } | Self::RecordPsychotherapyNote { author, .. } => {
                Some(("author_id", *author))
            }
            _ => None,
        }
    }
}
