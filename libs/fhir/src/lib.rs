//! Carelog → FHIR R4: one client's care episode as FHIR resources, for EHR connectors.
//!
//! The input is an [`EpisodeRecord`]: the client's events folded with the read side's own folds
//! ([`EpisodeView`](carelog_projections::EpisodeView) and one
//! [`LedgerView`](carelog_projections::LedgerView) per billing account), plus a [`Stamps`] index
//! that remembers, per exported resource, the event that last changed it. Mapping is pure: the
//! records service reads the events, this crate turns them into JSON.
//!
//! | FHIR resource | from | `id` |
//! |---------------|------|------|
//! | Patient | registration | client id |
//! | EpisodeOfCare | episode opened / closed | episode id |
//! | Consent | consent given / revoked | consent id |
//! | Condition | diagnosis recorded / revised | derived from (client, diagnosis index) |
//! | Observation | PHQ-9 / GAD-7 | assessment id |
//! | CarePlan, Goal | the treatment plan and its goals | plan id, goal id |
//! | Encounter | a session | session id |
//! | DocumentReference | a signed progress note; each addendum on its own | derived from the session; addendum id |
//! | Coverage, Claim | a billing account's payer; a submitted claim | account id; claim id |
//! | Provenance | one per resource version: who, when, why | derived from (type, id, version) |
//! | Practitioner | every person a resource names (clinicians, staff in Provenance and AuditEvent) | the person's id |
//! | AuditEvent | an allowed read of the record (a `RecordAccessed` entry of the access log) | the read's event id |
//!
//! Ids are the domain's UUIDs (or UUIDv5s derived from them), so a resource keeps its id across
//! exports and a connector can upsert. `meta.versionId` is the revision (within its stream) of the
//! event that last changed the resource and `meta.lastUpdated` that event's recorded time; every
//! resource maps to exactly one stream, so no resource needs a cross-stream version.
//!
//! Psychotherapy notes are never exported: the episode view holds only their count, and nothing
//! here reads the `psynote-…` streams' data.
#![forbid(unsafe_code)]

mod bundle;
mod claim;
mod clinical;
mod codes;
mod consent;
mod encounter;
pub mod history;
mod ids;
mod patient;
mod plan;
mod practitioner;
mod provenance;
mod record;
#[cfg(feature = "r4-schema")]
pub mod schema;
mod stamps;

pub use bundle::{Resource, bundle, resources};
pub use record::{EpisodeRecord, FhirError, Folder, RecordRead};
pub use stamps::{Stamp, Stamps};

/// How resources point at each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefStyle {
    /// `urn:uuid:{id}`, resolving to the `fullUrl` of an entry in the same Bundle.
    Urn,
    /// `{Type}/{id}`, for NDJSON bulk files where resources stand alone.
    Relative,
}
