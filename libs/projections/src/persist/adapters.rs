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
