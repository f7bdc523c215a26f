//! The tree's tables on either backend. Queries are written once with `$n` placeholders, which
//! both SQLite and PostgreSQL accept; only beginning a transaction differs.

use chrono::{DateTime, Utc};

use super::{Hash, NodeKey};
use crate::Database;
use crate::error::StoreError;
use crate::row::to_i64;
use crate::sqlite_reader::store_error;

/// Runs the same query code against whichever pool the log lives in.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            Database::Sqlite(db) => {
                let $pool = db.pool();
                $body
            }
            Database::Postgres($pool) => $body,
        }
    };
}

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

type CheckpointRow = (i64, i64, Vec<u8>, i64, Vec<u8>, Vec<u8>);

const CHECKPOINT_COLUMNS: &str = "SELECT id, tree_size, root, signed_at, public_key, signature FROM merkle_checkpoints";

pub(super) fn corrupt(reason: impl Into<String>) -> StoreError {
    StoreError::Database(format!("Merkle tree table: {}", reason.into()))
}

pub(super) fn to_hash(bytes: &[u8]) -> Result<Hash, StoreError> {
    Hash::try_from(bytes).map_err(|_| corrupt(format!("a stored hash is {} bytes, not 32", bytes.len())))
}

fn to_u64(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| corrupt(format!("negative size or index {value}")))
}

/// The built size and its root.
pub(super) async fn tree_head(db: &Database) -> Result<(u64, Hash), StoreError> {
    let (size, root): (i64, Vec<u8>) = on_pool!(db, pool => {
        sqlx::query_as("SELECT size, root FROM merkle_tree").fetch_one(pool).await?
    });
    Ok((to_u64(size)?, to_hash(&root)?))
}

/// The stored nodes among `keys`, in the order asked; a missing one is an error.
pub(super) async fn nodes(db: &Database, keys: &[NodeKey]) -> Result<Vec<(NodeKey, Hash)>, StoreError> {
    let mut found = Vec::with_capacity(keys.len());
    for key in keys {
        let row: Option<(Vec<u8>,)> = on_pool!(db, pool => {
            sqlx::query_as("SELECT hash FROM merkle_nodes WHERE level = $1 AND idx = $2")
                .bind(i64::from(key.level))
                .bind(to_i64(key.index))
                .fetch_optional(pool)
                .await?
        });
        let (hash,) = row.ok_or_else(|| corrupt(format!("node ({}, {}) is missing", key.level, key.index)))?;
        found.push((*key, to_hash(&hash)?));
    }
    Ok(found)
}

/// Level-0 nodes (leaf hashes) for leaf indexes `[from, from + limit)`.
pub(super) async fn stored_leaves(db: &Database, from: u64, limit: u64) -> Result<Vec<(u64, Hash)>, StoreError> {
    let rows: Vec<(i64, Vec<u8>)> = on_pool!(db, pool => {
        sqlx::query_as("SELECT idx, hash FROM merkle_nodes WHERE level = 0 AND idx >= $1 ORDER BY idx LIMIT $2")
            .bind(to_i64(from))
            .bind(to_i64(limit))
            .fetch_all(pool)
            .await?
    });
    rows.into_iter().map(|(idx, hash)| Ok((to_u64(idx)?, to_hash(&hash)?))).collect()
}

/// `(position, stored chain hash)` of events after `after`, up to `until`, at most `limit` of them.
pub(super) async fn event_hashes(
    db: &Database,
    after: u64,
    until: u64,
    limit: u64,
) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as("SELECT position, hash FROM events WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3")
            .bind(to_i64(after))
            .bind(to_i64(until))
            .bind(to_i64(limit))
            .fetch_all(pool)
            .await?
    }))
}

/// Moves the tree from `from` to `to` leaves with the nodes that completes, in one transaction,
/// only if nobody else moved it first; returns false (writing nothing) if someone did.
pub(super) async fn commit(
    db: &Database,
    from: u64,
    to: u64,
    root: &Hash,
    nodes: &[(NodeKey, Hash)],
) -> Result<bool, StoreError> {
    let now = Utc::now().timestamp_micros();
    const MOVE: &str = "UPDATE merkle_tree SET size = $1, root = $2, updated_at = $3 WHERE size = $4";
    match db {
        // In turn with the log's writer, IMMEDIATE (never failing on a lock upgrade), and whole on
        // a blocking thread: the turn is held for the SQL only.
        Database::Sqlite(db) => {
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
                    insert
                        .execute(rusqlite::params![key.level, to_i64(key.index), hash.as_slice()])
                        .map_err(store_error)?;
                }
                Ok(true)
            })
            .await
        }
        // Derived from the log: the commit does not wait for its WAL flush (see `begin_derived`).
        Database::Postgres(pool) => {
            let mut tx = crate::begin_derived(pool).await?;
            let moved = sqlx::query(MOVE)
                .bind(to_i64(to))
                .bind(root.as_slice())
                .bind(now)
                .bind(to_i64(from))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if moved != 1 {
                return Ok(false);
            }
            // One statement for all of a batch's nodes, not one per node.
            sqlx::query(
                "INSERT INTO merkle_nodes (level, idx, hash)
                 SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])",
            )
            .bind(nodes.iter().map(|(key, _)| i64::from(key.level)).collect::<Vec<_>>())
            .bind(nodes.iter().map(|(key, _)| to_i64(key.index)).collect::<Vec<_>>())
            .bind(nodes.iter().map(|(_, hash)| hash.to_vec()).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        }
    }
}

pub(super) async fn insert_checkpoint(db: &Database, checkpoint: &StoredCheckpoint) -> Result<i64, StoreError> {
    let (id,): (i64,) = on_pool!(db, pool => {
        sqlx::query_as(
            "INSERT INTO merkle_checkpoints (tree_size, root, signed_at, public_key, signature)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(to_i64(checkpoint.tree_size))
        .bind(checkpoint.root.as_slice())
        .bind(checkpoint.signed_at.timestamp_micros())
        .bind(checkpoint.public_key.as_slice())
        .bind(checkpoint.signature.as_slice())
        .fetch_one(pool)
        .await?
    });
    Ok(id)
}

/// The newest checkpoint, or the newest at exactly `size`.
pub(super) async fn latest_checkpoint(
    db: &Database,
    size: Option<u64>,
) -> Result<Option<StoredCheckpoint>, StoreError> {
    let sql = format!("{CHECKPOINT_COLUMNS} WHERE ($1 < 0 OR tree_size = $1) ORDER BY id DESC LIMIT 1");
    let row: Option<CheckpointRow> = on_pool!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(size.map_or(-1, to_i64)).fetch_optional(pool).await?
    });
    row.map(decode_checkpoint).transpose()
}

/// Checkpoints with an id below `before` (0: from the newest), newest first.
pub(super) async fn list_checkpoints(
    db: &Database,
    before: i64,
    limit: u32,
) -> Result<Vec<StoredCheckpoint>, StoreError> {
    let sql = format!("{CHECKPOINT_COLUMNS} WHERE ($1 <= 0 OR id < $1) ORDER BY id DESC LIMIT $2");
    let rows: Vec<CheckpointRow> = on_pool!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(before).bind(i64::from(limit)).fetch_all(pool).await?
    });
    rows.into_iter().map(decode_checkpoint).collect()
}

fn decode_checkpoint(row: CheckpointRow) -> Result<StoredCheckpoint, StoreError> {
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
