//! Errors as FHIR OperationOutcomes with the HTTP status a FHIR client acts on.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use carelog_executor::ServiceError;
use serde_json::{Value, json};

/// The FHIR JSON media type every answer carries.
pub const FHIR_JSON: &str = "application/fhir+json";

/// Why a FHIR interaction failed.
#[derive(Debug, thiserror::Error)]
pub enum FhirError {
    /// A malformed parameter, path or body (400).
    #[error("{0}")]
    Invalid(String),
    /// No (or a bad, expired, forged) credential (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// The policy refused the caller; already written to the access log (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such resource, version or job — or one the caller may not know of (404).
    #[error("{0}")]
    NotFound(String),
    /// An interaction, type or parameter this server does not offer (501 / 400 per the spec).
    #[error("{0}")]
    NotSupported(String),
    /// A method this read-only server does not take on that path (405).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The resource existed but is gone (a cancelled or expired export: 410).
    #[error("{0}")]
    Gone(String),
    /// Too many concurrent exports for this caller (429).
    #[error("{0}")]
    TooMany(String),
    /// The store is unreachable (503).
    #[error("the record store is unavailable: {0}")]
    Unavailable(String),
    /// Our fault (500); the detail goes to the log, not the caller.
    #[error("internal error")]
    Internal(String),
}

impl FhirError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::NotSupported(_) => StatusCode::NOT_IMPLEMENTED,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Gone(_) => StatusCode::GONE,
            Self::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The issue type (http://hl7.org/fhir/issue-type).
    fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid",
            Self::Unauthenticated(_) => "login",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) | Self::Gone(_) => "not-found",
            Self::NotSupported(_) | Self::MethodNotAllowed(_) => "not-supported",
            Self::TooMany(_) => "throttled",
            Self::Unavailable(_) => "transient",
            Self::Internal(_) => "exception",
        }
    }

    pub fn outcome(&self) -> Value {
        operation_outcome("error", self.code(), &self.to_string())
    }
}

/// An OperationOutcome with one issue.
pub fn operation_outcome(severity: &str, code: &str, text: &str) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{ "severity": severity, "code": code, "diagnostics": text }],
    })
}

impl IntoResponse for FhirError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            tracing::error!(%detail, "FHIR request failed");
        }
        let mut response = fhir_json(self.status(), &self.outcome());
        if matches!(self, Self::Unauthenticated(_)) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"carelog\""));
        }
        response
    }
}

impl From<ServiceError> for FhirError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Invalid(_) => Self::Invalid(error.to_string()),
            ServiceError::NotFound { what, id } => Self::NotFound(format!("{what} {id} not found")),
            ServiceError::Unauthenticated(m) => Self::Unauthenticated(m),
            ServiceError::PermissionDenied { code, message } => Self::Forbidden(format!("{code}: {message}")),
            ServiceError::Store(e) if e.is_transient() => Self::Unavailable(e.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<carelog_store::StoreError> for FhirError {
    fn from(error: carelog_store::StoreError) -> Self {
        ServiceError::from(error).into()
    }
}

/// A FHIR JSON answer.
pub fn fhir_json(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    response
}
