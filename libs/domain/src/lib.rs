//! Carelog clinical domain: validated value types, versioned events and, per aggregate, a pure
//! `decide` / `evolve` pair.
//!
//! Nothing here performs I/O or reads the clock inside a decision: the service layer parses
//! requests into the value types in [`types`], loads the streams a command depends on, fills the
//! aggregate's context (including `now`) and appends whatever `decide` returns.
//!
//! | aggregate | stream | module |
//! |-----------|--------|--------|
//! | client (intake, episode, consents, assessments, diagnoses) | `client-{uuid}` | [`intake`] |
//! | treatment plan | `plan-{uuid}` | [`planning`] |
//! | session and its progress note | `session-{uuid}` | [`sessions`] |
//! | billing account | `account-{uuid}` | [`billing`] |
//!
//! The access log (`access-{uuid}`, [`access`]) is no aggregate: the read gate appends to it and
//! nothing decides on it, but its entries are domain events like the others.
#![forbid(unsafe_code)]

pub mod access;
pub mod billing;
pub mod disclosure;
mod entity;
pub mod error;
pub mod event;
mod field_classes;
pub mod intake;
pub mod planning;
pub mod sessions;
pub mod types;
pub mod upcast;

#[cfg(test)]
mod testing;

pub use error::{DecodeError, DomainError, Entity, ValidationError};
