//! The one place the key store's backend is chosen: from the database handle the store was opened
//! with, once, when the key store is built.

use std::sync::Arc;

use carelog_store::Database;

use super::port::ClientKeyRows;
use super::{postgres, sqlite};
use crate::error::VaultError;

/// The client-key rows kept in `db` (their tables created if needed).
pub async fn key_rows(db: Database) -> Result<Arc<dyn ClientKeyRows>, VaultError> {
    Ok(match db {
        Database::Sqlite(db) => Arc::new(sqlite::SqliteKeyRows::open(db).await?),
        Database::Postgres(pool) => Arc::new(postgres::PostgresKeyRows::open(pool).await?),
    })
}
