//! What keeping read models can fail with.

use carelog_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("event store: {0}")]
    Store(#[from] StoreError),
    #[error("read-model database: {0}")]
    Database(String),
    /// Another runner (or a rebuild's swap) moved this generation's checkpoint: reload and resume.
    #[error("the checkpoint of generation {generation} moved under this runner")]
    StaleCheckpoint { generation: i64 },
    #[error("read-model data is corrupt: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for ProjectionError {
    fn from(error: sqlx::Error) -> Self {
        // A lost connection (a database failing over) is the store being unavailable, as for the log.
        match StoreError::from(error) {
            unavailable @ StoreError::Unavailable(_) => ProjectionError::Store(unavailable),
            other => ProjectionError::Database(other.to_string()),
        }
    }
}

impl ProjectionError {
    /// Whether a retry may succeed without anyone acting (the database was briefly unreachable).
    pub fn is_transient(&self) -> bool {
        matches!(self, ProjectionError::Store(error) if error.is_transient())
    }
}
