//! The one place the read models' backend is chosen: from the database handle of the log they are
//! kept beside, once, when the runner or a reader opens them.

use std::sync::Arc;

use carelog_store::Database;

use super::port::ReadModelTables;
use super::postgres_adapter::PostgresReadModels;
use super::sqlite_adapter::SqliteReadModels;

pub(super) fn tables(database: Database) -> Arc<dyn ReadModelTables> {
    match database {
        Database::Sqlite(db) => Arc::new(SqliteReadModels(db)),
        Database::Postgres(pool) => Arc::new(PostgresReadModels(pool)),
    }
}

/// Each backend's list names every migration file of its directory.
#[test]
fn the_migration_lists_embed_every_file() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for (list, backend) in [(&super::sqlite::MIGRATIONS, "sqlite"), (&super::postgres_adapter::MIGRATIONS, "postgres")]
    {
        let differences = list.differences_from(&dir.join(backend));
        assert!(differences.is_empty(), "{backend}: {differences:?}");
    }
}
