//! The Merkle tree's tables in the log's PostgreSQL schema.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::rows::{LeafRow, leaf_row};
use super::tables::{self, MOVE, StoredCheckpoint, merkle_tables};
use super::{Hash, NodeKey};
use crate::error::StoreError;
use crate::row::to_i64;

#[derive(Debug, Clone)]
pub(crate) struct PostgresMerkle(pub(super) PgPool);

fn pool(pool: &PgPool) -> &PgPool {
    pool
}

type Row = (i64, Uuid, String, i64, String, i32, String, String, DateTime<Utc>, Vec<u8>, Vec<u8>);

const LEAF_ROWS: &str = "SELECT position, event_id, stream, revision, event_type, schema_version, data::text,
        metadata::text, recorded_at, prev_hash, hash FROM events WHERE position > $1 AND position <= $2
        ORDER BY position LIMIT $3";

async fn leaf_rows(pool: &PgPool, after: u64, until: u64, limit: u64) -> Result<Vec<LeafRow>, StoreError> {
    let (after, until, limit) = (to_i64(after), to_i64(until), to_i64(limit));
    let rows: Vec<Row> = sqlx::query_as(LEAF_ROWS).bind(after).bind(until).bind(limit).fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|r| leaf_row(r.0, r.1, r.2, r.3, r.4, i64::from(r.5), r.6, r.7, Some(r.8), r.9, r.10))
        .collect())
}

/// Derived from the log: the commit does not wait for its WAL flush (see `begin_derived`).
async fn commit(pool: &PgPool, from: u64, to: u64, root: &Hash, nodes: &[(NodeKey, Hash)]) -> Result<bool, StoreError> {
    let now = Utc::now().timestamp_micros();
    let mut tx = crate::begin_derived(pool).await?;
    let moved =
        sqlx::query(MOVE).bind(to_i64(to)).bind(root.as_slice()).bind(now).bind(to_i64(from)).execute(&mut *tx).await?;
    if moved.rows_affected() != 1 {
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

merkle_tables!(PostgresMerkle, pool = pool, commit = commit, leaf_rows = leaf_rows);
