//! Client keys in the log's SQLite file.

use async_trait::async_trait;
use carelog_store::{SqliteDatabase, StoreError};
use chrono::{DateTime, Utc};

use super::ShredReport;
use super::port::{ClientKeyRows, StoredKey};
use crate::error::VaultError;

/// A client's key and tombstone, in one row.
const LOOKUP: &str = "SELECT (SELECT wrapped_key FROM client_keys WHERE client_id = ?1),
    EXISTS (SELECT 1 FROM shredded_clients WHERE client_id = ?1)";

#[derive(Debug, Clone)]
pub struct SqliteKeyRows {
    db: SqliteDatabase,
}

impl SqliteKeyRows {
    /// The key tables in `db`, created if needed.
    pub async fn open(db: SqliteDatabase) -> Result<Self, VaultError> {
        let mut migrator = sqlx::migrate!("./migrations/sqlite");
        migrator.dangerous_set_table_name("_carelog_vault_migrations");
        migrator.run(db.pool()).await?;
        Ok(Self { db })
    }
}

#[async_trait]
impl ClientKeyRows for SqliteKeyRows {
    /// On the file's blocking write connection, which commits with `synchronous=NORMAL`: the
    /// commit is in the WAL but not yet synced, and the log's next commit (`FULL`) syncs it with
    /// its own (see the port for why that is safe). Insert and read back are one transaction.
    async fn get_or_insert(&self, client: &str, wrapped: &[u8], at: DateTime<Utc>) -> Result<StoredKey, VaultError> {
        let (client, wrapped) = (client.to_owned(), wrapped.to_vec());
        let (wrapped, shredded) = self
            .db
            .write_blocking(move |tx| {
                // `WHERE` before `ON CONFLICT`: SQLite's parser needs it after an INSERT … SELECT.
                tx.prepare_cached(
                    "INSERT INTO client_keys (client_id, wrapped_key, created_at)
                     SELECT ?1, ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM shredded_clients WHERE client_id = ?1)
                     ON CONFLICT (client_id) DO NOTHING",
                )?
                .execute((&client, &wrapped, at.timestamp_micros()))?;
                let mut stored = tx.prepare_cached(LOOKUP)?;
                Ok::<_, StoreError>(stored.query_row([&client], |row| Ok((row.get(0)?, row.get(1)?)))?)
            })
            .await?;
        Ok(StoredKey { wrapped, shredded })
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

    async fn shred(&self, client: &str, reason: &str, at: DateTime<Utc>) -> Result<ShredReport, VaultError> {
        let _turn = self.db.write_turn().await;
        let mut conn = self.db.pool().acquire().await?;
        sqlx::query("PRAGMA secure_delete = ON").execute(&mut *conn).await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::query(
            "INSERT INTO shredded_clients (client_id, shredded_at, reason) VALUES (?1, ?2, ?3)
             ON CONFLICT (client_id) DO NOTHING",
        )
        .bind(client)
        .bind(at.timestamp_micros())
        .bind(reason)
        .execute(&mut *tx)
        .await?;
        let deleted =
            sqlx::query("DELETE FROM client_keys WHERE client_id = ?1").bind(client).execute(&mut *tx).await?;
        tx.commit().await?;
        // (busy, log frames, checkpointed frames): busy = 1 when a reader kept it from finishing.
        let (busy, _, _): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(&mut *conn).await?;
        Ok(ShredReport { key_deleted: deleted.rows_affected() > 0, wal_truncated: Some(busy == 0) })
    }

    async fn shredded_at(&self, client: &str) -> Result<Option<DateTime<Utc>>, VaultError> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT shredded_at FROM shredded_clients WHERE client_id = ?1")
            .bind(client)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.and_then(|(micros,)| DateTime::from_timestamp_micros(micros)))
    }
}
