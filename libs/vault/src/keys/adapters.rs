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

/// Each backend's list names every migration file of its directory.
#[test]
fn the_migration_lists_embed_every_file() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for (list, backend) in [(&super::sqlite::MIGRATIONS, "sqlite"), (&super::postgres::MIGRATIONS, "postgres")] {
        let differences = list.differences_from(&dir.join(backend));
        assert!(differences.is_empty(), "{backend}: {differences:?}");
    }
}
