//! The one place the Merkle tables' backend is chosen: from the database handle of the log the
//! tree is built over, once, when the tree is opened.

use std::sync::Arc;

use super::port::MerkleTables;
use super::postgres::PostgresMerkle;
use super::sqlite::SqliteMerkle;
use crate::Database;

pub(super) fn tables(database: Database) -> Arc<dyn MerkleTables> {
    match database {
        Database::Sqlite(db) => Arc::new(SqliteMerkle(db)),
        Database::Postgres(pool) => Arc::new(PostgresMerkle(pool)),
    }
}
