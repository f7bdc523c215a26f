//! Per-client data keys, wrapped by the master key, and their shredding. The rows live behind the
//! [`ClientKeyRows`] port, one adapter per backend ([`adapters`]).

pub mod adapters;
mod creating;
mod port;
mod postgres;
mod sqlite;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use carelog_store::Database;
use chrono::{DateTime, Utc};

use crate::cipher::{self, SecretKey};
use crate::error::VaultError;

pub use port::{ClientKeyRows, NewKey, StoredKey};

use creating::KeyCreation;

/// How long an unwrapped key is trusted without looking at the database again. A shred in this
/// process takes effect at once; one in another process within this time.
const CACHE_TTL: Duration = Duration::from_secs(30);

/// A client's key, or the fact that it was shredded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientKey {
    Key(SecretKey),
    Shredded,
}

/// What a shred did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShredReport {
    /// False when the key was already gone (a repeated erase).
    pub key_deleted: bool,
    /// SQLite: the WAL was checkpointed and truncated, so no copy of the key is left in it.
    pub wal_truncated: Option<bool>,
}

/// Data keys of every client.
#[derive(Debug, Clone)]
pub struct KeyStore {
    rows: Arc<dyn ClientKeyRows>,
    master: SecretKey,
    cache: Arc<RwLock<Cache>>,
    creation: Arc<KeyCreation>,
}

#[derive(Debug, Default)]
struct Cache {
    keys: HashMap<String, (SecretKey, Instant)>,
    /// Shredding is final, so this never expires.
    shredded: HashSet<String>,
}

impl KeyStore {
    /// Opens the key tables in `db`, creating them if needed.
    pub async fn open(db: Database, master: SecretKey) -> Result<Self, VaultError> {
        Ok(Self::with_rows(adapters::key_rows(db).await?, master))
    }

    /// The key store over rows kept anywhere.
    pub fn with_rows(rows: Arc<dyn ClientKeyRows>, master: SecretKey) -> Self {
        Self { rows, master, cache: Arc::default(), creation: Arc::default() }
    }

    /// The key of the client-search blind index, derived from the master key: it never touches
    /// the database, and erasing a client removes their index rows (the read models do).
    pub fn search_key(&self) -> [u8; 32] {
        self.master.derive("client search blind index v1")
    }

    /// The client's key, created on first use; `Shredded` once erased (never re-created).
    pub async fn key_for_writing(&self, client: &str) -> Result<ClientKey, VaultError> {
        if let Some(found) = self.cached(client) {
            return Ok(found);
        }
        let wrapped = cipher::wrap(&self.master, client, &SecretKey::generate());
        // Race-safe: concurrent creators insert at most one row and all get that row back; those
        // of this process share a transaction.
        let key = NewKey { client: client.to_owned(), wrapped };
        let stored = self.creation.get_or_insert(&self.rows, key).await?;
        self.remember(client, stored)?.ok_or_else(|| VaultError::Database(format!("no key row for client {client}")))
    }

    /// A new key for a client who has none, and the key wrapped for storing with the append
    /// sealed under it ([`carelog_store::AppendWithKeys`]).
    pub(crate) fn fresh_key(&self, client: &str) -> (SecretKey, Vec<u8>) {
        let key = SecretKey::generate();
        let wrapped = cipher::wrap(&self.master, client, &key);
        (key, wrapped)
    }

    /// Caches a key that was stored with an append.
    pub(crate) fn remember_stored(&self, client: &str, key: SecretKey) {
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        cache.keys.insert(client.to_owned(), (key, Instant::now()));
    }

    /// The client's key for reading: `None` if no PHI was ever sealed for them.
    pub async fn key_for_reading(&self, client: &str) -> Result<Option<ClientKey>, VaultError> {
        if let Some(found) = self.cached(client) {
            return Ok(Some(found));
        }
        self.load(client).await
    }

    /// Deletes the client's key for good and records the tombstone. SQLite overwrites the freed
    /// bytes (`secure_delete`) and truncates the WAL; PostgreSQL vacuums the table so the dead
    /// row's bytes are reclaimed. Repeating it is harmless.
    pub async fn shred(&self, client: &str, reason: &str) -> Result<ShredReport, VaultError> {
        let report = self.rows.shred(client, reason, Utc::now()).await?;
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        cache.keys.remove(client);
        cache.shredded.insert(client.to_owned());
        Ok(report)
    }

    /// When the client was shredded, if they were.
    pub async fn shredded_at(&self, client: &str) -> Result<Option<DateTime<Utc>>, VaultError> {
        self.rows.shredded_at(client).await
    }

    pub(crate) fn cached(&self, client: &str) -> Option<ClientKey> {
        let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
        if cache.shredded.contains(client) {
            return Some(ClientKey::Shredded);
        }
        cache.keys.get(client).filter(|(_, at)| at.elapsed() < CACHE_TTL).map(|(key, _)| ClientKey::Key(key.clone()))
    }

    /// The client's key as stored, cached once found.
    pub(crate) async fn load(&self, client: &str) -> Result<Option<ClientKey>, VaultError> {
        let stored = self.rows.lookup(client).await?;
        self.remember(client, stored)
    }

    /// Unwraps and caches what is stored for the client.
    fn remember(
        &self,
        client: &str,
        StoredKey { wrapped, shredded }: StoredKey,
    ) -> Result<Option<ClientKey>, VaultError> {
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if shredded {
            cache.shredded.insert(client.to_owned());
            return Ok(Some(ClientKey::Shredded));
        }
        let Some(wrapped) = wrapped else { return Ok(None) };
        let key = cipher::unwrap(&self.master, client, &wrapped)?;
        cache.keys.insert(client.to_owned(), (key.clone(), Instant::now()));
        Ok(Some(ClientKey::Key(key)))
    }
}
