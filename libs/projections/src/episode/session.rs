//! Sessions in the episode view: the visit, its progress note with addenda, and amendment
//! requests against the note.

use carelog_domain::sessions::{
    AmendmentDecision, AmendmentRequested, NoShowRecorded, NoteAddendumAppended, ProgressNoteSigned, SessionCancelled,
    SessionEvent, SessionHeld, SessionKind, estimate,
};
use carelog_domain::types::{ClinicianId, EpisodeId, Minutes, Modality, SessionId};
use carelog_store::RecordedEvent;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::EpisodeView;
use crate::decode::{orphan, stream_id};
use crate::error::ViewError;

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Scheduled,
    Held,
    Cancelled,
    NoShow,
}

/// A signed (locked) progress note, as its event says, and what was appended to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressNoteView {
    /// The note as signed: format, sections, goals, hash, signer and the CMS late-entry label
    /// (`late_entry: null` when signed on time; views stored before omitted the key).
    #[serde(flatten)]
    pub signed: ProgressNoteSigned,
    /// Addenda, corrections and late entries in the order appended, as their events say (an
    /// addendum without a late-entry label has `late_entry: null`; views stored before omitted it).
    pub addenda: Vec<NoteAddendumAppended>,
}

/// How an amendment request was answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmendmentOutcome {
    pub decision: AmendmentDecision,
    pub decided_by: ClinicianId,
    pub decided_at: DateTime<Utc>,
}

/// A HIPAA §164.526 request to amend the note, as its event says, and how it was answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmendmentView {
    #[serde(flatten)]
    pub requested: AmendmentRequested,
    pub outcome: Option<AmendmentOutcome>,
}

/// One session and its documentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub session_id: SessionId,
    pub episode_id: EpisodeId,
    pub clinician_id: ClinicianId,
    pub kind: SessionKind,
    pub starts_at: DateTime<Utc>,
    pub planned_minutes: Minutes,
    pub planned_modality: Modality,
    pub status: SessionStatus,
    /// What happened when the session was held, as its event says (the domain's
    /// [`SessionHeld::ended_at`] starts the note-signing clock).
    pub held: Option<SessionHeld>,
    pub cancelled: Option<SessionCancelled>,
    pub no_show: Option<NoShowRecorded>,
    pub note: Option<ProgressNoteView>,
    pub amendments: Vec<AmendmentView>,
    /// Psychotherapy notes recorded for this session: a count, never their text.
    pub psychotherapy_notes: u32,
    /// A self-pay service scheduled with no Good Faith Estimate covering it (the practice warns):
    /// the day the estimate is due by, until one covering the service is issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate_due_by: Option<NaiveDate>,
}

impl EpisodeView {
    pub(super) fn apply_session(&mut self, event: &RecordedEvent, e: &SessionEvent) -> Result<(), ViewError> {
        if let SessionEvent::SessionScheduled(e) = e {
            self.sessions.push(SessionView {
                session_id: e.session_id,
                episode_id: e.episode_id,
                clinician_id: e.clinician_id,
                kind: e.kind,
                starts_at: e.starts_at,
                planned_minutes: e.planned_minutes,
                planned_modality: e.planned_modality,
                status: SessionStatus::Scheduled,
                held: None,
                cancelled: None,
                no_show: None,
                note: None,
                amendments: Vec::new(),
                psychotherapy_notes: 0,
                estimate_due_by: e.estimate_due_by,
            });
            return Ok(());
        }
        let index = self.session_index(event, stream_id(event, SessionId::from_stream_name)?)?;
        let session = &mut self.sessions[index];
        match e {
            SessionEvent::SessionScheduled(_) | SessionEvent::PsychotherapyNoteRecorded(_) => {}
            SessionEvent::SessionHeld(e) => {
                session.status = SessionStatus::Held;
                session.held = Some(e.clone());
            }
            SessionEvent::SessionCancelled(e) => {
                session.status = SessionStatus::Cancelled;
                session.cancelled = Some(e.clone());
            }
            SessionEvent::NoShowRecorded(e) => {
                session.status = SessionStatus::NoShow;
                session.no_show = Some(e.clone());
            }
            SessionEvent::ProgressNoteSigned(e) => {
                session.note = Some(ProgressNoteView { signed: e.clone(), addenda: Vec::new() });
            }
            SessionEvent::NoteAddendumAppended(e) => {
                let note = session.note.as_mut().ok_or_else(|| orphan(event, "signed progress note"))?;
                note.addenda.push(e.clone());
            }
            SessionEvent::AmendmentRequested(e) => {
                session.amendments.push(AmendmentView { requested: e.clone(), outcome: None });
            }
            SessionEvent::AmendmentDecided(e) => {
                let a = session.amendments.iter_mut().find(|a| a.requested.amendment_id == e.amendment_id);
                let a = a.ok_or_else(|| orphan(event, "amendment request"))?;
                a.outcome = Some(AmendmentOutcome {
                    decision: e.decision.clone(),
                    decided_by: e.decided_by,
                    decided_at: e.decided_at,
                });
            }
        }
        Ok(())
    }

    /// An estimate issued at `issued_at` covers the services of its period (see
    /// [`BillingSummary`](super::BillingSummary)): none of them is missing one any more.
    pub(super) fn estimate_given(&mut self, issued_at: DateTime<Utc>) {
        for session in &mut self.sessions {
            let starts = session.starts_at;
            if starts.date_naive() >= issued_at.date_naive() && estimate::covers(issued_at, starts, issued_at) {
                session.estimate_due_by = None;
            }
        }
    }

    /// Index of a session in [`sessions`](Self::sessions), or an orphan error.
    pub(super) fn session_index(&self, event: &RecordedEvent, id: SessionId) -> Result<usize, ViewError> {
        self.sessions.iter().position(|s| s.session_id == id).ok_or_else(|| orphan(event, "session"))
    }
}
