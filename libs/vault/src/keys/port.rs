//! The vault's storage port: the rows of client keys and shredded clients, on any backend. The
//! key store above it wraps, unwraps and caches; an adapter only stores bytes and tombstones.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::ShredReport;
use crate::error::VaultError;

/// What is stored about one client's key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredKey {
    /// The data key wrapped by the master key; `None` if never created or shredded.
    pub wrapped: Option<Vec<u8>>,
    /// Whether the client was shredded (then no key is ever stored for them again).
    pub shredded: bool,
}

/// A new client's key, wrapped by the master key, to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    pub client: String,
    pub wrapped: Vec<u8>,
}

/// Where client keys live. Every method is safe against concurrent callers in any process.
#[async_trait]
pub trait ClientKeyRows: Send + Sync + std::fmt::Debug {
    /// Stores `wrapped` as the client's key unless they have one or were shredded, and returns
    /// what is stored then: of concurrent callers at most one row is written, and all of them get
    /// that row back (a shredded client gets the tombstone and no key). Used when the log cannot
    /// commit the key with the append ([`carelog_store::AppendWithKeys`]; KurrentDB's log).
    ///
    /// The key must be durable wherever the append sealed with it will commit. On SQLite that is
    /// the same file, whose WAL is flushed in order: the key may commit without its own fsync
    /// (`synchronous=NORMAL`), and the append's durable commit flushes it too. On PostgreSQL it
    /// is not enough: after a failover the append may commit on the new primary, which never
    /// received a key committed without waiting (the HA test lost one that way), so the key's
    /// commit waits for its flush and for synchronous standbys, like an append. A crash between
    /// the key and the append leaves at most an orphan key that the retried command reuses.
    async fn get_or_insert(&self, client: &str, wrapped: &[u8], at: DateTime<Utc>) -> Result<StoredKey, VaultError> {
        let key = NewKey { client: client.to_owned(), wrapped: wrapped.to_vec() };
        let mut stored = self.get_or_insert_all(std::slice::from_ref(&key), at).await?;
        stored.pop().ok_or_else(|| VaultError::Database(format!("no key row for client {client}")))
    }

    /// [`Self::get_or_insert`] for several clients (distinct) in one transaction: what is stored
    /// for each, in the order given.
    async fn get_or_insert_all(&self, keys: &[NewKey], at: DateTime<Utc>) -> Result<Vec<StoredKey>, VaultError>;

    /// The client's stored key and tombstone.
    async fn lookup(&self, client: &str) -> Result<StoredKey, VaultError>;

    /// Records the tombstone and deletes the key in one transaction, then makes the backend drop
    /// the deleted bytes (SQLite: `secure_delete` and a WAL truncation; PostgreSQL: `VACUUM`).
    /// Repeating it is harmless.
    async fn shred(&self, client: &str, reason: &str, at: DateTime<Utc>) -> Result<ShredReport, VaultError>;

    /// When the client was shredded, if they were.
    async fn shredded_at(&self, client: &str) -> Result<Option<DateTime<Utc>>, VaultError>;
}
