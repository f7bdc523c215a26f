//! Carelog read models: pure folds from the event log to the views the records service serves.
//!
//! | view | one per | built from |
//! |------|---------|------------|
//! | [`EpisodeView`] | client | the client, plan, session, psychotherapy-note and account streams tagged with the client |
//! | [`LedgerView`] | billing account | the account stream |
//! | [`AuditEntry`] | event | any envelope's metadata (never its data) |
//! | [`caseload_alerts`] | client, at a time | an [`EpisodeView`] |
//!
//! The views are pure: the [`Runner`] reads the log, calls `apply` on each view in position order
//! and stores the result beside the log ([`persist`]) with its checkpoint, in one transaction. Views are deterministic — the
//! same events always serialize to the same JSON — so a view rebuilt from position 0 can be
//! compared byte for byte with the live one.
#![forbid(unsafe_code)]

mod audit;
mod caseload;
mod catch_up;
pub mod classes;
mod decode;
pub mod episode;
mod error;
mod fold;
pub mod leader;
pub mod ledger;
mod live_commit;
mod metrics;
pub mod persist;
mod projection_error;
mod projector;
pub mod quarantine;
mod routing;
mod runner;
pub mod search;
#[cfg(test)]
mod testing;

pub use audit::{AccessFacts, AuditEntry};
pub use caseload::{AlertKind, CaseloadAlert, NOTE_SIGNING_WINDOW, REVIEW_WARNING_DAYS, caseload_alerts};
pub use episode::EpisodeView;
pub use error::ViewError;
pub use ledger::{AgingBuckets, LedgerView};
pub use live_commit::ReadDemand;
pub use projection_error::ProjectionError;
pub use projector::{Projector, ProjectorOptions, ProjectorRole};
pub use runner::{Progress, RECORDS, Runner};
