//! Per-client data keys in the log's database, wrapped by the master key, and their shredding.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use carelog_store::{Database, NewClientKey, StoreError};
use chrono::{DateTime, Utc};

use crate::cipher::{self, SecretKey};
use crate::error::VaultError;

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

/// Data keys of every client, in the log's database.
#[derive(Debug, Clone)]
pub struct KeyStore {
    db: Database,
    master: SecretKey,
    cache: Arc<RwLock<Cache>>,
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
        match &db {
            Database::Sqlite(db) => {
                let mut migrator = sqlx::migrate!("./migrations/sqlite");
                migrator.dangerous_set_table_name("_carelog_vault_migrations");
                migrator.run(db.pool()).await?;
            }
            Database::Postgres(pool) => {
                let mut migrator = sqlx::migrate!("./migrations/postgres");
                migrator.dangerous_set_table_name("_carelog_vault_migrations");
                migrator.run(pool).await?;
            }
        }
        Ok(Self { db, master, cache: Arc::default() })
    }

    /// The client's key, created on first use; `Shredded` once erased (never re-created).
    pub async fn key_for_writing(&self, client: &str) -> Result<ClientKey, VaultError> {
        if let Some(found) = self.cached(client) {
            return Ok(found);
        }
        let wrapped = cipher::wrap(&self.master, client, &SecretKey::generate());
        let now = Utc::now();
        // Race-safe: concurrent creators insert at most one row and all read that row back.
        match &self.db {
            Database::Sqlite(db) => {
                let _turn = db.write_turn().await;
                sqlx::query(
                    "INSERT INTO client_keys (client_id, wrapped_key, created_at)
                     SELECT ?1, ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM shredded_clients WHERE client_id = ?1)
                     ON CONFLICT (client_id) DO NOTHING",
                )
                .bind(client)
                .bind(&wrapped)
                .bind(now.timestamp_micros())
                .execute(db.pool())
                .await?;
            }
            Database::Postgres(pool) => {
                sqlx::query(
                    "INSERT INTO client_keys (client_id, wrapped_key, created_at)
                     SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM shredded_clients WHERE client_id = $1)
                     ON CONFLICT (client_id) DO NOTHING",
                )
                .bind(client)
                .bind(&wrapped)
                .bind(now)
                .execute(pool)
                .await?;
            }
        }
        self.load(client).await?.ok_or_else(|| VaultError::Database(format!("no key row for client {client}")))
    }

    /// A fresh key for a client who has none, and its row for the store to write with the append
    /// that first uses it ([`NewClientKey`]). Pass the key to [`remember`](Self::remember) once
    /// that append is stored.
    pub fn new_key(&self, client: &str) -> (SecretKey, NewClientKey) {
        let key = SecretKey::generate();
        let wrapped = cipher::wrap(&self.master, client, &key);
        (key, NewClientKey { client: client.to_owned(), wrapped })
    }

    /// Caches a key the store has just written.
    pub fn remember(&self, client: &str, key: SecretKey) {
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
        let now = Utc::now();
        let report = match &self.db {
            Database::Sqlite(db) => {
                let _turn = db.write_turn().await;
                let mut conn = db.pool().acquire().await?;
                sqlx::query("PRAGMA secure_delete = ON").execute(&mut *conn).await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                sqlx::query(
                    "INSERT INTO shredded_clients (client_id, shredded_at, reason) VALUES (?1, ?2, ?3)
                     ON CONFLICT (client_id) DO NOTHING",
                )
                .bind(client)
                .bind(now.timestamp_micros())
                .bind(reason)
                .execute(&mut *tx)
                .await?;
                let deleted =
                    sqlx::query("DELETE FROM client_keys WHERE client_id = ?1").bind(client).execute(&mut *tx).await?;
                tx.commit().await?;
                // (busy, log frames, checkpointed frames): busy = 1 when a reader kept it from finishing.
                let (busy, _, _): (i64, i64, i64) =
                    sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(&mut *conn).await?;
                ShredReport { key_deleted: deleted.rows_affected() > 0, wal_truncated: Some(busy == 0) }
            }
            Database::Postgres(pool) => {
                let mut tx = carelog_store::begin_uncancellable(pool).await?;
                sqlx::query(
                    "INSERT INTO shredded_clients (client_id, shredded_at, reason) VALUES ($1, $2, $3)
                     ON CONFLICT (client_id) DO NOTHING",
                )
                .bind(client)
                .bind(now)
                .bind(reason)
                .execute(&mut *tx)
                .await?;
                let deleted =
                    sqlx::query("DELETE FROM client_keys WHERE client_id = $1").bind(client).execute(&mut *tx).await?;
                tx.commit().await?;
                sqlx::query("VACUUM client_keys").execute(pool).await?;
                ShredReport { key_deleted: deleted.rows_affected() > 0, wal_truncated: None }
            }
        };
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        cache.keys.remove(client);
        cache.shredded.insert(client.to_owned());
        Ok(report)
    }

    /// When the client was shredded, if they were.
    pub async fn shredded_at(&self, client: &str) -> Result<Option<DateTime<Utc>>, VaultError> {
        Ok(match &self.db {
            Database::Sqlite(db) => {
                let row: Option<(i64,)> =
                    sqlx::query_as("SELECT shredded_at FROM shredded_clients WHERE client_id = ?1")
                        .bind(client)
                        .fetch_optional(db.pool())
                        .await?;
                row.and_then(|(micros,)| DateTime::from_timestamp_micros(micros))
            }
            Database::Postgres(pool) => {
                let row: Option<(DateTime<Utc>,)> =
                    sqlx::query_as("SELECT shredded_at FROM shredded_clients WHERE client_id = $1")
                        .bind(client)
                        .fetch_optional(pool)
                        .await?;
                row.map(|(at,)| at)
            }
        })
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
        let (wrapped, shredded): (Option<Vec<u8>>, bool) = match &self.db {
            // On the log's synchronous readers: a new client's first command misses the cache,
            // and through the pool each lookup is a hand-off to the driver's thread and back.
            Database::Sqlite(db) => {
                let client = client.to_owned();
                db.read_blocking(move |conn| {
                    let mut lookup = conn.prepare_cached(
                        "SELECT (SELECT wrapped_key FROM client_keys WHERE client_id = ?1),
                            EXISTS (SELECT 1 FROM shredded_clients WHERE client_id = ?1)",
                    )?;
                    Ok::<_, StoreError>(lookup.query_row([&client], |row| Ok((row.get(0)?, row.get(1)?)))?)
                })
                .await?
            }
            Database::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT (SELECT wrapped_key FROM client_keys WHERE client_id = $1),
                        EXISTS (SELECT 1 FROM shredded_clients WHERE client_id = $1)",
                )
                .bind(client)
                .fetch_one(pool)
                .await?
            }
        };
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
