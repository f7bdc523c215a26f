//! The SQLite log's group commit, on a synchronous connection stepped on a blocking thread.
//!
//! Through an async driver every statement of a batch (begin, log head, stream heads, earlier
//! attempts, client keys, inserts, head update, commit) was a hand-off to its worker thread and
//! back, and those hand-offs held the file's single write lock longer than the SQL did. Here the
//! whole transaction is one hand-off.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use tokio::sync::watch;
use uuid::Uuid;

use crate::error::StoreError;
use crate::first_keys::AppendWithKeys;
use crate::first_keys::NewClientKey;
use crate::model::{AppendRequest, AppendResult};
use crate::model::{Position, category_of};
use crate::plan::{BatchPlanner, KnownEvent, StreamHead, event_ids, keys_of_failed, new_client_keys, streams_touched};
use crate::prepare::PreparedAppend;
use crate::row::{StoredRow, to_i64, to_u64};
use crate::sqlite::SqliteStore;
use crate::sqlite_database::SqliteDatabase;
use crate::sqlite_reader::{open_connection, store_error};
use crate::writer::{BatchOutcome, BatchWriter};

/// Rows per INSERT statement: 13 parameters each stays far below SQLite's limit of 32,766, and a
/// fixed size keeps the number of distinct prepared statements small.
const ROWS_PER_INSERT: usize = 32;

/// The single writer connection. `BEGIN IMMEDIATE` takes the write lock up front, so a writer in
/// another process waits (busy timeout) instead of failing halfway through a batch.
#[derive(Debug)]
pub(crate) struct SqliteWriter {
    conn: Connection,
    /// Taken per batch, so read models and the Merkle tree writing beside the log queue with it.
    database: SqliteDatabase,
}

impl SqliteWriter {
    /// Opens the writer connection on a file the store has migrated, with the store's durability
    /// settings (`synchronous=FULL` on the WAL: a commit returns once it is on disk).
    pub fn open(path: &Path, busy_timeout: Duration, database: SqliteDatabase) -> Result<Self, StoreError> {
        let conn = open_connection(path, OpenFlags::SQLITE_OPEN_READ_WRITE, busy_timeout)?;
        conn.pragma_update(None, "wal_autocheckpoint", 0).map_err(store_error)?;
        // An acknowledgement means durable: refuse to write with any weaker setting in force.
        let synchronous: i64 = conn.query_row("PRAGMA synchronous", [], |row| row.get(0)).map_err(store_error)?;
        if synchronous != 2 {
            return Err(StoreError::Unavailable(format!("SQLite kept synchronous={synchronous}, not FULL (2)")));
        }
        Ok(Self { conn, database })
    }
}

impl BatchWriter for SqliteWriter {
    /// SQLite's calls block: the writer's own thread makes them, with nothing else to run while
    /// they do, instead of handing each batch to a blocking thread and back.
    const OWN_THREAD: bool = true;

    async fn write_batch(&mut self, batch: &[&PreparedAppend]) -> Result<BatchOutcome, StoreError> {
        let _turn = self.database.write_turn().await;
        write(&mut self.conn, batch)
    }
}

/// How long the checkpointer lets commits gather in the WAL before it copies them into the file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Copies the log's commits from the WAL into the database file on a connection of its own, a
/// quarter second after commits arrive. SQLite's automatic checkpoint, which the writer
/// connection no longer runs, ran inside a commit every thousand pages: the writer held the write
/// lock while it copied and synced the file, and every append queued behind it waited. A passive
/// checkpoint runs beside the writer and the readers without blocking either. The task ends with
/// the store (when the log's head sender is dropped).
pub(crate) fn spawn_checkpointer(path: PathBuf, busy_timeout: Duration, mut heads: watch::Receiver<Position>) {
    tokio::spawn(async move {
        let conn = Arc::new(Mutex::new(None::<Connection>));
        while heads.changed().await.is_ok() {
            tokio::time::sleep(CHECKPOINT_EVERY).await;
            let (conn, path) = (Arc::clone(&conn), path.clone());
            let checkpointed = tokio::task::spawn_blocking(move || {
                let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
                if conn.is_none() {
                    let opened = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
                    opened.busy_timeout(busy_timeout)?;
                    *conn = Some(opened);
                }
                conn.as_ref().map_or(Ok(()), |c| c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())))
            })
            .await;
            if let Ok(Err(error)) = checkpointed {
                tracing::warn!(%error, "WAL checkpoint failed; the next one retries");
            }
        }
    });
}

/// Plans and commits one batch in one transaction.
fn write(conn: &mut Connection, batch: &[&PreparedAppend]) -> Result<BatchOutcome, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(store_error)?;
    let (head, last_recorded): (i64, Option<i64>) = tx
        .prepare_cached("SELECT position, recorded_at FROM log_head WHERE id = 1")
        .and_then(|mut s| s.query_row([], |row| Ok((row.get(0)?, row.get(1)?))))
        .map_err(store_error)?;
    let heads = stream_heads(&tx, batch)?;
    let known = known_events(&tx, batch)?;
    let stored_keys = store_client_keys(&tx, batch)?;
    let last_recorded = last_recorded.and_then(DateTime::from_timestamp_micros);
    let mut planner =
        BatchPlanner::new(to_u64(head, head, "log_head.position")?, last_recorded, Utc::now(), heads, known);
    let results = planner.plan_batch(batch, &stored_keys);
    remove_client_keys(&tx, &keys_of_failed(batch, &results, &stored_keys))?;
    let head = planner.last_position();
    let recorded_at = planner.recorded_at().timestamp_micros();
    let rows = planner.into_rows();
    if rows.is_empty() {
        tx.rollback().map_err(store_error)?;
    } else {
        insert_rows(&tx, &rows, recorded_at)?;
        tx.prepare_cached("UPDATE log_head SET position = ?1, recorded_at = ?2 WHERE id = 1")
            .and_then(|mut s| s.execute(params![to_i64(head), recorded_at]))
            .map_err(store_error)?;
        tx.commit().map_err(store_error)?;
    }
    Ok(BatchOutcome { results, head: Position(head), rows })
}

/// Stores the batch's new client keys where the client has none and was never erased; returns
/// the ones stored (of two keys for one client, the first). The tables are the vault's: a batch
/// without keys never names them.
fn store_client_keys(conn: &Connection, batch: &[&PreparedAppend]) -> Result<Vec<NewClientKey>, StoreError> {
    let keys = new_client_keys(batch);
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    // `WHERE` before `ON CONFLICT`: SQLite's parser needs it after an INSERT … SELECT.
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO client_keys (client_id, wrapped_key, created_at)
             SELECT ?1, ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM shredded_clients WHERE client_id = ?1)
             ON CONFLICT (client_id) DO NOTHING",
        )
        .map_err(store_error)?;
    let now = Utc::now().timestamp_micros();
    let mut stored = Vec::new();
    for key in keys {
        if insert.execute(params![key.client, key.wrapped, now]).map_err(store_error)? == 1 {
            stored.push(key.clone());
        }
    }
    Ok(stored)
}

fn remove_client_keys(conn: &Connection, keys: &[&NewClientKey]) -> Result<(), StoreError> {
    for key in keys {
        conn.prepare_cached("DELETE FROM client_keys WHERE client_id = ?1 AND wrapped_key = ?2")
            .and_then(|mut s| s.execute(params![key.client, key.wrapped]))
            .map_err(store_error)?;
    }
    Ok(())
}

/// The head of every stream the batch touches (None: no stream yet), in one statement.
fn stream_heads(
    conn: &Connection,
    batch: &[&PreparedAppend],
) -> Result<HashMap<String, Option<StreamHead>>, StoreError> {
    let streams = streams_touched(batch);
    let mut statement = conn
        .prepare_cached(
            "SELECT e.stream, e.revision, e.hash FROM json_each(?1) AS s
             JOIN events AS e ON e.stream = s.value
              AND e.revision = (SELECT revision FROM events WHERE stream = s.value ORDER BY revision DESC LIMIT 1)",
        )
        .map_err(store_error)?;
    let names = serde_json::to_string(&streams).map_err(|e| StoreError::Database(e.to_string()))?;
    let found: Vec<(String, i64, Vec<u8>)> = statement
        .query_map([names], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .and_then(Iterator::collect)
        .map_err(store_error)?;
    let mut heads: HashMap<String, Option<StreamHead>> = streams.into_iter().map(|s| (s, None)).collect();
    for (stream, revision, hash) in found {
        let head = StreamHead::decode(revision, &hash, &stream)?;
        heads.insert(stream, Some(head));
    }
    Ok(heads)
}

/// Events already stored under any of the batch's ids (retries, or clashes), in one statement.
fn known_events(conn: &Connection, batch: &[&PreparedAppend]) -> Result<Vec<KnownEvent>, StoreError> {
    let ids: Vec<String> = event_ids(batch).iter().map(|id| id.simple().to_string()).collect();
    let mut statement = conn
        .prepare_cached(
            "SELECT event_id, stream, revision, position, event_type, schema_version, data FROM events
             WHERE event_id IN (SELECT unhex(value) FROM json_each(?1))",
        )
        .map_err(store_error)?;
    let ids = serde_json::to_string(&ids).map_err(|e| StoreError::Database(e.to_string()))?;
    type Row = (Vec<u8>, String, i64, i64, String, i64, String);
    let rows: Vec<Row> = statement
        .query_map([ids], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?))
        })
        .and_then(Iterator::collect)
        .map_err(store_error)?;
    rows.into_iter()
        .map(|(event_id, stream, revision, position, event_type, schema_version, data)| {
            let corrupt = |e: uuid::Error| StoreError::Corrupt {
                position: Position(position.max(0) as u64),
                reason: format!("event_id: {e}"),
            };
            let event_id = Uuid::from_slice(&event_id).map_err(corrupt)?;
            KnownEvent::decode(event_id, stream, revision, position, event_type, schema_version, data)
        })
        .collect()
}

/// Inserts the planned rows, many per statement.
fn insert_rows(conn: &Connection, rows: &[StoredRow], recorded_at: i64) -> Result<(), StoreError> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO events (position, event_id, stream, category, revision, event_type, schema_version,
                                 data, metadata, recorded_at, prev_hash, hash, client_tag) VALUES {}",
            vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ")
        );
        // Only full-size statements are kept prepared: a shorter last one would crowd the cache.
        let (mut cached, mut once);
        let insert: &mut rusqlite::Statement = if chunk.len() == ROWS_PER_INSERT {
            cached = conn.prepare_cached(&sql).map_err(store_error)?;
            &mut cached
        } else {
            once = conn.prepare(&sql).map_err(store_error)?;
            &mut once
        };
        let mut index = 0;
        let mut bind = |value: &dyn rusqlite::ToSql| {
            index += 1;
            insert.raw_bind_parameter(index, value)
        };
        for row in chunk {
            bind(&to_i64(row.position))
                .and_then(|()| bind(&row.event_id.as_bytes().as_slice()))
                .and_then(|()| bind(&row.stream))
                .and_then(|()| bind(&category_of(&row.stream)))
                .and_then(|()| bind(&to_i64(row.revision)))
                .and_then(|()| bind(&row.event_type))
                .and_then(|()| bind(&i64::from(row.schema_version)))
                .and_then(|()| bind(&row.data))
                .and_then(|()| bind(&row.metadata))
                .and_then(|()| bind(&recorded_at))
                .and_then(|()| bind(&row.prev_hash))
                .and_then(|()| bind(&row.hash))
                .and_then(|()| bind(&row.client_tag))
                .map_err(store_error)?;
        }
        insert.raw_execute().map_err(store_error)?;
    }
    Ok(())
}

/// The store's new client keys go through its writer, into the batch's transaction.
#[async_trait::async_trait]
impl AppendWithKeys for SqliteStore {
    async fn append_with_keys(
        &self,
        request: AppendRequest,
        keys: Vec<NewClientKey>,
    ) -> Result<AppendResult, StoreError> {
        self.writer().submit(request, self.limits(), keys).await
    }
}
