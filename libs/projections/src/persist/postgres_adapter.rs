//! The read models in the log's PostgreSQL schema (or a hot standby's copy of it), with processes
//! elected to project by an advisory lock.

use std::sync::Arc;

use sqlx::PgPool;

use super::port::read_model_tables;
use super::{
    AuditQuery, AuditRow, BatchWrite, Doc, DocKind, Generation, StoredDoc, postgres, postgres_commit,
    postgres_quarantine, postgres_search,
};
use crate::ProjectionError;
use crate::leader::{LeaderLock, PostgresLock};

/// The read models' schema, recorded where earlier builds' `migrate!` recorded it.
pub(super) static MIGRATIONS: carelog_store::Migrations = carelog_store::migrations!(
    table = "_carelog_projection_migrations",
    dir = "migrations/postgres",
    files = ["0001_read_models.sql", "0002_quarantine.sql", "0003_audit_actor_names.sql", "0004_client_search.sql"]
);

#[derive(Debug, Clone)]
pub struct PostgresReadModels(pub(super) PgPool);

impl PostgresReadModels {
    /// The read models `pool` reaches, as they are (no migration: a standby is read-only).
    pub fn new(pool: PgPool) -> Self {
        Self(pool)
    }
}

async fn commit(pool: &PgPool, batch: BatchWrite) -> Result<(), ProjectionError> {
    postgres_commit::commit(pool, &batch).await
}

/// The lock session uses the pool's connection settings (same server, same schema).
fn advisory_lock(pool: &PgPool) -> Option<Arc<dyn LeaderLock>> {
    Some(Arc::new(PostgresLock::new((*pool.connect_options()).clone())))
}

read_model_tables!(
    PostgresReadModels,
    postgres,
    commit = commit,
    quarantined = postgres_quarantine::live,
    search = postgres_search::find_postgres,
    leader_lock = advisory_lock
);
