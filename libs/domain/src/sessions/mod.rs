//! The session aggregate (`session-{uuid}`): scheduling, the session held (or cancelled, or a
//! no-show), its progress note (locked once signed; changed only by addenda), and HIPAA
//! §164.526 amendment requests against it.
//!
//! `PsychotherapyNoteRecorded` is decided here, because it needs the session's facts (held, by
//! whom), but it is appended to the note's own stream, `psynote-{uuid}`
//! ([`PsychotherapyNoteId::stream_name`](crate::types::PsychotherapyNoteId::stream_name)), so it
//! can be keyed, read-guarded and excluded from exports separately;
//! [`SessionEvent::stream_name`] routes it. `EpisodeClosed` is in [`crate::intake`].

mod command;
mod decide;
pub mod estimate;
mod event;
mod note;
mod state;
#[cfg(test)]
mod tests;

pub use command::{AmendmentResponse, LATE_ENTRY_AFTER, SessionCommand, SessionContext, SessionSettings};
pub use decide::{decide, evolve};
pub use estimate::EstimatePolicy;
pub use event::{
    AmendmentDecided, AmendmentRequested, LateEntry, NoShowRecorded, NoteAddendumAppended, ProgressNoteSigned,
    PsychotherapyNoteRecorded, SessionCancelled, SessionEvent, SessionHeld, SessionScheduled,
};
pub use note::{AddendumKind, AmendmentDecision, CancelledBy, DenialBasis, NoteContent, NoteFormat, SessionKind};
pub use state::{AmendmentRecord, SessionState, SessionStatus, SignedNote};
