//! The log's rows as the tree check reads them: each row's stored hash, and whether its content
//! still gives that hash. A leaf covers the stored hash only, so without the second part an edit
//! that left the hash column alone would pass the tree check (the chain verifier would catch it,
//! but a proof must not be handed out meanwhile).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::Database;
use crate::error::StoreError;
use crate::row::{StoredRow, to_i64};

/// One row of the log: position, stored hash, and whether the content still hashes to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LeafRow {
    pub position: i64,
    pub hash: Vec<u8>,
    pub content_matches: bool,
}

type SqliteRow = (i64, Uuid, String, i64, String, i64, String, String, i64, Vec<u8>, Vec<u8>);
type PgRow = (i64, Uuid, String, i64, String, i32, String, String, DateTime<Utc>, Vec<u8>, Vec<u8>);

const SQLITE: &str = "SELECT position, event_id, stream, revision, event_type, schema_version, data, metadata,
        recorded_at, prev_hash, hash FROM events WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3";
const POSTGRES: &str = "SELECT position, event_id, stream, revision, event_type, schema_version, data::text,
        metadata::text, recorded_at, prev_hash, hash FROM events WHERE position > $1 AND position <= $2
        ORDER BY position LIMIT $3";

/// Rows after `after` up to `until`, at most `limit`, in position order.
pub(super) async fn leaf_rows(db: &Database, after: u64, until: u64, limit: u64) -> Result<Vec<LeafRow>, StoreError> {
    let (after, until, limit) = (to_i64(after), to_i64(until), to_i64(limit));
    match db {
        Database::Sqlite(db) => {
            let rows: Vec<SqliteRow> =
                sqlx::query_as(SQLITE).bind(after).bind(until).bind(limit).fetch_all(db.pool()).await?;
            Ok(rows
                .into_iter()
                .map(|r| {
                    let recorded_at = DateTime::from_timestamp_micros(r.8);
                    leaf_row(r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, recorded_at, r.9, r.10)
                })
                .collect())
        }
        Database::Postgres(pool) => {
            let rows: Vec<PgRow> = sqlx::query_as(POSTGRES).bind(after).bind(until).bind(limit).fetch_all(pool).await?;
            Ok(rows
                .into_iter()
                .map(|r| leaf_row(r.0, r.1, r.2, r.3, r.4, i64::from(r.5), r.6, r.7, Some(r.8), r.9, r.10))
                .collect())
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn leaf_row(
    position: i64,
    event_id: Uuid,
    stream: String,
    revision: i64,
    event_type: String,
    schema_version: i64,
    data: String,
    metadata: String,
    recorded_at: Option<DateTime<Utc>>,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
) -> LeafRow {
    // Any field that no longer fits its type was altered: the content cannot give the hash.
    let stored = (|| {
        Some(StoredRow {
            position: u64::try_from(position).ok()?,
            event_id,
            stream,
            revision: u64::try_from(revision).ok()?,
            event_type,
            schema_version: u32::try_from(schema_version).ok()?,
            data,
            metadata,
            client_tag: None,
            recorded_at: recorded_at?,
            prev_hash,
            hash: Vec::new(),
        })
    })();
    let content_matches = stored.is_some_and(|row| row.compute_hash(&row.prev_hash).0.as_slice() == hash.as_slice());
    LeafRow { position, hash, content_matches }
}
