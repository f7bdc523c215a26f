//! The read models in the log's PostgreSQL schema (or a hot standby's copy of it), with processes
//! elected to project by an advisory lock.

use std::sync::Arc;

use sqlx::PgPool;

use super::port::read_model_tables;
use super::{
    AuditQuery, AuditRow, BatchWrite, Doc, DocKind, Generation, StoredDoc, postgres, postgres_quarantine,
    postgres_search,
};
use crate::ProjectionError;
use crate::leader::{LeaderLock, PostgresLock};

#[derive(Debug, Clone)]
pub struct PostgresReadModels(pub(super) PgPool);

impl PostgresReadModels {
    /// The read models `pool` reaches, as they are (no migration: a standby is read-only).
    pub fn new(pool: PgPool) -> Self {
        Self(pool)
    }
}

async fn commit(pool: &PgPool, batch: BatchWrite) -> Result<(), ProjectionError> {
    postgres::commit(pool, &batch).await
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
