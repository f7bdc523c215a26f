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
    /// Stores `wrapped` as the client's key unless they have one or were shredded, and returns
    /// what is stored then: of concurrent callers at most one row is written, and all of them get
    /// that row back (a shredded client gets the tombstone and no key).
    ///
    /// The write commits without waiting for its own WAL flush, so a new client's first command
    /// pays one fsync (its append's), not two. That is durable enough because the WAL is flushed
    /// in order: the key is written before any append sealed with it, so that append's durable
    /// commit flushes the key's commit record with it. A crash in between can lose the key only
    /// together with everything sealed with it, or leave an orphan key that the retried command
    /// finds and reuses.
    async fn get_or_insert(&self, client: &str, wrapped: &[u8], at: DateTime<Utc>) -> Result<StoredKey, VaultError>;

    /// The client's stored key and tombstone.
    async fn lookup(&self, client: &str) -> Result<StoredKey, VaultError>;

    /// Records the tombstone and deletes the key in one transaction, then makes the backend drop
    /// the deleted bytes (SQLite: `secure_delete` and a WAL truncation; PostgreSQL: `VACUUM`).
    /// Repeating it is harmless.
    async fn shred(&self, client: &str, reason: &str, at: DateTime<Utc>) -> Result<ShredReport, VaultError>;

    /// When the client was shredded, if they were.
    async fn shredded_at(&self, client: &str) -> Result<Option<DateTime<Utc>>, VaultError>;
}
