//! The read models in the log's SQLite file. One process owns the file, so it always leads.

use std::sync::Arc;

use carelog_store::SqliteDatabase;

use super::port::read_model_tables;
use super::{
    AuditQuery, AuditRow, BatchWrite, Doc, DocKind, Generation, StoredDoc, sqlite, sqlite_quarantine, sqlite_search,
};
use crate::ProjectionError;
use crate::leader::LeaderLock;

#[derive(Debug, Clone)]
pub struct SqliteReadModels(pub(super) SqliteDatabase);

fn alone(_: &SqliteDatabase) -> Option<Arc<dyn LeaderLock>> {
    None
}

read_model_tables!(
    SqliteReadModels,
    sqlite,
    commit = sqlite::commit,
    quarantined = sqlite_quarantine::live,
    search = sqlite_search::find_sqlite,
    leader_lock = alone
);
