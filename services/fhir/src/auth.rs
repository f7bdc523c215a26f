//! Who calls the FHIR server: a Carelog bearer token (the same tokens and keys as the gRPC
//! services), or an access token this server issued through SMART Backend Services.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use carelog_auth::{Authenticator, PURPOSE_HEADER, authenticate};

use crate::FhirState;
use crate::gate::{Caller, purpose};
use crate::outcome::FhirError;
use crate::smart::Smart;

/// How the FHIR server authenticates.
#[derive(Debug, Clone)]
pub struct Auth {
    pub carelog: Authenticator,
    /// SMART Backend Services (registered clients), when configured.
    pub smart: Option<Arc<Smart>>,
}

impl Auth {
    pub fn caller(&self, headers: &HeaderMap) -> Result<Caller, FhirError> {
        let declared = match headers.get(PURPOSE_HEADER) {
            Some(value) => Some(
                value.to_str().map_err(|_| FhirError::Invalid(format!("the {PURPOSE_HEADER} header is not text")))?,
            ),
            None => None,
        };
        // A token this server issued is tried first: its issuer differs from Carelog tokens', so
        // one can never pass for the other.
        if let (Some(smart), Some(token)) = (&self.smart, bearer(headers))
            && let Some(granted) = smart.verify_access_token(token)
        {
            let (principal, types) = granted?;
            let purpose = purpose(declared, &principal)?;
            return Ok(Caller { principal, purpose, types });
        }
        let principal = authenticate(&self.carelog, headers).map_err(FhirError::Unauthenticated)?;
        let purpose = purpose(declared, &principal)?;
        Ok(Caller { principal, purpose, types: None })
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).map(str::trim)
}

impl FromRequestParts<Arc<FhirState>> for Caller {
    type Rejection = FhirError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<FhirState>) -> Result<Self, Self::Rejection> {
        state.auth.caller(&parts.headers)
    }
}
