//! One mapping from everything a command can fail with to a `tonic::Status` a caller can act on:
//! the right code, the field at fault (BadRequest), and a stable reason code (ErrorInfo).

use std::collections::HashMap;

use carelog_domain::DomainError;
use carelog_store::StoreError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::error::{FieldViolation, ServiceError};

/// The error domain in every ErrorInfo Carelog returns.
pub const ERROR_DOMAIN: &str = "carelog.v1";

impl From<ServiceError> for Status {
    fn from(error: ServiceError) -> Self {
        let message = error.to_string();
        match error {
            ServiceError::Invalid(violations) => bad_request(&message, violations),
            ServiceError::Domain(DomainError::Invalid(violation)) => bad_request(&message, vec![violation.into()]),
            ServiceError::Domain(domain) => {
                let code = match &domain {
                    DomainError::NotFound { .. } => Code::NotFound,
                    DomainError::AlreadyExists { .. } => Code::AlreadyExists,
                    _ => Code::FailedPrecondition,
                };
                with_reason(code, &message, domain.code(), HashMap::new())
            }
            ServiceError::Store(store) => store_status(&message, store),
            ServiceError::NotFound { what, .. } => {
                let reason = format!("{}_NOT_FOUND", what.to_ascii_uppercase());
                with_reason(Code::NotFound, &message, &reason, HashMap::new())
            }
            ServiceError::Unauthenticated(_) => Status::unauthenticated(message),
            ServiceError::PermissionDenied { code, .. } => {
                with_reason(Code::PermissionDenied, &message, code, HashMap::new())
            }
            ServiceError::NotConfigured(_) => {
                with_reason(Code::FailedPrecondition, &message, "NOT_CONFIGURED", HashMap::new())
            }
            ServiceError::CommandIdReused { .. } => {
                with_reason(Code::AlreadyExists, &message, "COMMAND_ID_REUSED", HashMap::new())
            }
            ServiceError::Decode(_) => {
                tracing::error!(%message, "stored event cannot be decoded");
                with_reason(
                    Code::Internal,
                    "a stored event cannot be decoded; run `carelog verify`",
                    "DECODE_FAILED",
                    HashMap::new(),
                )
            }
        }
    }
}

fn store_status(message: &str, error: StoreError) -> Status {
    match error {
        StoreError::Invalid(invalid) => {
            bad_request(message, vec![FieldViolation::new(invalid.field(), invalid.to_string())])
        }
        StoreError::Conflict { stream, expected, actual } => {
            let mut details = HashMap::new();
            details.insert("stream".to_owned(), stream);
            details.insert("expected_revision".to_owned(), expected.to_string());
            details.insert("actual_revision".to_owned(), actual.map_or_else(|| "none".to_owned(), |r| r.to_string()));
            with_reason(Code::Aborted, message, "CONCURRENCY_CONFLICT", details)
        }
        // The vault seals again and retries; only a client's keys being created and erased at
        // the same moment outlasts that.
        StoreError::ClientKeyTaken { .. } => {
            with_reason(Code::Aborted, message, "CONCURRENCY_CONFLICT", HashMap::new())
        }
        StoreError::EventIdInOtherStream { .. } | StoreError::IdempotencyMismatch { .. } => {
            with_reason(Code::AlreadyExists, message, "COMMAND_ID_REUSED", HashMap::new())
        }
        StoreError::Unavailable(_) => with_reason(Code::Unavailable, message, "STORE_UNAVAILABLE", HashMap::new()),
        StoreError::Unsupported { .. } => {
            with_reason(Code::Unimplemented, message, "STORE_UNSUPPORTED", HashMap::new())
        }
        StoreError::Corrupt { .. } | StoreError::Database(_) => {
            tracing::error!(%message, "event store failure");
            with_reason(Code::Internal, "event store failure; see the server log", "STORE_FAILURE", HashMap::new())
        }
    }
}

fn bad_request(message: &str, violations: Vec<FieldViolation>) -> Status {
    let mut details = ErrorDetails::new();
    for violation in violations {
        details.add_bad_request_violation(violation.field, violation.description);
    }
    Status::with_error_details(Code::InvalidArgument, message, details)
}

fn with_reason(code: Code, message: &str, reason: &str, metadata: HashMap<String, String>) -> Status {
    Status::with_error_details(code, message, ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata))
}
