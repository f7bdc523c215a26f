//! The embedded default: one SQLite file in WAL mode with `synchronous=FULL`, one writer connection
//! (group commit under `BEGIN IMMEDIATE`) and read-only connections stepped on blocking threads.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use tokio::sync::watch;
use uuid::Uuid;

use crate::EventStore;
use crate::error::StoreError;
use crate::migrations::Migrations;
use crate::model::{
    AppendRequest, AppendResult, Direction, LogFilter, LogQuery, Position, ReadFrom, RecordedEvent, StreamName,
    StreamQuery,
};
use crate::prepare::Limits;
use crate::recent::RecentCommits;
use crate::row::{to_i64, to_u64};
use crate::sqlite_database::SqliteDatabase;
use crate::sqlite_migrations::migrate;
use crate::sqlite_reader::{open_connection, recorded_from, run_blocking, store_error};
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

/// The log's schema, recorded where earlier builds' sqlx migrator recorded it.
pub(crate) static MIGRATIONS: Migrations = crate::migrations!(
    table = "_sqlx_migrations",
    dir = "migrations/sqlite",
    files = ["0001_events.sql", "0002_client_tag.sql", "0003_merkle_tree.sql"]
);

const POSITION_AT: &str =
    "SELECT position FROM events WHERE recorded_at <= ?1 ORDER BY recorded_at DESC, position DESC LIMIT 1";
const BY_ID: &str = select_events!("WHERE event_id = ?1");
const HEAD_REVISION: &str = "SELECT revision FROM events WHERE stream = ?1 ORDER BY revision DESC LIMIT 1";

/// Settings of the SQLite backend.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub limits: Limits,
    /// How long to wait for another process holding the write lock.
    pub busy_timeout: Duration,
    /// How often subscribers look for commits made by other processes.
    pub poll_interval: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            busy_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_millis(200),
        }
    }
}

/// The SQLite event store. Cheap to clone: clones share the writer and the readers.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
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
        let opening = path.clone();
        // Created with the settings every connection of the store has (WAL, `synchronous=FULL`,
        // foreign keys, and freed bytes zeroed so PHI a read model rewrote on erasure does not
        // linger in the file), then migrated.
        let head = run_blocking("open", move || {
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
            let mut conn = open_connection(&opening, flags, options.busy_timeout)?;
            migrate(&mut conn, &MIGRATIONS)?;
            read_head(&conn)
        })
        .await?;
        let (head_tx, heads) = watch::channel(Position(head));
        let database = SqliteDatabase::new(path.clone(), options.busy_timeout);
        let writer = SqliteWriter::open(&path, options.busy_timeout, database.clone())?;
        let recent = Arc::new(RecentCommits::default());
        let writer = Writer::start(writer, Arc::new(head_tx), Arc::clone(&recent)).await?;
        spawn_checkpointer(path.clone(), options.busy_timeout, heads.clone());
        Ok(Self { inner: Arc::new(Inner { path, database, writer, heads, recent, options }) })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The database handle for the tables kept in the log's file (read models, client keys, the
    /// Merkle tree): what [`crate::open`] hands the port owners.
    pub fn database(&self) -> crate::Database {
        crate::Database::Sqlite(self.inner.database.clone())
    }

    /// Runs `read` on a read-only connection to the log's file, on a blocking thread.
    async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.inner.database.read_blocking(read).await
    }
}

fn read_head(conn: &Connection) -> Result<u64, StoreError> {
    let position: i64 = conn
        .prepare_cached("SELECT position FROM log_head WHERE id = 1")
        .and_then(|mut s| s.query_row([], |row| row.get(0)))
        .map_err(store_error)?;
    to_u64(position, position, "log_head.position")
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
        self.inner.writer.submit(request, &self.inner.options.limits, Vec::new()).await
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
        let micros = time.timestamp_micros();
        let found: Option<i64> = self
            .read(move |conn| {
                let mut statement = conn.prepare_cached(POSITION_AT).map_err(store_error)?;
                statement.query_row([micros], |row| row.get(0)).optional().map_err(store_error)
            })
            .await?;
        Ok(found.map_or(Position::START, |p| Position(p.max(0) as u64)))
    }

    async fn stream_revision(&self, stream: &StreamName) -> Result<Option<u64>, StoreError> {
        let stream = stream.as_str().to_owned();
        let revision: Option<i64> = self
            .read(move |conn| {
                let mut statement = conn.prepare_cached(HEAD_REVISION).map_err(store_error)?;
                statement.query_row([stream], |row| row.get(0)).optional().map_err(store_error)
            })
            .await?;
        revision.map(|r| to_u64(r, 0, "revision")).transpose()
    }

    async fn head_position(&self) -> Result<Position, StoreError> {
        self.read(read_head).await.map(Position)
    }

    async fn event_by_id(&self, event_id: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
        let found = self
            .read(move |conn| {
                let mut statement = conn.prepare_cached(BY_ID).map_err(store_error)?;
                recorded_from(statement.query([event_id.as_bytes().as_slice()]).map_err(store_error)?)
            })
            .await?;
        Ok(found.into_iter().next())
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
