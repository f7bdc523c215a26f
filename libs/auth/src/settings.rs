//! How a server is told to authenticate its callers (flags and environment), and what it refuses
//! to start with.

use std::path::PathBuf;

use crate::token::{Authenticator, DEFAULT_AUDIENCE, DEFAULT_ISSUER, TokenIssuer, TokenVerifier};

/// Authentication settings a server cannot start with.
#[derive(Debug, thiserror::Error)]
pub enum AuthSettingsError {
    #[error("give either --auth-secret or --auth-public-key, not both")]
    TwoKeys,
    /// The secret or the public key is unusable (too short, not a PEM key…).
    #[error("{0}")]
    Key(String),
    #[error("reading the token public key {}: {error}", path.display())]
    ReadKey { path: PathBuf, error: std::io::Error },
    #[error(
        "no token key configured: set CARELOG_AUTH_SECRET (or --auth-public-key), or pass --allow-anonymous for local use"
    )]
    NoKey,
}

/// Authentication settings shared by `carelog serve` and the single-service binaries.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AuthArgs {
    /// Shared secret for HS256 tokens (at least 32 bytes). Prefer the environment variable.
    #[arg(long, env = "CARELOG_AUTH_SECRET", hide_env_values = true)]
    pub auth_secret: Option<String>,
    /// PEM public key (RSA → RS256, EC P-256 → ES256) of the identity provider that signs tokens.
    #[arg(long, env = "CARELOG_AUTH_PUBLIC_KEY")]
    pub auth_public_key: Option<PathBuf>,
    /// The `iss` tokens must carry.
    #[arg(long, env = "CARELOG_AUTH_ISSUER", default_value = DEFAULT_ISSUER)]
    pub auth_issuer: String,
    /// The `aud` tokens must carry.
    #[arg(long, env = "CARELOG_AUTH_AUDIENCE", default_value = DEFAULT_AUDIENCE)]
    pub auth_audience: String,
    /// Serve without authentication: callers name themselves in headers. Local use only.
    #[arg(long, env = "CARELOG_ALLOW_ANONYMOUS")]
    pub allow_anonymous: bool,
}

impl AuthArgs {
    /// The configured authenticator; refuses to run open unless anonymous use was asked for.
    pub fn authenticator(&self) -> Result<Authenticator, AuthSettingsError> {
        match (&self.auth_secret, &self.auth_public_key) {
            (Some(_), Some(_)) => Err(AuthSettingsError::TwoKeys),
            (Some(secret), None) => Ok(Authenticator::Tokens(Box::new(
                TokenVerifier::hs256(secret.as_bytes(), &self.auth_issuer, &self.auth_audience)
                    .map_err(AuthSettingsError::Key)?,
            ))),
            (None, Some(path)) => {
                let pem =
                    std::fs::read(path).map_err(|error| AuthSettingsError::ReadKey { path: path.clone(), error })?;
                Ok(Authenticator::Tokens(Box::new(
                    TokenVerifier::public_key_pem(&pem, &self.auth_issuer, &self.auth_audience)
                        .map_err(AuthSettingsError::Key)?,
                )))
            }
            (None, None) if self.allow_anonymous => {
                tracing::warn!("authentication is OFF (--allow-anonymous): callers name themselves; local use only");
                eprintln!("warning: authentication is off (--allow-anonymous); never expose this server");
                Ok(Authenticator::Anonymous)
            }
            (None, None) => Err(AuthSettingsError::NoKey),
        }
    }

    /// The token minter for the configured shared secret, if there is one.
    pub fn issuer(&self) -> Result<Option<TokenIssuer>, AuthSettingsError> {
        self.auth_secret
            .as_deref()
            .map(|secret| TokenIssuer::hs256(secret.as_bytes(), &self.auth_issuer, &self.auth_audience))
            .transpose()
            .map_err(AuthSettingsError::Key)
    }
}
