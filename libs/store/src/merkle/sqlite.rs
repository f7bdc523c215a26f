//! The Merkle tree's tables in the log's SQLite file.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;
use uuid::Uuid;

use super::rows::{LeafRow, leaf_row};
use super::tables::{self, MOVE, StoredCheckpoint, merkle_tables};
use super::{Hash, NodeKey};
use crate::SqliteDatabase;
use crate::error::StoreError;
use crate::row::to_i64;
use crate::sqlite_reader::store_error;

#[derive(Debug, Clone)]
pub(crate) struct SqliteMerkle(pub(super) SqliteDatabase);

fn pool(db: &SqliteDatabase) -> &SqlitePool {
    db.pool()
}

type Row = (i64, Uuid, String, i64, String, i64, String, String, i64, Vec<u8>, Vec<u8>);

const LEAF_ROWS: &str = "SELECT position, event_id, stream, revision, event_type, schema_version, data, metadata,
        recorded_at, prev_hash, hash FROM events WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3";

async fn leaf_rows(db: &SqliteDatabase, after: u64, until: u64, limit: u64) -> Result<Vec<LeafRow>, StoreError> {
    let (after, until, limit) = (to_i64(after), to_i64(until), to_i64(limit));
    let rows: Vec<Row> = sqlx::query_as(LEAF_ROWS).bind(after).bind(until).bind(limit).fetch_all(db.pool()).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let recorded_at = DateTime::from_timestamp_micros(r.8);
            leaf_row(r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, recorded_at, r.9, r.10)
        })
        .collect())
}

/// In turn with the log's writer, IMMEDIATE (never failing on a lock upgrade), and whole on a
/// blocking thread: the turn is held for the SQL only.
async fn commit(
    db: &SqliteDatabase,
    from: u64,
    to: u64,
    root: &Hash,
    nodes: &[(NodeKey, Hash)],
) -> Result<bool, StoreError> {
    let now = Utc::now().timestamp_micros();
    let (root, nodes) = (*root, nodes.to_vec());
    db.write_blocking(move |tx| {
        let moved = tx
            .prepare_cached(MOVE)
            .and_then(|mut s| s.execute(rusqlite::params![to_i64(to), root.as_slice(), now, to_i64(from)]))
            .map_err(store_error)?;
        if moved != 1 {
            return Ok(false); // Commits an empty transaction: nothing was written.
        }
        let mut insert = tx
            .prepare_cached("INSERT INTO merkle_nodes (level, idx, hash) VALUES (?1, ?2, ?3)")
            .map_err(store_error)?;
        for (key, hash) in &nodes {
            insert.execute(rusqlite::params![key.level, to_i64(key.index), hash.as_slice()]).map_err(store_error)?;
        }
        Ok(true)
    })
    .await
}

merkle_tables!(SqliteMerkle, pool = pool, commit = commit, leaf_rows = leaf_rows);
