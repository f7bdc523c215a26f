//! The tree's tables as both backends share them. Queries are written once with `$n`
//! placeholders, which SQLite and PostgreSQL both accept. [`merkle_tables`] makes them sqlx-driven
//! [`MerkleTables`](super::port::MerkleTables) methods (PostgreSQL's adapter), given what differs
//! (the commit, the rows); SQLite's adapter runs them on rusqlite.

use chrono::{DateTime, Utc};

use super::Hash;
use crate::error::StoreError;

/// A signed checkpoint as stored: the signature is over the proofs crate's canonical note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub id: i64,
    pub tree_size: u64,
    pub root: Hash,
    pub signed_at: DateTime<Utc>,
    pub public_key: Vec<u8>,
    pub signature: Vec<u8>,
}

pub(super) type CheckpointRow = (i64, i64, Vec<u8>, i64, Vec<u8>, Vec<u8>);

const CHECKPOINT_COLUMNS: &str = "SELECT id, tree_size, root, signed_at, public_key, signature FROM merkle_checkpoints";

pub(super) fn corrupt(reason: impl Into<String>) -> StoreError {
    StoreError::Database(format!("Merkle tree table: {}", reason.into()))
}

pub(super) fn to_hash(bytes: &[u8]) -> Result<Hash, StoreError> {
    Hash::try_from(bytes).map_err(|_| corrupt(format!("a stored hash is {} bytes, not 32", bytes.len())))
}

pub(super) fn to_u64(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| corrupt(format!("negative size or index {value}")))
}

pub(super) const TREE_HEAD: &str = "SELECT size, root FROM merkle_tree";
pub(super) const NODE: &str = "SELECT hash FROM merkle_nodes WHERE level = $1 AND idx = $2";
pub(super) const STORED_LEAVES: &str =
    "SELECT idx, hash FROM merkle_nodes WHERE level = 0 AND idx >= $1 ORDER BY idx LIMIT $2";
pub(super) const EVENT_HASHES: &str =
    "SELECT position, hash FROM events WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3";
/// Moves the tree, only from the size the writer started from.
pub(super) const MOVE: &str = "UPDATE merkle_tree SET size = $1, root = $2, updated_at = $3 WHERE size = $4";
pub(super) const INSERT_CHECKPOINT: &str =
    "INSERT INTO merkle_checkpoints (tree_size, root, signed_at, public_key, signature)
     VALUES ($1, $2, $3, $4, $5) RETURNING id";

pub(super) fn latest_checkpoint_sql() -> String {
    format!("{CHECKPOINT_COLUMNS} WHERE ($1 < 0 OR tree_size = $1) ORDER BY id DESC LIMIT 1")
}

pub(super) fn list_checkpoints_sql() -> String {
    format!("{CHECKPOINT_COLUMNS} WHERE ($1 <= 0 OR id < $1) ORDER BY id DESC LIMIT $2")
}

/// Implements [`MerkleTables`](super::port::MerkleTables) for an adapter `$adapter(handle)`:
/// the shared queries run on the pool `$pool(&handle)` gives; `commit` and `leaf_rows` name the
/// adapter's own functions (`fn(&handle, …)`).
macro_rules! merkle_tables {
    ($adapter:ty, pool = $pool:path, commit = $commit:path, leaf_rows = $leaf_rows:path) => {
        #[async_trait::async_trait]
        impl $crate::merkle::port::MerkleTables for $adapter {
            async fn tree_head(&self) -> Result<(u64, Hash), StoreError> {
                let (size, root): (i64, Vec<u8>) = sqlx::query_as(tables::TREE_HEAD).fetch_one($pool(&self.0)).await?;
                Ok((tables::to_u64(size)?, tables::to_hash(&root)?))
            }

            async fn nodes(&self, keys: &[NodeKey]) -> Result<Vec<(NodeKey, Hash)>, StoreError> {
                let mut found = Vec::with_capacity(keys.len());
                for key in keys {
                    let row: Option<(Vec<u8>,)> = sqlx::query_as(tables::NODE)
                        .bind(i64::from(key.level))
                        .bind(to_i64(key.index))
                        .fetch_optional($pool(&self.0))
                        .await?;
                    let missing = || tables::corrupt(format!("node ({}, {}) is missing", key.level, key.index));
                    let (hash,) = row.ok_or_else(missing)?;
                    found.push((*key, tables::to_hash(&hash)?));
                }
                Ok(found)
            }

            async fn stored_leaves(&self, from: u64, limit: u64) -> Result<Vec<(u64, Hash)>, StoreError> {
                let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(tables::STORED_LEAVES)
                    .bind(to_i64(from))
                    .bind(to_i64(limit))
                    .fetch_all($pool(&self.0))
                    .await?;
                rows.into_iter().map(|(idx, hash)| Ok((tables::to_u64(idx)?, tables::to_hash(&hash)?))).collect()
            }

            async fn event_hashes(
                &self,
                after: u64,
                until: u64,
                limit: u64,
            ) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
                Ok(sqlx::query_as(tables::EVENT_HASHES)
                    .bind(to_i64(after))
                    .bind(to_i64(until))
                    .bind(to_i64(limit))
                    .fetch_all($pool(&self.0))
                    .await?)
            }

            async fn leaf_rows(&self, after: u64, until: u64, limit: u64) -> Result<Vec<LeafRow>, StoreError> {
                $leaf_rows(&self.0, after, until, limit).await
            }

            async fn commit(
                &self,
                from: u64,
                to: u64,
                root: &Hash,
                nodes: &[(NodeKey, Hash)],
            ) -> Result<bool, StoreError> {
                $commit(&self.0, from, to, root, nodes).await
            }

            async fn insert_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<i64, StoreError> {
                let (id,): (i64,) = sqlx::query_as(tables::INSERT_CHECKPOINT)
                    .bind(to_i64(checkpoint.tree_size))
                    .bind(checkpoint.root.as_slice())
                    .bind(checkpoint.signed_at.timestamp_micros())
                    .bind(checkpoint.public_key.as_slice())
                    .bind(checkpoint.signature.as_slice())
                    .fetch_one($pool(&self.0))
                    .await?;
                Ok(id)
            }

            async fn latest_checkpoint(&self, size: Option<u64>) -> Result<Option<StoredCheckpoint>, StoreError> {
                let row: Option<tables::CheckpointRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(tables::latest_checkpoint_sql()))
                        .bind(size.map_or(-1, to_i64))
                        .fetch_optional($pool(&self.0))
                        .await?;
                row.map(tables::decode_checkpoint).transpose()
            }

            async fn list_checkpoints(&self, before: i64, limit: u32) -> Result<Vec<StoredCheckpoint>, StoreError> {
                let rows: Vec<tables::CheckpointRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(tables::list_checkpoints_sql()))
                        .bind(before)
                        .bind(i64::from(limit))
                        .fetch_all($pool(&self.0))
                        .await?;
                rows.into_iter().map(tables::decode_checkpoint).collect()
            }
        }
    };
}
pub(super) use merkle_tables;

pub(super) fn decode_checkpoint(row: CheckpointRow) -> Result<StoredCheckpoint, StoreError> {
    let (id, tree_size, root, signed_at, public_key, signature) = row;
    Ok(StoredCheckpoint {
        id,
        tree_size: to_u64(tree_size)?,
        root: to_hash(&root)?,
        signed_at: DateTime::from_timestamp_micros(signed_at)
            .ok_or_else(|| corrupt(format!("checkpoint {id} time {signed_at}")))?,
        public_key,
        signature,
    })
}
