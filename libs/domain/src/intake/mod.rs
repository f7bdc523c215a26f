//! The client aggregate (`client-{uuid}`): registration, episodes of care, consents,
//! standardized assessments with risk flags, diagnoses and Good Faith Estimates.
//!
//! `EpisodeClosed` lives here, not in the session aggregate: the episode is opened here, and every
//! other aggregate learns whether an episode is open by reading this stream. The sessions service
//! closes an episode by deciding [`IntakeCommand::CloseEpisode`] with the number of unsigned
//! progress notes it counted in [`IntakeContext::unsigned_notes`].

mod command;
mod decide;
mod event;
mod state;
#[cfg(test)]
mod tests;

pub use command::{EstimateRequestLine, IntakeCommand, IntakeContext};
pub use decide::{MAX_RETENTION_YEARS, decide, evolve};
pub use event::{
    AssessmentRecorded, ClientErased, ClientRegistered, ConsentExpiry, ConsentGiven, ConsentKind, ConsentRevoked,
    Contact, Demographics, DiagnosisRecorded, DiagnosisRevised, DiagnosisRevision, EpisodeClosed, EpisodeOpened,
    EstimateLine, GoodFaithEstimateIssued, IntakeEvent, LegalHoldPlaced, LegalHoldReleased, Part2Consent, Payer,
    ReleaseOfInformation, RiskFlagAcknowledged, RiskFlagRaised,
};
pub use state::{AssessmentSummary, ClientState, ConsentRecord, ConsentType, EpisodeRecord, EpisodeStatus, RiskFlag};
