//! The embedded default: one SQLite file in WAL mode with `synchronous=FULL`, one writer connection
//! (group commit under `BEGIN IMMEDIATE`) and a pool of readers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, FromRow, SqliteConnection, SqlitePool};
use tokio::sync::watch;
use uuid::Uuid;

use crate::EventStore;
use crate::database::SqliteDatabase;
use crate::error::StoreError;
use crate::model::category_of;
use crate::model::{
    AppendRequest, AppendResult, Direction, LogFilter, LogQuery, NewClientKey, Position, ReadFrom, RecordedEvent,
    StreamName, StreamQuery,
};
use crate::plan::{BatchPlanner, KnownEvent, StreamHead, event_ids, new_client_keys, streams_touched};
use crate::prepare::{Limits, PreparedAppend};
use crate::row::{StoredRow, to_i64, to_u64};
use crate::sqlite_reader::LogReader;
use crate::subscription::{EventSubscription, follow};
use crate::verify::{VerifyProgress, VerifyReport, VerifyScope};
use crate::writer::{BatchOutcome, BatchWriter, Writer};

macro_rules! select_events {
    ($rest:literal) => {
        concat!(
            "SELECT position, event_id, stream, revision, event_type, schema_version, data, metadata, client_tag, recorded_at, ",
            "prev_hash, hash FROM events ",
            $rest
        )
    };
}

const FORWARD: &str = select_events!("WHERE stream = ?1 AND revision >= ?2 ORDER BY revision ASC LIMIT ?3");
const BACKWARD: &str = select_events!("WHERE stream = ?1 AND revision <= ?2 ORDER BY revision DESC LIMIT ?3");
const POSITION_AT: &str =
    "SELECT position FROM events WHERE recorded_at <= ?1 ORDER BY recorded_at DESC, position DESC LIMIT 1";
const BY_ID: &str = select_events!("WHERE event_id = ?1");
const HEAD_REVISION: &str = "SELECT revision FROM events WHERE stream = ?1 ORDER BY revision DESC LIMIT 1";

/// Settings of the SQLite backend.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub limits: Limits,
    pub readers: u32,
    /// How long to wait for another process holding the write lock.
    pub busy_timeout: Duration,
    /// How often subscribers look for commits made by other processes.
    pub poll_interval: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            readers: 4,
            busy_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_millis(200),
        }
    }
}

/// The SQLite event store. Cheap to clone: clones share the writer and the reader pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    readers: SqlitePool,
    /// The readers as a [`Database`], with the writer turns the log's writer takes too.
    database: SqliteDatabase,
    writer: Writer,
    heads: watch::Receiver<Position>,
    options: SqliteOptions,
    /// Synchronous connections for `verify` and forward log reads.
    log_reader: LogReader,
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` and applies pending migrations.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteOptions::default()).await
    }

    pub async fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let connect = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(options.busy_timeout)
            .foreign_keys(true)
            // Freed bytes are zeroed, so PHI a read model rewrote on erasure does not linger in the file.
            .pragma("secure_delete", "ON");
        let unavailable =
            |e: sqlx::Error| StoreError::Unavailable(format!("cannot open SQLite file {}: {e}", path.display()));
        let mut writer_conn = SqliteConnection::connect_with(&connect).await.map_err(unavailable)?;
        sqlx::migrate!("./migrations/sqlite").run(&mut writer_conn).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(options.readers.max(1))
            .connect_with(connect)
            .await
            .map_err(unavailable)?;
        let head = read_head(&readers).await?;
        let (head_tx, heads) = watch::channel(Position(head));
        let database = SqliteDatabase::new(readers.clone());
        let writer = Writer::spawn(SqliteWriter { conn: writer_conn, database: database.clone() }, Arc::new(head_tx));
        let log_reader = LogReader::new(path.clone(), options.busy_timeout);
        Ok(Self { inner: Arc::new(Inner { path, readers, database, writer, heads, options, log_reader }) })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The reader pool, for read models kept in the same file as the log.
    pub fn pool(&self) -> &SqlitePool {
        &self.inner.readers
    }
}

async fn read_head(pool: &SqlitePool) -> Result<u64, StoreError> {
    let (position,): (i64,) = sqlx::query_as("SELECT position FROM log_head WHERE id = 1").fetch_one(pool).await?;
    to_u64(position, position, "log_head.position")
}

#[derive(Debug, FromRow)]
struct EventRow {
    position: i64,
    event_id: Uuid,
    stream: String,
    revision: i64,
    event_type: String,
    schema_version: i64,
    data: String,
    metadata: String,
    client_tag: Option<String>,
    recorded_at: i64,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

impl EventRow {
    fn into_stored(self) -> Result<StoredRow, StoreError> {
        let p = self.position;
        Ok(StoredRow {
            position: to_u64(p, p, "position")?,
            event_id: self.event_id,
            stream: self.stream,
            revision: to_u64(self.revision, p, "revision")?,
            event_type: self.event_type,
            schema_version: u32::try_from(self.schema_version)
                .map_err(|_| corrupt(p, format!("schema_version is {}", self.schema_version)))?,
            data: self.data,
            metadata: self.metadata,
            client_tag: self.client_tag,
            recorded_at: DateTime::from_timestamp_micros(self.recorded_at)
                .ok_or_else(|| corrupt(p, format!("recorded_at is {}", self.recorded_at)))?,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

fn corrupt(position: i64, reason: String) -> StoreError {
    StoreError::Corrupt { position: Position(position.max(0) as u64), reason }
}

fn decode(rows: Vec<EventRow>) -> Result<Vec<RecordedEvent>, StoreError> {
    rows.into_iter().map(|row| row.into_stored()?.into_recorded()).collect()
}

fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[async_trait]
impl EventStore for SqliteStore {
    fn backend_name(&self) -> &'static str {
        "sqlite"
    }

    fn database(&self) -> crate::Database {
        crate::Database::Sqlite(self.inner.database.clone())
    }

    fn stores_client_keys(&self) -> bool {
        true
    }

    #[tracing::instrument(skip_all, err, fields(stream = %request.stream, events = request.events.len()))]
    async fn append(&self, request: AppendRequest) -> Result<AppendResult, StoreError> {
        let prepared = PreparedAppend::new(request, &self.inner.options.limits)?;
        self.inner.writer.append(prepared).await
    }

    async fn read_stream(&self, stream: &StreamName, query: StreamQuery) -> Result<Vec<RecordedEvent>, StoreError> {
        if query.limit == 0 {
            return Err(crate::InvalidInput::ZeroLimit.into());
        }
        let (sql, from) = match (query.direction, query.from) {
            (Direction::Forward, ReadFrom::End) => return Ok(Vec::new()),
            (Direction::Forward, ReadFrom::Start) => (FORWARD, 0),
            (Direction::Forward, ReadFrom::Revision(r)) => (FORWARD, to_i64(r)),
            (Direction::Backward, ReadFrom::Start) => (BACKWARD, 0),
            (Direction::Backward, ReadFrom::End) => (BACKWARD, i64::MAX),
            (Direction::Backward, ReadFrom::Revision(r)) => (BACKWARD, to_i64(r)),
        };
        let rows: Vec<EventRow> = sqlx::query_as(sql)
            .bind(stream.as_str())
            .bind(from)
            .bind(sql_limit(query.limit))
            .fetch_all(&self.inner.readers)
            .await?;
        decode(rows)
    }

    async fn read_all(&self, query: &LogQuery) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.log_reader.read_all(query).await
    }

    async fn read_client(&self, client: &str, query: &LogQuery) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.log_reader.read_client(client, query).await
    }

    async fn position_at(&self, time: DateTime<Utc>) -> Result<Position, StoreError> {
        let found: Option<(i64,)> =
            sqlx::query_as(POSITION_AT).bind(time.timestamp_micros()).fetch_optional(&self.inner.readers).await?;
        Ok(found.map_or(Position::START, |(p,)| Position(p.max(0) as u64)))
    }

    async fn stream_revision(&self, stream: &StreamName) -> Result<Option<u64>, StoreError> {
        let revision: Option<(i64,)> =
            sqlx::query_as(HEAD_REVISION).bind(stream.as_str()).fetch_optional(&self.inner.readers).await?;
        revision.map(|(r,)| to_u64(r, 0, "revision")).transpose()
    }

    async fn head_position(&self) -> Result<Position, StoreError> {
        read_head(&self.inner.readers).await.map(Position)
    }

    async fn event_by_id(&self, event_id: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
        let row: Option<EventRow> = sqlx::query_as(BY_ID).bind(event_id).fetch_optional(&self.inner.readers).await?;
        row.map(|r| r.into_stored()?.into_recorded()).transpose()
    }

    fn subscribe(&self, after: Position, filter: LogFilter) -> EventSubscription {
        follow(self.clone(), after, filter, self.inner.heads.clone(), self.inner.options.poll_interval)
    }

    async fn verify(
        &self,
        scope: &VerifyScope,
        progress: &(dyn Fn(VerifyProgress) + Send + Sync),
    ) -> Result<VerifyReport, StoreError> {
        self.inner.log_reader.verify(scope, progress).await
    }
}

/// The single writer connection. `BEGIN IMMEDIATE` takes the write lock up front, so a writer in
/// another process waits (busy timeout) instead of failing halfway through a batch.
#[derive(Debug)]
struct SqliteWriter {
    conn: SqliteConnection,
    /// Taken per batch, so read models and the Merkle tree writing beside the log queue with it.
    database: SqliteDatabase,
}

impl BatchWriter for SqliteWriter {
    async fn write_batch(&mut self, batch: &[&PreparedAppend]) -> Result<BatchOutcome, StoreError> {
        let _turn = self.database.write_turn().await;
        let mut tx = self.conn.begin_with("BEGIN IMMEDIATE").await?;
        let (head, last_recorded): (i64, Option<i64>) =
            sqlx::query_as("SELECT position, recorded_at FROM log_head WHERE id = 1").fetch_one(&mut *tx).await?;
        let heads = stream_heads(&mut tx, batch).await?;
        let known = known_events(&mut tx, batch).await?;
        let stored_keys = store_client_keys(&mut tx, batch).await?;
        let last_recorded = last_recorded.and_then(DateTime::from_timestamp_micros);
        let mut planner =
            BatchPlanner::new(to_u64(head, head, "log_head.position")?, last_recorded, Utc::now(), heads, known);
        let results = planner.plan_batch(batch, &stored_keys);
        let head = planner.last_position();
        let recorded_at = planner.recorded_at().timestamp_micros();
        let rows = planner.into_rows();
        if rows.is_empty() {
            tx.rollback().await?;
        } else {
            insert_rows(&mut tx, &rows, recorded_at).await?;
            sqlx::query("UPDATE log_head SET position = ?1, recorded_at = ?2 WHERE id = 1")
                .bind(to_i64(head))
                .bind(recorded_at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok(BatchOutcome { results, head: Position(head) })
    }
}

/// Stores the batch's new client keys where the client has none and was never erased; returns
/// the ones stored (of two keys for one client, the first).
async fn store_client_keys(
    conn: &mut SqliteConnection,
    batch: &[&PreparedAppend],
) -> Result<Vec<NewClientKey>, StoreError> {
    let keys = new_client_keys(batch);
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<serde_json::Value> =
        keys.iter().map(|key| serde_json::json!([key.client, hex::encode(&key.wrapped)])).collect();
    // `WHERE` before `ON CONFLICT`: SQLite's parser needs it after an INSERT … SELECT.
    let stored: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "INSERT INTO client_keys (client_id, wrapped_key, created_at)
         SELECT value->>0, unhex(value->>1), ?2 FROM json_each(?1)
         WHERE NOT EXISTS (SELECT 1 FROM shredded_clients WHERE client_id = value->>0)
         ON CONFLICT (client_id) DO NOTHING
         RETURNING client_id, wrapped_key",
    )
    .bind(serde_json::Value::Array(rows).to_string())
    .bind(Utc::now().timestamp_micros())
    .fetch_all(&mut *conn)
    .await?;
    Ok(stored.into_iter().map(|(client, wrapped)| NewClientKey { client, wrapped }).collect())
}

/// The head of every stream the batch touches (None: no stream yet), in one statement: each
/// statement is a round trip to the driver's worker thread.
async fn stream_heads(
    conn: &mut SqliteConnection,
    batch: &[&PreparedAppend],
) -> Result<HashMap<String, Option<StreamHead>>, StoreError> {
    let streams = streams_touched(batch);
    let found: Vec<(String, i64, Vec<u8>)> = sqlx::query_as(
        "SELECT e.stream, e.revision, e.hash FROM json_each(?1) AS s
         JOIN events AS e ON e.stream = s.value
          AND e.revision = (SELECT revision FROM events WHERE stream = s.value ORDER BY revision DESC LIMIT 1)",
    )
    .bind(serde_json::to_string(&streams).map_err(|e| StoreError::Database(e.to_string()))?)
    .fetch_all(&mut *conn)
    .await?;
    let mut heads: HashMap<String, Option<StreamHead>> = streams.into_iter().map(|s| (s, None)).collect();
    for (stream, revision, hash) in found {
        let head = StreamHead::decode(revision, &hash, &stream)?;
        heads.insert(stream, Some(head));
    }
    Ok(heads)
}

/// Events already stored under any of the batch's ids (retries, or clashes), in one statement.
async fn known_events(conn: &mut SqliteConnection, batch: &[&PreparedAppend]) -> Result<Vec<KnownEvent>, StoreError> {
    let ids: Vec<String> = event_ids(batch).iter().map(|id| id.simple().to_string()).collect();
    let rows: Vec<(Uuid, String, i64, i64, String, i64, String)> = sqlx::query_as(
        "SELECT event_id, stream, revision, position, event_type, schema_version, data FROM events
         WHERE event_id IN (SELECT unhex(value) FROM json_each(?1))",
    )
    .bind(serde_json::to_string(&ids).map_err(|e| StoreError::Database(e.to_string()))?)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(event_id, stream, revision, position, event_type, schema_version, data)| {
            Ok(KnownEvent {
                event_id,
                stream,
                revision: to_u64(revision, position, "revision")?,
                position: to_u64(position, position, "position")?,
                event_type,
                schema_version: u32::try_from(schema_version).unwrap_or(u32::MAX),
                data,
            })
        })
        .collect()
}

/// Rows per INSERT statement: 13 parameters each stays far below SQLite's limit of 32,766, and a
/// fixed size keeps the number of distinct prepared statements small.
const ROWS_PER_INSERT: usize = 32;

/// Inserts the planned rows, many per statement.
async fn insert_rows(conn: &mut SqliteConnection, rows: &[StoredRow], recorded_at: i64) -> Result<(), StoreError> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO events (position, event_id, stream, category, revision, event_type, schema_version,
                                 data, metadata, recorded_at, prev_hash, hash, client_tag) VALUES {}",
            vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ")
        );
        let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in chunk {
            insert = insert
                .bind(to_i64(row.position))
                .bind(row.event_id)
                .bind(&row.stream)
                .bind(category_of(&row.stream))
                .bind(to_i64(row.revision))
                .bind(&row.event_type)
                .bind(i64::from(row.schema_version))
                .bind(&row.data)
                .bind(&row.metadata)
                .bind(recorded_at)
                .bind(&row.prev_hash)
                .bind(&row.hash)
                .bind(&row.client_tag);
        }
        insert.execute(&mut *conn).await?;
    }
    Ok(())
}
