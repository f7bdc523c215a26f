//! The production backend: PostgreSQL through a connection pool, one writer connection per process
//! doing group commit, and LISTEN/NOTIFY to wake subscribers in every process.
//!
//! Positions are dense and in commit order: each writer transaction locks the single `log_head` row
//! first and holds it until COMMIT, and PostgreSQL makes a committed transaction visible before it
//! releases its locks. So a reader that sees position N+1 also sees N, and a subscriber reading
//! "after my checkpoint" never skips a late commit — the gap problem of sequences (Marten, Eventuous
//! #222) cannot arise. Group commit keeps the throughput a per-row lock would otherwise cost.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{PgPool, Row};
use tokio::sync::watch;
use uuid::Uuid;

use crate::EventStore;
use crate::error::{InvalidInput, StoreError};
use crate::model::{
    AppendRequest, AppendResult, Direction, LogFilter, LogQuery, Position, ReadFrom, RecordedEvent, StreamName,
    StreamQuery,
};
use crate::open::redact_password;
use crate::postgres_ha;
use crate::postgres_listen::{is_plain_identifier, listen_for_commits, notify_channel};
use crate::postgres_rows::{EventRow, decode, row_ref};
use crate::postgres_writer::PgWriter;
use crate::prepare::Limits;
use crate::recent::RecentCommits;
use crate::row::{to_i64, to_u64};
use crate::subscription::{EventSubscription, follow};
use crate::verify::{self, RowSource, ScannedRow, VerifyProgress, VerifyReport, VerifyScope};
use crate::writer::Writer;

/// Settings of the PostgreSQL backend.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    pub url: String,
    /// A schema to keep the log in (created if missing); default: the server's search path.
    pub schema: Option<String>,
    pub max_connections: u32,
    pub limits: Limits,
    /// A fallback for missed notifications: how often idle subscribers look for new commits.
    pub poll_interval: Duration,
}

impl PostgresOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            schema: None,
            max_connections: 16,
            limits: Limits::default(),
            poll_interval: Duration::from_secs(1),
        }
    }

    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }
}

/// The PostgreSQL event store. Cheap to clone: clones share the writer and the pool.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: PgPool,
    writer: Writer,
    heads: watch::Receiver<Position>,
    recent: Arc<RecentCommits>,
    options: PostgresOptions,
    schema: String,
}

impl PostgresStore {
    /// Connects with default options and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(PostgresOptions::new(url)).await
    }

    pub async fn connect_with(options: PostgresOptions) -> Result<Self, StoreError> {
        let shown = redact_password(&options.url);
        let mut connect = PgConnectOptions::from_str(&options.url)
            .map_err(|e| StoreError::Unavailable(format!("{shown} is not a PostgreSQL URL: {e}")))?
            // A prepared statement's generic plan is made once, from the table's size at the time:
            // planned while a new store's tables were nearly empty, the lookups by `= ANY($1)` (event
            // ids, document ids) kept scanning whole tables as they grew, until the next ANALYZE.
            // Each execution is planned for its own values instead (tens of microseconds).
            .options([("plan_cache_mode", "force_custom_plan")]);
        if let Some(schema) = &options.schema {
            if !is_plain_identifier(schema) {
                return Err(StoreError::Invalid(InvalidInput::StreamNameCharacter {
                    name: schema.clone(),
                    character: '"',
                }));
            }
            connect = connect.options([("search_path", schema.as_str())]);
        }
        let unavailable = |e: sqlx::Error| {
            StoreError::Unavailable(format!(
                "cannot connect to {shown}: {e}; is PostgreSQL running and DATABASE_URL right?"
            ))
        };
        let connect = postgres_ha::with_session_settings(connect);
        let pool = postgres_ha::pool_options(options.max_connections)
            .connect_with(connect.clone())
            .await
            .map_err(unavailable)?;
        if let Some(schema) = &options.schema {
            postgres_ha::create_schema(&pool, schema).await?;
        }
        crate::migrate_postgres(&pool, &crate::postgres_migrations::LOG).await?;
        let (schema,): (String,) = sqlx::query_as("SELECT current_schema()").fetch_one(&pool).await?;
        let head = read_head(&pool).await?;
        let (head_tx, heads) = watch::channel(Position(head));
        let head_tx = Arc::new(head_tx);
        let channel = notify_channel(&schema);
        let recent = Arc::new(RecentCommits::default());
        let writer_pid = Arc::new(AtomicU32::new(0));
        // The writer's one-round-trip statement inserts from arrays and locks a one-row table: its
        // plan never depends on the data, so it is planned once per connection, not per commit.
        // (The long way asks for custom plans again: it looks rows up by value.)
        let connect = connect.options([("plan_cache_mode", "force_generic_plan")]);
        let pg_writer = PgWriter::new(connect, channel.clone(), Arc::clone(&writer_pid));
        let writer = Writer::start(pg_writer, head_tx.clone(), Arc::clone(&recent)).await?;
        tokio::spawn(listen_for_commits(pool.clone(), channel, head_tx, writer_pid));
        Ok(Self { inner: Arc::new(Inner { pool, writer, heads, recent, options, schema }) })
    }

    /// The database handle for the tables kept beside the log (read models, client keys, the
    /// Merkle tree): what [`crate::open`] hands the port owners.
    pub fn database(&self) -> crate::Database {
        crate::Database::Postgres(self.inner.pool.clone())
    }

    /// The pool, for read models kept in the same database as the log.
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// The schema the log lives in.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }
}

pub(crate) async fn read_head(pool: &PgPool) -> Result<u64, StoreError> {
    let (position,): (i64,) = sqlx::query_as("SELECT position FROM log_head WHERE id").fetch_one(pool).await?;
    to_u64(position, position, "log_head.position")
}

fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

macro_rules! select_events {
    ($rest:literal) => {
        concat!(
            "SELECT position, event_id, stream, revision, event_type, schema_version, data::text AS data, ",
            "metadata::text AS metadata, client_tag, recorded_at, prev_hash, hash FROM events ",
            $rest
        )
    };
}

const FORWARD: &str = select_events!("WHERE stream = $1 AND revision >= $2 ORDER BY revision ASC LIMIT $3");
const BACKWARD: &str = select_events!("WHERE stream = $1 AND revision <= $2 ORDER BY revision DESC LIMIT $3");
const READ_ALL: &str = select_events!(
    "WHERE position >= $1 AND position <= $2
       AND ($3::text[] IS NULL OR category = ANY($3))
       AND ($4::text[] IS NULL OR event_type = ANY($4))
     ORDER BY position LIMIT $5"
);
const READ_CLIENT: &str = select_events!(
    "WHERE client_tag = $6 AND position >= $1 AND position <= $2
       AND ($3::text[] IS NULL OR category = ANY($3))
       AND ($4::text[] IS NULL OR event_type = ANY($4))
     ORDER BY position LIMIT $5"
);
const POSITION_AT: &str =
    "SELECT position FROM events WHERE recorded_at <= $1 ORDER BY recorded_at DESC, position DESC LIMIT 1";
const BY_ID: &str = select_events!("WHERE event_id = $1");
const LOG_PAGE: &str = select_events!("WHERE position > $1 ORDER BY position LIMIT $2");
const STREAM_PAGE: &str = select_events!("WHERE stream = $1 ORDER BY revision LIMIT $3 OFFSET $2");
const HEAD_REVISION: &str = "SELECT revision FROM events WHERE stream = $1 ORDER BY revision DESC LIMIT 1";

impl PostgresStore {
    /// The writer and limits of the log, for [`crate::first_keys`].
    pub(crate) fn writer(&self) -> &Writer {
        &self.inner.writer
    }

    pub(crate) fn limits(&self) -> &crate::prepare::Limits {
        &self.inner.options.limits
    }

    /// A forward log read; `client` binds `$6` of the client-scoped query.
    async fn read_log(
        &self,
        sql: &'static str,
        client: Option<&str>,
        query: &LogQuery,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        if query.limit == 0 {
            return Err(InvalidInput::ZeroLimit.into());
        }
        let LogFilter { categories, event_types } = &query.filter;
        let mut select = sqlx::query_as(sql)
            .bind(to_i64(query.from.0))
            .bind(query.up_to.map_or(i64::MAX, |p| to_i64(p.0)))
            .bind((!categories.is_empty()).then(|| categories.clone()))
            .bind((!event_types.is_empty()).then(|| event_types.clone()))
            .bind(sql_limit(query.limit));
        if let Some(client) = client {
            select = select.bind(client.to_owned());
        }
        let rows: Vec<EventRow> = select.fetch_all(&self.inner.pool).await?;
        decode(rows)
    }
}

#[async_trait]
impl EventStore for PostgresStore {
    fn backend_name(&self) -> &'static str {
        "postgres"
    }

    #[tracing::instrument(skip_all, err(level = "debug"), fields(stream = %request.stream, events = request.events.len()))]
    async fn append(&self, request: AppendRequest) -> Result<AppendResult, StoreError> {
        self.inner.writer.submit(request, &self.inner.options.limits, Vec::new()).await
    }

    async fn read_stream(&self, stream: &StreamName, query: StreamQuery) -> Result<Vec<RecordedEvent>, StoreError> {
        if query.limit == 0 {
            return Err(InvalidInput::ZeroLimit.into());
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
            .fetch_all(&self.inner.pool)
            .await?;
        decode(rows)
    }

    async fn read_all(&self, query: &LogQuery) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_log(READ_ALL, None, query).await
    }

    async fn read_client(&self, client: &str, query: &LogQuery) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_log(READ_CLIENT, Some(client), query).await
    }

    async fn position_at(&self, time: DateTime<Utc>) -> Result<Position, StoreError> {
        let found: Option<(i64,)> = sqlx::query_as(POSITION_AT).bind(time).fetch_optional(&self.inner.pool).await?;
        Ok(found.map_or(Position::START, |(p,)| Position(p.max(0) as u64)))
    }

    async fn stream_revision(&self, stream: &StreamName) -> Result<Option<u64>, StoreError> {
        let revision: Option<(i64,)> =
            sqlx::query_as(HEAD_REVISION).bind(stream.as_str()).fetch_optional(&self.inner.pool).await?;
        revision.map(|(r,)| to_u64(r, 0, "revision")).transpose()
    }

    async fn head_position(&self) -> Result<Position, StoreError> {
        read_head(&self.inner.pool).await.map(Position)
    }

    async fn event_by_id(&self, event_id: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
        let row: Option<EventRow> = sqlx::query_as(BY_ID).bind(event_id).fetch_optional(&self.inner.pool).await?;
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
        verify::run(self, scope, progress).await
    }
}

/// Verification keeps rows as fetched and decodes them on the hashing thread, borrowing text and
/// bytes from the row's buffer (by column index, in `select_events!` order) instead of copying each
/// column on the thread that reads the connection.
impl RowSource for PostgresStore {
    type Row = PgRow;

    fn scan(row: &PgRow) -> ScannedRow<'_> {
        let position: i64 = row.try_get(0).map_err(|e| (0, format!("position: {e}")))?;
        row_ref(row, position).map_err(|e| (position.max(0) as u64, e.to_string()))
    }

    async fn log_page(&self, after: u64, limit: usize) -> Result<Vec<PgRow>, StoreError> {
        Ok(sqlx::query(LOG_PAGE).bind(to_i64(after)).bind(sql_limit(limit)).fetch_all(&self.inner.pool).await?)
    }

    async fn stream_page(&self, stream: &str, offset: u64, limit: usize) -> Result<Vec<PgRow>, StoreError> {
        Ok(sqlx::query(STREAM_PAGE)
            .bind(stream)
            .bind(to_i64(offset))
            .bind(sql_limit(limit))
            .fetch_all(&self.inner.pool)
            .await?)
    }

    async fn recorded_head(&self) -> Result<u64, StoreError> {
        read_head(&self.inner.pool).await
    }
}
