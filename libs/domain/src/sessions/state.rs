//! A session as folded from its events.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};

use super::event::{SessionEvent, SessionHeld};
use super::note::SessionKind;
use crate::types::{AddendumId, AmendmentId, ClientId, ClinicianId, ContentHash, EpisodeId, NoteText, SessionId};

/// Where a session stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SessionStatus {
    /// No event yet.
    #[default]
    Unscheduled,
    Scheduled,
    Held,
    Cancelled,
    NoShow,
}

impl SessionStatus {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Unscheduled => "unscheduled",
            Self::Scheduled => "scheduled",
            Self::Held => "held",
            Self::Cancelled => "cancelled",
            Self::NoShow => "a no-show",
        }
    }
}

/// The signature on a locked note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    pub content_hash: ContentHash,
    pub signed_by: ClinicianId,
    pub signed_at: DateTime<Utc>,
}

/// An amendment request and whether it has been answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmendmentRecord {
    pub requested_change: NoteText,
    pub respond_by: NaiveDate,
    pub decided: bool,
}

/// Folded state of one session stream. `Default` is the state before any event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionState {
    pub session_id: Option<SessionId>,
    pub client_id: Option<ClientId>,
    pub episode_id: Option<EpisodeId>,
    pub clinician_id: Option<ClinicianId>,
    pub kind: Option<SessionKind>,
    pub starts_at: Option<DateTime<Utc>>,
    pub status: SessionStatus,
    pub held: Option<SessionHeld>,
    pub note: Option<SignedNote>,
    pub addenda: BTreeSet<AddendumId>,
    pub amendments: BTreeMap<AmendmentId, AmendmentRecord>,
}

impl SessionState {
    /// A held session whose note is not signed yet (blocks closing the episode).
    pub fn has_unsigned_note(&self) -> bool {
        self.status == SessionStatus::Held && self.note.is_none()
    }

    /// Folds one event into the state.
    pub fn apply(&mut self, event: &SessionEvent) {
        match event {
            SessionEvent::SessionScheduled(e) => {
                self.session_id = Some(e.session_id);
                self.client_id = Some(e.client_id);
                self.episode_id = Some(e.episode_id);
                self.clinician_id = Some(e.clinician_id);
                self.kind = Some(e.kind);
                self.starts_at = Some(e.starts_at);
                self.status = SessionStatus::Scheduled;
            }
            SessionEvent::SessionHeld(e) => {
                self.status = SessionStatus::Held;
                self.held = Some(e.clone());
            }
            SessionEvent::SessionCancelled(_) => self.status = SessionStatus::Cancelled,
            SessionEvent::NoShowRecorded(_) => self.status = SessionStatus::NoShow,
            SessionEvent::ProgressNoteSigned(e) => {
                self.note = Some(SignedNote {
                    content_hash: e.content_hash.clone(),
                    signed_by: e.signed_by,
                    signed_at: e.signed_at,
                });
            }
            SessionEvent::NoteAddendumAppended(e) => {
                self.addenda.insert(e.addendum_id);
            }
            // Lives in its own stream; a session stream never contains it.
            SessionEvent::PsychotherapyNoteRecorded(_) => {}
            SessionEvent::AmendmentRequested(e) => {
                self.amendments.insert(
                    e.amendment_id,
                    AmendmentRecord {
                        requested_change: e.requested_change.clone(),
                        respond_by: e.respond_by,
                        decided: false,
                    },
                );
            }
            SessionEvent::AmendmentDecided(e) => {
                if let Some(a) = self.amendments.get_mut(&e.amendment_id) {
                    a.decided = true;
                }
            }
        }
    }
}
