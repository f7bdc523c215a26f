//! The vault's errors, and how they surface through the event store's typed errors.

use carelog_store::{Position, StoreError};

use crate::cipher::CipherError;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(transparent)]
    Cipher(#[from] CipherError),
    #[error("key store unavailable: {0}")]
    Unavailable(String),
    #[error("key store database error: {0}")]
    Database(String),
}

impl From<sqlx::Error> for VaultError {
    fn from(error: sqlx::Error) -> Self {
        VaultError::from(StoreError::from(error))
    }
}

impl From<StoreError> for VaultError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(e) => VaultError::Unavailable(e),
            other => VaultError::Database(other.to_string()),
        }
    }
}

impl VaultError {
    /// As a store error: a key that will not unwrap or a field that will not open is a corrupt
    /// row at `position` (the caller can act on it: restore, or check the master key).
    pub fn into_store_error(self, position: Position) -> StoreError {
        match self {
            VaultError::Cipher(e) => StoreError::Corrupt { position, reason: e.to_string() },
            VaultError::Unavailable(e) => StoreError::Unavailable(e),
            VaultError::Database(e) => StoreError::Database(e),
        }
    }
}
