//! Client keys in the log's SQLite file.

use async_trait::async_trait;
use carelog_store::{Migrations, SqliteDatabase, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;

use super::ShredReport;
use super::port::{ClientKeyRows, NewKey, StoredKey};
use crate::error::VaultError;

/// A client's key and tombstone, in one row.
const LOOKUP: &str = "SELECT (SELECT wrapped_key FROM client_keys WHERE client_id = ?1),
    EXISTS (SELECT 1 FROM shredded_clients WHERE client_id = ?1)";

/// The key tables' schema, recorded where earlier builds' sqlx migrator recorded it.
pub(super) static MIGRATIONS: Migrations = carelog_store::migrations!(
    table = "_carelog_vault_migrations",
    dir = "migrations/sqlite",
    files = ["0001_client_keys.sql"]
);

#[derive(Debug, Clone)]
pub struct SqliteKeyRows {
    db: SqliteDatabase,
}

impl SqliteKeyRows {
    /// The key tables in `db`, created if needed.
    pub async fn open(db: SqliteDatabase) -> Result<Self, VaultError> {
        db.migrate(&MIGRATIONS).await.map_err(|e| match e {
            StoreError::Unavailable(e) => VaultError::Unavailable(e),
            StoreError::Database(e) => VaultError::Database(format!("key store {e}")),
            other => VaultError::Database(format!("key store migration failed: {other}")),
        })?;
        Ok(Self { db })
    }
}

#[async_trait]
impl ClientKeyRows for SqliteKeyRows {
    /// On the file's blocking write connection, which commits with `synchronous=NORMAL`: the
    /// commit is in the WAL but not yet synced, and the log's next commit (`FULL`) syncs it with
    /// its own (see the port for why that is safe). Insert and read back are one transaction.
    async fn get_or_insert_all(&self, keys: &[NewKey], at: DateTime<Utc>) -> Result<Vec<StoredKey>, VaultError> {
        let keys = keys.to_vec();
        let stored = self
            .db
            .write_blocking(move |tx| {
                // `WHERE` before `ON CONFLICT`: SQLite's parser needs it after an INSERT … SELECT.
                let mut insert = tx.prepare_cached(
                    "INSERT INTO client_keys (client_id, wrapped_key, created_at)
                     SELECT ?1, ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM shredded_clients WHERE client_id = ?1)
                     ON CONFLICT (client_id) DO NOTHING",
                )?;
                let mut lookup = tx.prepare_cached(LOOKUP)?;
                let mut stored = Vec::with_capacity(keys.len());
                for key in &keys {
                    insert.execute((&key.client, &key.wrapped, at.timestamp_micros()))?;
                    let (wrapped, shredded) = lookup.query_row([&key.client], |row| Ok((row.get(0)?, row.get(1)?)))?;
                    stored.push(StoredKey { wrapped, shredded });
                }
                Ok::<_, StoreError>(stored)
            })
            .await?;
        Ok(stored)
    }

    /// On the log's synchronous readers: a new client's first command misses the key cache, and
    /// through the pool each lookup is a hand-off to the driver's thread and back.
    async fn lookup(&self, client: &str) -> Result<StoredKey, VaultError> {
        let client = client.to_owned();
        let (wrapped, shredded) = self
            .db
            .read_blocking(move |conn| {
                let mut lookup = conn.prepare_cached(LOOKUP)?;
                Ok::<_, StoreError>(lookup.query_row([&client], |row| Ok((row.get(0)?, row.get(1)?)))?)
            })
            .await?;
        Ok(StoredKey { wrapped, shredded })
    }

    /// Durably (`synchronous=FULL`): the tombstone is what keeps a shredded client's key from
    /// coming back, and no append follows to sync it. Then the WAL is emptied, so the deleted key's
    /// pages do not linger there (the file's connections zero freed bytes in the main file).
    async fn shred(&self, client: &str, reason: &str, at: DateTime<Utc>) -> Result<ShredReport, VaultError> {
        let (client, reason) = (client.to_owned(), reason.to_owned());
        let deleted = self
            .db
            .write_blocking_durable(move |tx| {
                tx.execute(
                    "INSERT INTO shredded_clients (client_id, shredded_at, reason) VALUES (?1, ?2, ?3)
                     ON CONFLICT (client_id) DO NOTHING",
                    (&client, at.timestamp_micros(), &reason),
                )?;
                Ok::<_, StoreError>(tx.execute("DELETE FROM client_keys WHERE client_id = ?1", [&client])?)
            })
            .await?;
        let truncated = self.db.checkpoint_truncate().await?;
        Ok(ShredReport { key_deleted: deleted > 0, wal_truncated: Some(truncated) })
    }

    async fn shredded_at(&self, client: &str) -> Result<Option<DateTime<Utc>>, VaultError> {
        let client = client.to_owned();
        let micros: Option<i64> = self
            .db
            .read_blocking(move |conn| {
                let sql = "SELECT shredded_at FROM shredded_clients WHERE client_id = ?1";
                Ok::<_, StoreError>(conn.query_row(sql, [client], |r| r.get(0)).optional()?)
            })
            .await?;
        Ok(micros.and_then(DateTime::from_timestamp_micros))
    }
}
