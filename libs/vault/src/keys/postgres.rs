//! Client keys in the log's PostgreSQL schema.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::ShredReport;
use super::port::{ClientKeyRows, StoredKey};
use crate::error::VaultError;

#[derive(Debug, Clone)]
pub struct PostgresKeyRows {
    pool: PgPool,
}

impl PostgresKeyRows {
    /// The key tables in the pool's schema, created if needed.
    pub async fn open(pool: PgPool) -> Result<Self, VaultError> {
        let mut migrator = sqlx::migrate!("./migrations/postgres");
        migrator.dangerous_set_table_name("_carelog_vault_migrations");
        migrator.run(&pool).await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl ClientKeyRows for PostgresKeyRows {
    /// `synchronous_commit` off for this transaction only (see the port for why that is safe).
    async fn get_or_insert(&self, client: &str, wrapped: &[u8], at: DateTime<Utc>) -> Result<StoredKey, VaultError> {
        let mut tx = carelog_store::begin_derived(&self.pool).await?;
        let inserted: Option<(Vec<u8>,)> = sqlx::query_as(
            "INSERT INTO client_keys (client_id, wrapped_key, created_at)
             SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM shredded_clients WHERE client_id = $1)
             ON CONFLICT (client_id) DO NOTHING
             RETURNING wrapped_key",
        )
        .bind(client)
        .bind(wrapped)
        .bind(at)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        match inserted {
            Some((wrapped,)) => Ok(StoredKey { wrapped: Some(wrapped), shredded: false }),
            // Another creator's key or a tombstone, read in a statement of its own: its snapshot
            // sees the commit the insert waited for.
            None => self.lookup(client).await,
        }
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
