//! The embedded default: one SQLite file in WAL mode with `synchronous=FULL`, one writer connection
//! (group commit under `BEGIN IMMEDIATE`) and a pool of readers.

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
use crate::error::StoreError;
use crate::model::{
    AppendRequest, AppendResult, Direction, LogFilter, LogQuery, Position, ReadFrom, RecordedEvent, StreamName,
    StreamQuery,
};
use crate::prepare::{Limits, PreparedAppend};
use crate::recent::RecentCommits;
use crate::row::{StoredRow, to_i64, to_u64};
use crate::sqlite_database::SqliteDatabase;
use crate::sqlite_writer::{SqliteWriter, spawn_checkpointer};
use crate::subscription::{EventSubscription, follow};
use crate::verify::{VerifyProgress, VerifyReport, VerifyScope};
use crate::writer::Writer;

macro_rules! select_events {
    ($rest:literal) => {
        concat!(
            "SELECT position, event_id, stream, revision, event_type, schema_version, data, metadata, client_tag, recorded_at, ",
            "prev_hash, hash FROM events ",
            $rest
        )
    };
}

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
    recent: Arc<RecentCommits>,
    options: SqliteOptions,
}

impl SqliteStore {
    /// The writer and limits of the log, for [`crate::first_keys`].
    pub(crate) fn writer(&self) -> &Writer {
        &self.inner.writer
    }

    pub(crate) fn limits(&self) -> &crate::prepare::Limits {
        &self.inner.options.limits
    }

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
        let mut migrating = SqliteConnection::connect_with(&connect).await.map_err(unavailable)?;
        sqlx::migrate!("./migrations/sqlite").run(&mut migrating).await?;
        migrating.close().await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(options.readers.max(1))
            .connect_with(connect)
            .await
            .map_err(unavailable)?;
        let head = read_head(&readers).await?;
        let (head_tx, heads) = watch::channel(Position(head));
        let database = SqliteDatabase::new(readers.clone(), path.clone(), options.busy_timeout);
        let writer = SqliteWriter::open(&path, options.busy_timeout, database.clone())?;
        let recent = Arc::new(RecentCommits::default());
        let writer = Writer::spawn(writer, Arc::new(head_tx), Arc::clone(&recent));
        spawn_checkpointer(path.clone(), options.busy_timeout, heads.clone());
        Ok(Self { inner: Arc::new(Inner { path, readers, database, writer, heads, recent, options }) })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The database handle for the tables kept in the log's file (read models, client keys, the
    /// Merkle tree): what [`crate::open`] hands the port owners.
    pub fn database(&self) -> crate::Database {
        crate::Database::Sqlite(self.inner.database.clone())
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

fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[async_trait]
impl EventStore for SqliteStore {
    fn backend_name(&self) -> &'static str {
        "sqlite"
    }

    #[tracing::instrument(skip_all, err(level = "debug"), fields(stream = %request.stream, events = request.events.len()))]
    async fn append(&self, request: AppendRequest) -> Result<AppendResult, StoreError> {
        let prepared = PreparedAppend::new(request, &self.inner.options.limits)?;
        self.inner.writer.append(prepared).await
    }

    async fn read_stream(&self, stream: &StreamName, query: StreamQuery) -> Result<Vec<RecordedEvent>, StoreError> {
        if query.limit == 0 {
            return Err(crate::InvalidInput::ZeroLimit.into());
        }
        let from = match (query.direction, query.from) {
            (Direction::Forward, ReadFrom::End) => return Ok(Vec::new()),
            (_, ReadFrom::Start) => 0,
            (_, ReadFrom::Revision(r)) => to_i64(r),
            (Direction::Backward, ReadFrom::End) => i64::MAX,
        };
        self.inner
            .database
            .log_reader()
            .read_stream(stream.as_str(), query.direction, from, sql_limit(query.limit))
            .await
    }

    async fn read_all(&self, query: &LogQuery) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.database.log_reader().read_all(query).await
    }

    async fn read_client(&self, client: &str, query: &LogQuery) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.database.log_reader().read_client(client, query).await
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
        let wake = (self.inner.heads.clone(), Arc::clone(&self.inner.recent));
        follow(self.clone(), after, filter, wake, self.inner.options.poll_interval)
    }

    async fn verify(
        &self,
        scope: &VerifyScope,
        progress: &(dyn Fn(VerifyProgress) + Send + Sync),
    ) -> Result<VerifyReport, StoreError> {
        self.inner.database.log_reader().verify(scope, progress).await
    }
}
