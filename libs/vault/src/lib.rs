//! Crypto-shredding for the Carelog event log.
//!
//! PHI fields (the table in [`phi`]) are sealed with AES-256-GCM under a per-client data key
//! before they reach the store; each data key is stored wrapped by a master key that never
//! touches the database. Shredding a client's key ([`KeyStore::shred`]) erases their PHI from the
//! log and from every backup of it, while every hash (which covers the ciphertext) still verifies.
//! See docs/adr/0003-crypto-shredding.md.

#![forbid(unsafe_code)]

pub mod cipher;
mod error;
mod keys;
mod master;
pub mod phi;
mod sealed;
mod sealing_keys;

pub use cipher::{CipherError, SecretKey};
pub use error::VaultError;
pub use keys::adapters::key_rows;
pub use keys::{ClientKey, ClientKeyRows, KeyStore, NewKey, ShredReport, StoredKey};
pub use master::{MasterKeySource, load_master_key};
pub use sealed::SealedStore;

use std::sync::Arc;

use carelog_store::OpenedStore;

/// Wraps an opened store's log so every read and write goes through the client keys kept in the
/// store's database.
pub async fn seal(opened: &OpenedStore, master: SecretKey) -> Result<Arc<SealedStore>, VaultError> {
    let keys = KeyStore::open(opened.database.clone(), master).await?;
    Ok(Arc::new(SealedStore::new(Arc::clone(&opened.log), keys).with_first_keys(opened.first_keys.clone())))
}
