//! Events of the session stream (and the psychotherapy-note stream).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::note::{AddendumKind, AmendmentDecision, CancelledBy, NoteContent, NoteFormat, SessionKind};
use crate::event::event_enum;
use crate::types::{
    ActorId, AddendumId, AmendmentId, ClientId, ClinicianId, ContentHash, EpisodeId, GoalId, Minutes, Modality,
    NoteText, PatientLocation, PsychotherapyNoteId, Reason, SessionId,
};

event_enum! {
    /// Everything that can happen to a session and its documentation.
    pub enum SessionEvent {
        SessionScheduled,
        SessionHeld,
        SessionCancelled,
        NoShowRecorded,
        ProgressNoteSigned,
        NoteAddendumAppended,
        PsychotherapyNoteRecorded,
        AmendmentRequested,
        AmendmentDecided,
    }
}

impl SessionEvent {
    /// The stream this event belongs in: the psychotherapy note's own stream, or the session's.
    pub fn stream_name(&self, session: SessionId) -> String {
        match self {
            Self::PsychotherapyNoteRecorded(e) => e.note_id.stream_name(),
            _ => session.stream_name(),
        }
    }
}

/// A session was booked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionScheduled {
    pub session_id: SessionId,
    pub client_id: ClientId,
    pub episode_id: EpisodeId,
    pub clinician_id: ClinicianId,
    pub kind: SessionKind,
    pub starts_at: DateTime<Utc>,
    pub planned_minutes: Minutes,
    pub planned_modality: Modality,
    /// Set when a self-pay service was scheduled with no Good Faith Estimate covering it (the
    /// practice warns rather than refuses): the day the estimate is due by (schema version 2;
    /// sessions stored under version 1 say nothing).
    pub estimate_due_by: Option<NaiveDate>,
}

/// The session took place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionHeld {
    pub started_at: DateTime<Utc>,
    pub actual_minutes: Minutes,
    pub modality: Modality,
    /// Required for telehealth; it sets the place of service on the claim.
    pub patient_location: Option<PatientLocation>,
    pub recorded_at: DateTime<Utc>,
    /// Set when the session was recorded as held later than the practice's late-entry threshold
    /// after it ended (schema version 2; sessions stored under version 1 carry no label).
    pub late_entry: Option<LateEntry>,
}

impl SessionHeld {
    /// When the session ended: its start plus the minutes it actually took. Late-entry labels
    /// and the note-signing clock count from here.
    pub fn ended_at(&self) -> DateTime<Utc> {
        self.started_at + chrono::Duration::minutes(i64::from(self.actual_minutes.get()))
    }
}

/// The session was cancelled; `late` when within 24 hours of the start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCancelled {
    pub cancelled_by: CancelledBy,
    pub reason: Reason,
    pub late: bool,
    pub cancelled_at: DateTime<Utc>,
}

/// The client did not attend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoShowRecorded {
    pub recorded_by: ActorId,
    pub recorded_at: DateTime<Utc>,
}

/// The progress note was signed and is locked from now on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressNoteSigned {
    pub format: NoteFormat,
    pub content: NoteContent,
    pub goals_addressed: Vec<GoalId>,
    /// SHA-256 of [`NoteContent::canonical_text`].
    pub content_hash: ContentHash,
    pub signed_by: ClinicianId,
    pub signed_at: DateTime<Utc>,
    /// Set when the note was signed later than the practice's late-entry threshold after the
    /// session ended (schema version 2; notes stored under version 1 carry no label).
    pub late_entry: Option<LateEntry>,
}

/// CMS: a late entry is labelled as such, with the date it was written and the date of the
/// service it refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LateEntry {
    /// When the service it documents ended.
    pub refers_to: DateTime<Utc>,
    /// When it was written (signed, appended or recorded).
    pub written_at: DateTime<Utc>,
    /// The threshold it passed, in hours.
    pub threshold_hours: u32,
}

impl LateEntry {
    /// The label for an entry written at `written_at` about `refers_to`, if later than `threshold`.
    pub fn past(refers_to: DateTime<Utc>, written_at: DateTime<Utc>, threshold: chrono::Duration) -> Option<Self> {
        let threshold_hours = u32::try_from(threshold.num_hours()).unwrap_or(u32::MAX);
        (written_at - refers_to > threshold).then_some(Self { refers_to, written_at, threshold_hours })
    }
}

/// Text appended to a signed note; the original stays as signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteAddendumAppended {
    pub addendum_id: AddendumId,
    pub kind: AddendumKind,
    pub author: ClinicianId,
    pub reason: Reason,
    pub text: NoteText,
    pub appended_at: DateTime<Utc>,
    /// Set when appended later than the practice's late-entry threshold after the session ended
    /// (schema version 2). An accepted amendment's correction is never labelled: it is the
    /// client's requested change, not care documented late.
    pub late_entry: Option<LateEntry>,
}

/// A psychotherapy note (45 CFR 164.501): kept apart from the record, readable only by its
/// author, never exported or billed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PsychotherapyNoteRecorded {
    pub note_id: PsychotherapyNoteId,
    pub session_id: SessionId,
    pub author: ClinicianId,
    pub text: NoteText,
    pub recorded_at: DateTime<Utc>,
}

/// The client asked to amend the signed note (45 CFR 164.526).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmendmentRequested {
    pub amendment_id: AmendmentId,
    pub requested_by: ActorId,
    pub requested_change: NoteText,
    pub reason: Reason,
    pub requested_at: DateTime<Utc>,
    /// The rule allows 60 days to act.
    pub respond_by: NaiveDate,
}

/// The practice accepted or denied an amendment request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmendmentDecided {
    pub amendment_id: AmendmentId,
    pub decision: AmendmentDecision,
    pub decided_by: ClinicianId,
    pub decided_at: DateTime<Utc>,
}
