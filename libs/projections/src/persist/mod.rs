//! Read-model tables beside the log: documents, audit rows and generation checkpoints, written in
//! one transaction per batch. The tables are a port ([`ReadModelTables`]); each backend is one
//! adapter, chosen once in `adapters.rs`.

mod adapters;
mod port;
mod postgres;
mod postgres_adapter;
mod postgres_commit;
mod postgres_quarantine;
mod postgres_search;
mod postgres_standby;
mod quarantine;
mod sqlite;
mod sqlite_adapter;
mod sqlite_quarantine;
mod sqlite_search;

use std::sync::Arc;

use carelog_domain::intake::Demographics;
use carelog_store::Database;

use crate::search::SearchKey;
use chrono::{DateTime, Utc};

use crate::ProjectionError;
use crate::leader::LeaderLock;

pub use port::ReadModelTables;
pub use postgres_adapter::PostgresReadModels;
pub use postgres_standby::StandbyReadModels;
pub use sqlite_adapter::SqliteReadModels;

/// Which document family a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocKind {
    Episode,
    Ledger,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Episode => "episode",
            DocKind::Ledger => "ledger",
        }
    }
}

/// A read-model document as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    pub kind: DocKind,
    pub key: String,
    pub owner: Option<String>,
    pub body: serde_json::Value,
    pub position: u64,
}

/// A stored document as a runner loads it to fold more events into: its JSON text, parsed once
/// straight into the view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDoc {
    pub key: String,
    pub owner: Option<String>,
    pub json: String,
}

/// A document as a batch writes it: the view serialised to JSON text once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocWrite {
    pub kind: DocKind,
    pub key: String,
    pub owner: Option<String>,
    pub json: String,
    pub position: u64,
}

/// One audit row: who did what, when and why; never the event's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub position: u64,
    pub client: Option<String>,
    pub stream: String,
    pub revision: u64,
    pub event_type: String,
    pub actor_id: String,
    pub actor_role: String,
    pub actor_name: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub reason: Option<String>,
    pub correlation_id: String,
    pub causation_id: Option<String>,
    /// Set on access-log entries only.
    pub access: Option<crate::audit::AccessFacts>,
}

/// Filters of an audit-trail page; rows come in position order after `after`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub client: Option<String>,
    pub actor_id: Option<String>,
    pub event_types: Vec<String>,
    pub correlation_id: Option<String>,
    pub recorded_from: Option<DateTime<Utc>>,
    pub recorded_to: Option<DateTime<Utc>>,
    pub after: u64,
    pub limit: u32,
}

/// Everything one batch changes, committed atomically with the checkpoint moving `from` → `to`.
#[derive(Debug, Clone, Default)]
pub struct BatchWrite {
    pub generation: i64,
    pub from: u64,
    pub to: u64,
    pub docs: Vec<DocWrite>,
    pub audit: Vec<AuditRow>,
    /// Clients whose erasure the batch folds: their audit rows' reasons become the erased marker,
    /// in the same transaction (the reasons of the erasure bookkeeping itself stay).
    pub erased: Vec<String>,
    /// Events the batch could not fold, kept aside (see [`crate::quarantine`]).
    pub quarantined: Vec<crate::quarantine::Quarantined>,
    /// Clients whose search tokens the batch replaces (none left: erased).
    pub search: Vec<SearchEntry>,
}

/// One client's blind-index tokens (see [`crate::search`]), replacing any it had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchEntry {
    pub client: String,
    pub tokens: Vec<String>,
}

/// A generation of a projection and how far it has read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation {
    pub id: i64,
    pub checkpoint: u64,
}

/// The read-model tables of one database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ReadModels {
    tables: Arc<dyn ReadModelTables>,
    /// The blind index's key; without one, no client is indexed and searches are refused.
    search_key: Option<SearchKey>,
}

impl ReadModels {
    /// Opens the read-model tables in the log's database, creating or upgrading them.
    pub async fn open(database: Database) -> Result<Self, ProjectionError> {
        let models = Self::on(adapters::tables(database));
        models.tables.migrate().await?;
        Ok(models)
    }

    /// Read models kept by `tables`, as they are (not migrated).
    pub fn on(tables: Arc<dyn ReadModelTables>) -> Self {
        Self { tables, search_key: None }
    }

    /// The same read models indexing clients for search under `key` (from the vault's master key).
    pub fn with_search_key(self, search_key: Option<SearchKey>) -> Self {
        Self { search_key, ..self }
    }

    /// The blind index's key, if configured.
    pub fn search_key(&self) -> Option<&SearchKey> {
        self.search_key.as_ref()
    }

    /// The index rows replacing those of each client whose searchable facts changed.
    pub(crate) fn search_entries(&self, changed: Vec<(String, Option<Demographics>)>) -> Vec<SearchEntry> {
        changed
            .into_iter()
            .map(|(client, now)| {
                let tokens = match (&self.search_key, now) {
                    (Some(key), Some(demographics)) => key.tokens_of(&demographics),
                    _ => Vec::new(),
                };
                SearchEntry { client, tokens }
            })
            .collect()
    }

    /// The lock the projecting process holds; `None` where one process owns the database.
    pub(crate) fn leader_lock(&self) -> Option<Arc<dyn LeaderLock>> {
        self.tables.leader_lock()
    }

    /// The live generation of `projection`, created empty (checkpoint 0) the first time.
    pub async fn live(&self, projection: &str) -> Result<Generation, ProjectionError> {
        self.tables.live(projection).await
    }

    /// The checkpoint of `projection`'s live generation, or None before it has one. It only reads,
    /// so a hot standby answers it too (unlike [`live`](Self::live), which creates the generation).
    pub async fn live_checkpoint(&self, projection: &str) -> Result<Option<u64>, ProjectionError> {
        self.tables.live_checkpoint(projection).await
    }

    /// A new, empty generation to rebuild into while the live one keeps serving.
    pub async fn start_rebuild(&self, projection: &str) -> Result<Generation, ProjectionError> {
        self.tables.start_rebuild(projection).await
    }

    /// Makes `generation` live and retires the one it replaces (one pointer, one short transaction).
    pub async fn swap(&self, projection: &str, generation: i64) -> Result<(), ProjectionError> {
        self.tables.swap(projection, generation).await
    }

    /// Deletes the rows of retired generations in small transactions; returns how many rows went.
    pub async fn purge_retired(&self, projection: &str) -> Result<u64, ProjectionError> {
        self.tables.purge_retired(projection).await
    }

    /// The checkpoint of a generation.
    pub async fn checkpoint(&self, generation: i64) -> Result<u64, ProjectionError> {
        self.tables.checkpoint(generation).await
    }

    /// The stored documents among `keys`.
    pub async fn load(
        &self,
        generation: i64,
        kind: DocKind,
        keys: &[String],
    ) -> Result<Vec<StoredDoc>, ProjectionError> {
        self.tables.load(generation, kind, keys).await
    }

    /// The documents of a kind in `generation` owned by `owner` (a ledger's owner is its client).
    pub async fn load_owned(
        &self,
        generation: i64,
        kind: DocKind,
        owner: &str,
    ) -> Result<Vec<StoredDoc>, ProjectionError> {
        self.tables.load_owned(generation, kind, owner).await
    }

    /// Writes a batch if the generation's checkpoint is still `batch.from`; otherwise another runner
    /// (or a swap) moved it, nothing is written, and `StaleCheckpoint` tells the caller to reload.
    pub async fn commit(&self, batch: BatchWrite) -> Result<(), ProjectionError> {
        self.tables.commit(batch).await
    }

    /// The live generation's clients holding every one of `tokens`, after `after` in client id
    /// order, at most `limit`.
    pub async fn search_clients(
        &self,
        projection: &str,
        tokens: &[String],
        after: &str,
        limit: u32,
    ) -> Result<Vec<String>, ProjectionError> {
        self.tables.search_clients(projection, tokens, after, limit).await
    }

    /// One document of the live generation.
    pub async fn live_doc(&self, projection: &str, kind: DocKind, key: &str) -> Result<Option<Doc>, ProjectionError> {
        self.tables.live_doc(projection, kind, key).await
    }

    /// Every live document of a kind owned by `owner`, in key order.
    pub async fn live_docs_owned_by(
        &self,
        projection: &str,
        kind: DocKind,
        owner: &str,
    ) -> Result<Vec<Doc>, ProjectionError> {
        self.tables.live_docs_owned_by(projection, kind, owner).await
    }

    /// Every document of a generation, in (kind, key) order: to compare a rebuild with the live one.
    pub async fn all_docs(&self, generation: i64) -> Result<Vec<Doc>, ProjectionError> {
        self.tables.all_docs(generation).await
    }

    /// After an erasure was folded: leaves no pre-scrub copy of a rewritten row where the database
    /// keeps old versions — SQLite truncates its WAL, PostgreSQL vacuums the read-model tables.
    /// `false` when a reader's older snapshot kept some from being reclaimed (run it again).
    pub async fn reclaim_rewritten(&self) -> Result<bool, ProjectionError> {
        self.tables.reclaim_rewritten().await
    }

    /// The events the live generation of `projection` could not fold, in position order.
    pub async fn quarantined(&self, projection: &str) -> Result<Vec<crate::quarantine::Quarantined>, ProjectionError> {
        self.tables.quarantined(projection).await
    }

    /// A page of the live audit trail.
    pub async fn audit(&self, projection: &str, query: &AuditQuery) -> Result<Vec<AuditRow>, ProjectionError> {
        self.tables.audit(projection, query).await
    }
}

/// A stored document's JSON text, parsed for a reader.
fn parse_doc(text: String) -> Result<serde_json::Value, ProjectionError> {
    serde_json::from_str(&text).map_err(|e| ProjectionError::Corrupt(format!("read-model document: {e}")))
}

pub(crate) fn kind_from(raw: &str) -> Result<DocKind, ProjectionError> {
    match raw {
        "episode" => Ok(DocKind::Episode),
        "ledger" => Ok(DocKind::Ledger),
        other => Err(ProjectionError::Corrupt(format!("unknown document kind {other:?}"))),
    }
}

/// A migration of the read-model tables that did not run: an outage is the store's, as for the log.
fn migration_failed(error: carelog_store::StoreError) -> ProjectionError {
    match error {
        unavailable @ carelog_store::StoreError::Unavailable(_) => ProjectionError::Store(unavailable),
        carelog_store::StoreError::Database(e) => ProjectionError::Database(format!("read-model {e}")),
        other => ProjectionError::Database(format!("read-model migration failed: {other}")),
    }
}
