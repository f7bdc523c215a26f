//! Everything a command or a read can fail with, in the service's terms: a field at fault, a
//! domain rule, the store, a refusal. The mapping to gRPC is `status.rs` (feature `grpc`).

use carelog_domain::{DomainError, ValidationError};
use carelog_store::StoreError;

/// A request field that failed validation, named by its proto path (e.g. `demographics.date_of_birth`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self { field: field.into(), description: description.into() }
    }
}

impl From<ValidationError> for FieldViolation {
    fn from(error: ValidationError) -> Self {
        Self { field: error.field.to_string(), description: error.reason.to_string() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid request: {}", describe(.0))]
    Invalid(Vec<FieldViolation>),
    #[error("{0}")]
    Domain(#[from] DomainError),
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A record the request names does not exist (for the read side; the write side's come from the domain).
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("missing caller identity: {0}")]
    Unauthenticated(String),
    /// The policy refused the caller (already written to the access log).
    #[error("permission denied: {message}")]
    PermissionDenied { code: &'static str, message: String },
    #[error("command id {command_id} was already used for a different command")]
    CommandIdReused { command_id: String },
    #[error("a stored event cannot be decoded: {0}")]
    Decode(String),
    /// The server was started without what this call needs (e.g. the vault's master key).
    #[error("{0}")]
    NotConfigured(String),
}

fn describe(violations: &[FieldViolation]) -> String {
    violations.iter().map(|v| format!("{}: {}", v.field, v.description)).collect::<Vec<_>>().join("; ")
}

impl ServiceError {
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldViolation::new(field, description)])
    }
}

impl From<ValidationError> for ServiceError {
    fn from(error: ValidationError) -> Self {
        Self::Invalid(vec![error.into()])
    }
}

impl From<FieldViolation> for ServiceError {
    fn from(violation: FieldViolation) -> Self {
        Self::Invalid(vec![violation])
    }
}
