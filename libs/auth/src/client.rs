//! The client side: what a Carelog tool (the demo, the CLI, benchmarks, tests) sends to say who it is.

use std::time::Duration;

use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use uuid::Uuid;

use super::{CLINICIAN_HEADER, Role, TokenIssuer};
use crate::actor::{ACTOR_HEADER, NAME_HEADER, ROLE_HEADER};
use crate::settings::AuthSettingsError;

/// How long tokens minted for a tool's own calls stay valid.
const TOOL_TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// Where a tool's tokens come from.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// Mint a token per caller from the shared secret.
    Issuer(TokenIssuer),
    /// One token given by the operator (`CARELOG_TOKEN`): every caller is whoever it names.
    Token(String),
    /// No token: name the caller in headers (servers started with `--allow-anonymous`).
    SelfNamed,
}

impl Credentials {
    /// `CARELOG_TOKEN`, else a minter from `CARELOG_AUTH_SECRET`, else self-named callers.
    pub fn from_env() -> Result<Self, AuthSettingsError> {
        if let Some(token) = std::env::var("CARELOG_TOKEN").ok().filter(|t| !t.trim().is_empty()) {
            return Ok(Self::Token(token.trim().to_owned()));
        }
        match std::env::var("CARELOG_AUTH_SECRET").ok().filter(|s| !s.is_empty()) {
            Some(secret) => {
                let issuer =
                    std::env::var("CARELOG_AUTH_ISSUER").unwrap_or_else(|_| super::token::DEFAULT_ISSUER.into());
                let audience =
                    std::env::var("CARELOG_AUTH_AUDIENCE").unwrap_or_else(|_| super::token::DEFAULT_AUDIENCE.into());
                Ok(Self::Issuer(
                    TokenIssuer::hs256(secret.as_bytes(), &issuer, &audience).map_err(AuthSettingsError::Key)?,
                ))
            }
            None => Ok(Self::SelfNamed),
        }
    }

    /// A caller acting as `subject` in `role` (a clinical role acts as the clinician `subject`).
    pub fn caller(&self, subject: Uuid, role: Role) -> CallAs {
        self.named_caller(subject, role, None)
    }

    /// A caller with a display name, recorded with what they do (a given token keeps its own).
    pub fn named_caller(&self, subject: Uuid, role: Role, name: Option<&str>) -> CallAs {
        let bearer = match self {
            Self::Issuer(issuer) => Some(issuer.mint_named(subject, role, None, name, TOOL_TOKEN_LIFETIME)),
            Self::Token(token) => Some(token.clone()),
            Self::SelfNamed => None,
        };
        CallAs {
            subject,
            role,
            name: name.and_then(|n| AsciiMetadataValue::try_from(n).ok()),
            bearer: bearer.and_then(|token| MetadataValue::try_from(format!("Bearer {token}")).ok()),
        }
    }
}

/// Adds the caller's credentials (and the current trace context) to every request.
#[derive(Debug, Clone)]
pub struct CallAs {
    pub subject: Uuid,
    pub role: Role,
    /// Sent in a header for servers without tokens (ASCII names only; a token carries any name).
    name: Option<AsciiMetadataValue>,
    bearer: Option<AsciiMetadataValue>,
}

impl tonic::service::Interceptor for CallAs {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let metadata = request.metadata_mut();
        // Self-named headers go along with a token: a server with tokens ignores them, and one
        // started with --allow-anonymous reads them.
        let value =
            |text: String| AsciiMetadataValue::try_from(text).map_err(|_| tonic::Status::internal("caller header"));
        metadata.insert(ACTOR_HEADER, value(self.subject.to_string())?);
        metadata.insert(ROLE_HEADER, value(self.role.as_str().to_owned())?);
        if self.role.is_clinical() {
            metadata.insert(CLINICIAN_HEADER, value(self.subject.to_string())?);
        }
        if let Some(name) = &self.name {
            metadata.insert(NAME_HEADER, name.clone());
        }
        if let Some(bearer) = &self.bearer {
            metadata.insert("authorization", bearer.clone());
        }
        crate::telemetry::inject_trace_context(request.metadata_mut());
        Ok(request)
    }
}
