//! The Merkle tree's tables in the log's SQLite file: reads on the file's read-only connections,
//! writes in turn with the log's writer, each whole on a blocking thread. The queries are the ones
//! both backends share ([`tables`]); SQLite numbers `$n` parameters in order of appearance.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Params, Row};
use uuid::Uuid;

use super::port::MerkleTables;
use super::rows::{LeafRow, leaf_row};
use super::tables::{self, MOVE, StoredCheckpoint};
use super::{Hash, NodeKey};
use crate::SqliteDatabase;
use crate::error::StoreError;
use crate::row::to_i64;
use crate::sqlite_reader::store_error;

#[derive(Debug, Clone)]
pub(crate) struct SqliteMerkle(pub(super) SqliteDatabase);

const LEAF_ROWS: &str = "SELECT position, event_id, stream, revision, event_type, schema_version, data, metadata,
        recorded_at, prev_hash, hash FROM events WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3";

/// Every row `sql` selects with `params`, each made by `from_row`.
fn all<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    from_row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = conn.prepare_cached(sql).map_err(store_error)?;
    let rows = statement.query_map(params, from_row).map_err(store_error)?;
    rows.collect::<Result<_, _>>().map_err(store_error)
}

fn checkpoint_row(row: &Row<'_>) -> rusqlite::Result<tables::CheckpointRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?))
}

/// A leaf's row; an event id that is not 16 bytes (only a row altered behind the store's back
/// holds one) fails the read, as decoding it did before.
fn leaf_from(row: &Row<'_>) -> rusqlite::Result<LeafRow> {
    let event_id: Vec<u8> = row.get(1)?;
    let event_id = Uuid::from_slice(&event_id)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Blob, Box::new(e)))?;
    let recorded_at = DateTime::from_timestamp_micros(row.get(8)?);
    let (position, stream, revision, event_type) = (row.get(0)?, row.get(2)?, row.get(3)?, row.get(4)?);
    let (schema_version, data, metadata) = (row.get(5)?, row.get(6)?, row.get(7)?);
    let (prev_hash, hash) = (row.get(9)?, row.get(10)?);
    Ok(leaf_row(
        position,
        event_id,
        stream,
        revision,
        event_type,
        schema_version,
        data,
        metadata,
        recorded_at,
        prev_hash,
        hash,
    ))
}

#[async_trait]
impl MerkleTables for SqliteMerkle {
    async fn tree_head(&self) -> Result<(u64, Hash), StoreError> {
        let (size, root): (i64, Vec<u8>) = self
            .0
            .read_blocking(|conn| {
                conn.query_row(tables::TREE_HEAD, [], |r| Ok((r.get(0)?, r.get(1)?))).map_err(store_error)
            })
            .await?;
        Ok((tables::to_u64(size)?, tables::to_hash(&root)?))
    }

    async fn nodes(&self, keys: &[NodeKey]) -> Result<Vec<(NodeKey, Hash)>, StoreError> {
        let keys = keys.to_vec();
        self.0
            .read_blocking(move |conn| {
                let mut statement = conn.prepare_cached(tables::NODE).map_err(store_error)?;
                let mut found = Vec::with_capacity(keys.len());
                for key in keys {
                    let params = rusqlite::params![i64::from(key.level), to_i64(key.index)];
                    let row: Option<Vec<u8>> =
                        statement.query_row(params, |r| r.get(0)).optional().map_err(store_error)?;
                    let missing = || tables::corrupt(format!("node ({}, {}) is missing", key.level, key.index));
                    found.push((key, tables::to_hash(&row.ok_or_else(missing)?)?));
                }
                Ok(found)
            })
            .await
    }

    async fn stored_leaves(&self, from: u64, limit: u64) -> Result<Vec<(u64, Hash)>, StoreError> {
        let rows: Vec<(i64, Vec<u8>)> = self
            .0
            .read_blocking(move |conn| {
                let params = rusqlite::params![to_i64(from), to_i64(limit)];
                all(conn, tables::STORED_LEAVES, params, |r| Ok((r.get(0)?, r.get(1)?)))
            })
            .await?;
        rows.into_iter().map(|(idx, hash)| Ok((tables::to_u64(idx)?, tables::to_hash(&hash)?))).collect()
    }

    async fn event_hashes(&self, after: u64, until: u64, limit: u64) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        self.0
            .read_blocking(move |conn| {
                let params = rusqlite::params![to_i64(after), to_i64(until), to_i64(limit)];
                all(conn, tables::EVENT_HASHES, params, |r| Ok((r.get(0)?, r.get(1)?)))
            })
            .await
    }

    async fn leaf_rows(&self, after: u64, until: u64, limit: u64) -> Result<Vec<LeafRow>, StoreError> {
        self.0
            .read_blocking(move |conn| {
                all(conn, LEAF_ROWS, rusqlite::params![to_i64(after), to_i64(until), to_i64(limit)], leaf_from)
            })
            .await
    }

    /// In turn with the log's writer, IMMEDIATE (never failing on a lock upgrade), and whole on a
    /// blocking thread: the turn is held for the SQL only.
    async fn commit(&self, from: u64, to: u64, root: &Hash, nodes: &[(NodeKey, Hash)]) -> Result<bool, StoreError> {
        let now = Utc::now().timestamp_micros();
        let (root, nodes) = (*root, nodes.to_vec());
        self.0
            .write_blocking(move |tx| {
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
                    insert
                        .execute(rusqlite::params![key.level, to_i64(key.index), hash.as_slice()])
                        .map_err(store_error)?;
                }
                Ok(true)
            })
            .await
    }

    /// Synced before it returns: a signed checkpoint is handed out, and is not derived again.
    async fn insert_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<i64, StoreError> {
        let checkpoint = checkpoint.clone();
        self.0
            .write_blocking_durable(move |tx| {
                let params = rusqlite::params![
                    to_i64(checkpoint.tree_size),
                    checkpoint.root.as_slice(),
                    checkpoint.signed_at.timestamp_micros(),
                    checkpoint.public_key,
                    checkpoint.signature
                ];
                tx.query_row(tables::INSERT_CHECKPOINT, params, |r| r.get(0)).map_err(store_error)
            })
            .await
    }

    async fn latest_checkpoint(&self, size: Option<u64>) -> Result<Option<StoredCheckpoint>, StoreError> {
        let row = self
            .0
            .read_blocking(move |conn| {
                let sql = tables::latest_checkpoint_sql();
                let found = all(conn, &sql, [size.map_or(-1, to_i64)], checkpoint_row)?;
                Ok::<_, StoreError>(found.into_iter().next())
            })
            .await?;
        row.map(tables::decode_checkpoint).transpose()
    }

    async fn list_checkpoints(&self, before: i64, limit: u32) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let rows = self
            .0
            .read_blocking(move |conn| {
                all(conn, &tables::list_checkpoints_sql(), rusqlite::params![before, i64::from(limit)], checkpoint_row)
            })
            .await?;
        rows.into_iter().map(tables::decode_checkpoint).collect()
    }
}
