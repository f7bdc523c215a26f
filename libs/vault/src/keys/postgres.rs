//! Client keys in the log's PostgreSQL schema.

use std::collections::HashMap;

use async_trait::async_trait;
use carelog_store::StoreError;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::ShredReport;
use super::port::{ClientKeyRows, NewKey, StoredKey};
use crate::error::VaultError;

/// The key tables' schema, recorded where earlier builds' `migrate!` recorded it.
pub(super) static MIGRATIONS: carelog_store::Migrations = carelog_store::migrations!(
    table = "_carelog_vault_migrations",
    dir = "migrations/postgres",
    files = ["0001_client_keys.sql"]
);

/// Stores the offered keys unless present or shredded, and reads back what is stored for each,
/// in one autocommit statement. The read shares the insert's snapshot, so a key or tombstone
/// another transaction committed meanwhile shows as neither (`NULL`, false): the caller then
/// looks it up in a statement of its own, whose snapshot sees the commit the insert waited for.
const GET_OR_INSERT: &str = "WITH offered AS (
        SELECT * FROM unnest($1::text[], $2::bytea[]) AS k(client_id, wrapped_key)
    ), inserted AS (
        INSERT INTO client_keys (client_id, wrapped_key, created_at)
        SELECT o.client_id, o.wrapped_key, $3 FROM offered o
        WHERE NOT EXISTS (SELECT 1 FROM shredded_clients s WHERE s.client_id = o.client_id)
        ON CONFLICT (client_id) DO NOTHING
        RETURNING client_id, wrapped_key
    )
    SELECT o.client_id,
        COALESCE(i.wrapped_key, (SELECT c.wrapped_key FROM client_keys c WHERE c.client_id = o.client_id)),
        EXISTS (SELECT 1 FROM shredded_clients s WHERE s.client_id = o.client_id)
    FROM offered o LEFT JOIN inserted i USING (client_id)";

#[derive(Debug, Clone)]
pub struct PostgresKeyRows {
    pool: PgPool,
}

impl PostgresKeyRows {
    /// The key tables in the pool's schema, created if needed.
    pub async fn open(pool: PgPool) -> Result<Self, VaultError> {
        carelog_store::migrate_postgres(&pool, &MIGRATIONS).await.map_err(|e| match e {
            StoreError::Database(e) => VaultError::Database(format!("key store {e}")),
            other => VaultError::Database(format!("key store migration failed: {other}")),
        })?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl ClientKeyRows for PostgresKeyRows {
    /// One durable autocommit statement (it waits for the WAL flush and for synchronous
    /// standbys): the append sealed with this key may commit on another server after a failover
    /// (see the port).
    async fn get_or_insert_all(&self, keys: &[NewKey], at: DateTime<Utc>) -> Result<Vec<StoredKey>, VaultError> {
        let rows: Vec<(String, Option<Vec<u8>>, bool)> = sqlx::query_as(GET_OR_INSERT)
            .bind(keys.iter().map(|key| key.client.as_str()).collect::<Vec<_>>())
            .bind(keys.iter().map(|key| key.wrapped.as_slice()).collect::<Vec<_>>())
            .bind(at)
            .fetch_all(&self.pool)
            .await?;
        let mut found: HashMap<String, StoredKey> = rows
            .into_iter()
            .filter(|(_, wrapped, shredded)| wrapped.is_some() || *shredded)
            .map(|(client, wrapped, shredded)| (client, StoredKey { wrapped, shredded }))
            .collect();
        let mut stored = Vec::with_capacity(keys.len());
        for key in keys {
            stored.push(match found.remove(&key.client) {
                Some(row) => row,
                None => self.lookup(&key.client).await?,
            });
        }
        Ok(stored)
    }

    async fn lookup(&self, client: &str) -> Result<StoredKey, VaultError> {
        let (wrapped, shredded) = sqlx::query_as(
            "SELECT (SELECT wrapped_key FROM client_keys WHERE client_id = $1),
                EXISTS (SELECT 1 FROM shredded_clients WHERE client_id = $1)",
        )
        .bind(client)
        .fetch_one(&self.pool)
        .await?;
        Ok(StoredKey { wrapped, shredded })
    }

    async fn shred(&self, client: &str, reason: &str, at: DateTime<Utc>) -> Result<ShredReport, VaultError> {
        let mut tx = carelog_store::begin_uncancellable(&self.pool).await?;
        sqlx::query(
            "INSERT INTO shredded_clients (client_id, shredded_at, reason) VALUES ($1, $2, $3)
             ON CONFLICT (client_id) DO NOTHING",
        )
        .bind(client)
        .bind(at)
        .bind(reason)
        .execute(&mut *tx)
        .await?;
        let deleted =
            sqlx::query("DELETE FROM client_keys WHERE client_id = $1").bind(client).execute(&mut *tx).await?;
        tx.commit().await?;
        sqlx::query("VACUUM client_keys").execute(&self.pool).await?;
        Ok(ShredReport { key_deleted: deleted.rows_affected() > 0, wal_truncated: None })
    }

    async fn shredded_at(&self, client: &str) -> Result<Option<DateTime<Utc>>, VaultError> {
        let row: Option<(DateTime<Utc>,)> =
            sqlx::query_as("SELECT shredded_at FROM shredded_clients WHERE client_id = $1")
                .bind(client)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(at,)| at))
    }
}
