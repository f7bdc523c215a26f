//! The read models' storage port: documents, audit rows, quarantined events and generation
//! checkpoints, and the lock that elects the projecting process. One adapter per backend
//! (`sqlite_adapter.rs`, `postgres_adapter.rs`), chosen once in `adapters.rs`.

use std::sync::Arc;

use async_trait::async_trait;

use super::{AuditQuery, AuditRow, BatchWrite, Doc, DocKind, Generation, StoredDoc};
use crate::ProjectionError;
use crate::leader::LeaderLock;
use crate::quarantine::Quarantined;

/// The read-model tables of one database. What each method means is documented on
/// [`ReadModels`](super::ReadModels), which forwards to it.
#[async_trait]
pub trait ReadModelTables: Send + Sync + std::fmt::Debug {
    async fn migrate(&self) -> Result<(), ProjectionError>;
    async fn live(&self, projection: &str) -> Result<Generation, ProjectionError>;
    async fn start_rebuild(&self, projection: &str) -> Result<Generation, ProjectionError>;
    async fn swap(&self, projection: &str, generation: i64) -> Result<(), ProjectionError>;
    async fn purge_retired(&self, projection: &str) -> Result<u64, ProjectionError>;
    async fn checkpoint(&self, generation: i64) -> Result<u64, ProjectionError>;
    async fn live_checkpoint(&self, projection: &str) -> Result<Option<u64>, ProjectionError>;
    async fn load(&self, generation: i64, kind: DocKind, keys: &[String]) -> Result<Vec<StoredDoc>, ProjectionError>;
    async fn load_owned(&self, generation: i64, kind: DocKind, owner: &str) -> Result<Vec<StoredDoc>, ProjectionError>;
    async fn commit(&self, batch: BatchWrite) -> Result<(), ProjectionError>;
    async fn live_doc(&self, projection: &str, kind: DocKind, key: &str) -> Result<Option<Doc>, ProjectionError>;
    async fn live_docs_owned_by(
        &self,
        projection: &str,
        kind: DocKind,
        owner: &str,
    ) -> Result<Vec<Doc>, ProjectionError>;
    async fn all_docs(&self, generation: i64) -> Result<Vec<Doc>, ProjectionError>;
    async fn reclaim_rewritten(&self) -> Result<bool, ProjectionError>;
    async fn quarantined(&self, projection: &str) -> Result<Vec<Quarantined>, ProjectionError>;
    async fn audit(&self, projection: &str, query: &AuditQuery) -> Result<Vec<AuditRow>, ProjectionError>;
    async fn search_clients(
        &self,
        projection: &str,
        tokens: &[String],
        after: &str,
        limit: u32,
    ) -> Result<Vec<String>, ProjectionError>;
    /// The lock processes take turns on to project; `None` where one process owns the database.
    fn leader_lock(&self) -> Option<Arc<dyn LeaderLock>>;
}

/// Implements [`ReadModelTables`] for an adapter `$adapter($handle)` by calling the functions of
/// the same names in module `$m` with the handle first; `commit`, `quarantined`, `search` and
/// `leader_lock` name their functions.
macro_rules! read_model_tables {
    ($adapter:ty, $m:ident, commit = $commit:path, quarantined = $quarantined:path, search = $search:path,
     leader_lock = $lock:path) => {
        #[async_trait::async_trait]
        impl $crate::persist::port::ReadModelTables for $adapter {
            async fn migrate(&self) -> Result<(), ProjectionError> {
                $m::migrate(&self.0).await
            }
            async fn live(&self, projection: &str) -> Result<Generation, ProjectionError> {
                $m::live(&self.0, projection).await
            }
            async fn start_rebuild(&self, projection: &str) -> Result<Generation, ProjectionError> {
                $m::start_rebuild(&self.0, projection).await
            }
            async fn swap(&self, projection: &str, generation: i64) -> Result<(), ProjectionError> {
                $m::swap(&self.0, projection, generation).await
            }
            async fn purge_retired(&self, projection: &str) -> Result<u64, ProjectionError> {
                $m::purge_retired(&self.0, projection).await
            }
            async fn checkpoint(&self, generation: i64) -> Result<u64, ProjectionError> {
                $m::checkpoint(&self.0, generation).await
            }
            async fn live_checkpoint(&self, projection: &str) -> Result<Option<u64>, ProjectionError> {
                $m::live_checkpoint(&self.0, projection).await
            }
            async fn load(
                &self,
                generation: i64,
                kind: DocKind,
                keys: &[String],
            ) -> Result<Vec<StoredDoc>, ProjectionError> {
                $m::load(&self.0, generation, kind, keys).await
            }
            async fn load_owned(
                &self,
                generation: i64,
                kind: DocKind,
                owner: &str,
            ) -> Result<Vec<StoredDoc>, ProjectionError> {
                $m::load_owned(&self.0, generation, kind, owner).await
            }
            async fn commit(&self, batch: BatchWrite) -> Result<(), ProjectionError> {
                $commit(&self.0, batch).await
            }
            async fn live_doc(
                &self,
                projection: &str,
                kind: DocKind,
                key: &str,
            ) -> Result<Option<Doc>, ProjectionError> {
                $m::live_doc(&self.0, projection, kind, key).await
            }
            async fn live_docs_owned_by(
                &self,
                projection: &str,
                kind: DocKind,
                owner: &str,
            ) -> Result<Vec<Doc>, ProjectionError> {
                $m::live_docs_owned_by(&self.0, projection, kind, owner).await
            }
            async fn all_docs(&self, generation: i64) -> Result<Vec<Doc>, ProjectionError> {
                $m::all_docs(&self.0, generation).await
            }
            async fn reclaim_rewritten(&self) -> Result<bool, ProjectionError> {
                $m::reclaim_rewritten(&self.0).await
            }
            async fn quarantined(
                &self,
                projection: &str,
            ) -> Result<Vec<$crate::quarantine::Quarantined>, ProjectionError> {
                $quarantined(&self.0, projection).await
            }
            async fn audit(&self, projection: &str, query: &AuditQuery) -> Result<Vec<AuditRow>, ProjectionError> {
                $m::audit(&self.0, projection, query).await
            }
            async fn search_clients(
                &self,
                projection: &str,
                tokens: &[String],
                after: &str,
                limit: u32,
            ) -> Result<Vec<String>, ProjectionError> {
                $search(&self.0, projection, tokens, after, limit).await
            }
            fn leader_lock(&self) -> Option<std::sync::Arc<dyn $crate::leader::LeaderLock>> {
                $lock(&self.0)
            }
        }
    };
}
pub(super) use read_model_tables;
