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

/// Where client keys live. Every method is safe against concurrent callers in any process.
#[async_trait]
pub trait ClientKeyRows: Send + Sync + std::fmt::Debug {
    /// Stores `wrapped` as the client's key unless they have one or were shredded: of concurrent
    /// callers at most one row is written, and all of them read that row back with [`lookup`](Self::lookup).
    async fn insert_if_absent(&self, client: &str, wrapped: &[u8], at: DateTime<Utc>) -> Result<(), VaultError>;

    /// The client's stored key and tombstone.
    async fn lookup(&self, client: &str) -> Result<StoredKey, VaultError>;

    /// Records the tombstone and deletes the key in one transaction, then makes the backend drop
    /// the deleted bytes (SQLite: `secure_delete` and a WAL truncation; PostgreSQL: `VACUUM`).
    /// Repeating it is harmless.
    async fn shred(&self, client: &str, reason: &str, at: DateTime<Utc>) -> Result<ShredReport, VaultError>;

    /// When the client was shredded, if they were.
    async fn shredded_at(&self, client: &str) -> Result<Option<DateTime<Utc>>, VaultError>;
}
