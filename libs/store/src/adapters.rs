//! The backend handle: which backend the tables beside the log live on, chosen once when a store
//! is opened ([`crate::open`]). Each port owner's `adapters` module turns it into its adapter;
//! nothing else matches on it.

use std::path::PathBuf;

use crate::sqlite_database::SqliteDatabase;

/// A handle on the database behind a store.
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite(SqliteDatabase),
    Postgres(sqlx::PgPool),
}

impl Database {
    /// The file the database lives in, when it is an embedded one (`None` for a server, or an
    /// in-memory SQLite database): for what is kept beside an embedded log, such as its
    /// development signing key.
    pub async fn embedded_file(&self) -> Option<PathBuf> {
        match self {
            Database::Sqlite(db) => db.file().await,
            Database::Postgres(_) => None,
        }
    }
}
