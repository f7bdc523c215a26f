//! What a server cannot start with: its settings (auth, TLS) or the services every router mounts.

use std::path::PathBuf;

use carelog_auth::AuthSettingsError;

#[derive(Debug, thiserror::Error)]
pub enum ServerSetupError {
    #[error(transparent)]
    Auth(#[from] AuthSettingsError),
    #[error(
        "no TLS certificate configured: set --tls-cert and --tls-key (CARELOG_TLS_CERT/KEY), or pass --allow-plaintext for local use"
    )]
    NoTls,
    #[error("reading the {what} {}: {error}", path.display())]
    Read { what: &'static str, path: PathBuf, error: std::io::Error },
    #[error("configuring TLS: {0}")]
    Tls(tonic::transport::Error),
    #[error("server reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}
