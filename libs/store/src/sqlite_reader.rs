//! Reads that walk many rows of the SQLite log — `verify` and forward log reads (projection
//! catch-up and rebuild) — on synchronous connections of their own, stepped on a blocking thread.
//!
//! An async driver runs each statement on a worker thread and hands every row over to the async
//! side: a wake-up and a copy of each column per row, which bounded both reads (see BENCHMARKS.md).
//! Here a row is checked or decoded where SQLite holds it.

mod verify;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::DateTime;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{Semaphore, mpsc};
use uuid::Uuid;

use crate::error::StoreError;
use crate::model::{LogQuery, Position, RecordedEvent};
use crate::row::{RowRef, to_i64, to_u64};
use crate::verify::{VerifyProgress, VerifyReport, VerifyScope};

/// The columns every statement here selects, in the order [`row_ref`] reads them.
macro_rules! select_columns {
    ($rest:literal) => {
        concat!(
            "SELECT position, event_id, stream, revision, event_type, schema_version, data, metadata, client_tag, ",
            "recorded_at, prev_hash, hash FROM events ",
            $rest
        )
    };
}

const READ_ALL: &str = select_columns!(
    "WHERE position >= ?1 AND position <= ?2
       AND (?3 IS NULL OR category IN (SELECT value FROM json_each(?3)))
       AND (?4 IS NULL OR event_type IN (SELECT value FROM json_each(?4)))
     ORDER BY position LIMIT ?5"
);
const READ_CLIENT: &str = select_columns!(
    "WHERE client_tag = ?6 AND position >= ?1 AND position <= ?2
       AND (?3 IS NULL OR category IN (SELECT value FROM json_each(?3)))
       AND (?4 IS NULL OR event_type IN (SELECT value FROM json_each(?4)))
     ORDER BY position LIMIT ?5"
);
const STREAM_FORWARD: &str = select_columns!("WHERE stream = ?1 AND revision >= ?2 ORDER BY revision ASC LIMIT ?3");
const STREAM_BACKWARD: &str = select_columns!("WHERE stream = ?1 AND revision <= ?2 ORDER BY revision DESC LIMIT ?3");
/// The whole log up to the head read in the same transaction.
const LOG_UP_TO: &str = select_columns!("WHERE position > 0 AND position <= ?1 ORDER BY position");
const STREAM: &str = select_columns!("WHERE stream = ?1 ORDER BY revision");

/// Connections kept open between reads (opening one and preparing its statements costs ~0.4 ms),
/// and the most in use at once: as many as concurrent command loads commonly need.
const IDLE_CONNECTIONS: usize = 16;

/// How much of the file these connections read through a memory map instead of `pread` into
/// SQLite's page cache: a scan of the log (verify, catch-up) copied every page out of the kernel
/// once more (`pread` was 14 % of a rebuild's samples). Mapped pages are the kernel's page cache,
/// shared and reclaimable, not the process's own memory. SQLite caps it at 2 GiB.
const MMAP_BYTES: i64 = 2 << 30;

/// Read-only connections to one SQLite file. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct LogReader {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    /// One per connection in use: reads beyond that many wait here, not on connections opened
    /// for them alone (the two cores gain nothing from more at once).
    permits: Arc<Semaphore>,
}

impl LogReader {
    pub fn new(path: PathBuf, busy_timeout: Duration) -> Self {
        let permits = Arc::new(Semaphore::new(IDLE_CONNECTIONS));
        Self { shared: Arc::new(Shared { path, busy_timeout, idle: Mutex::default(), permits }) }
    }

    /// The log forward in position order, within the query's range and filters.
    pub async fn read_all(&self, query: &LogQuery) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_log(READ_ALL, None, query).await
    }

    /// [`Self::read_all`] restricted to the events about one client.
    pub async fn read_client(&self, client: &str, query: &LogQuery) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_log(READ_CLIENT, Some(client), query).await
    }

    /// Up to `limit` events of one stream from revision `from`, forward or backward: every command
    /// loads its stream this way, so a load is one hand-off to a blocking thread, not one per row.
    pub async fn read_stream(
        &self,
        stream: &str,
        direction: crate::model::Direction,
        from: i64,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = match direction {
            crate::model::Direction::Forward => STREAM_FORWARD,
            crate::model::Direction::Backward => STREAM_BACKWARD,
        };
        let stream = stream.to_owned();
        self.with_connection(move |conn| {
            let mut statement = conn.prepare_cached(sql).map_err(store_error)?;
            recorded_from(statement.query(rusqlite::params![stream, from, limit]).map_err(store_error)?)
        })
        .await
    }

    /// A forward log read; `client` binds `?6` of the client-scoped query.
    async fn read_log(
        &self,
        sql: &'static str,
        client: Option<&str>,
        query: &LogQuery,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        if query.limit == 0 {
            return Err(crate::InvalidInput::ZeroLimit.into());
        }
        let (query, client) = (query.clone(), client.map(str::to_owned));
        self.with_connection(move |conn| {
            let mut statement = conn.prepare_cached(sql).map_err(store_error)?;
            let filter = |values: &[String]| (!values.is_empty()).then(|| serde_json::json!(values).to_string());
            statement.raw_bind_parameter(1, to_i64(query.from.0)).map_err(store_error)?;
            statement.raw_bind_parameter(2, query.up_to.map_or(i64::MAX, |p| to_i64(p.0))).map_err(store_error)?;
            statement.raw_bind_parameter(3, filter(&query.filter.categories)).map_err(store_error)?;
            statement.raw_bind_parameter(4, filter(&query.filter.event_types)).map_err(store_error)?;
            statement.raw_bind_parameter(5, i64::try_from(query.limit).unwrap_or(i64::MAX)).map_err(store_error)?;
            if let Some(client) = &client {
                statement.raw_bind_parameter(6, client).map_err(store_error)?;
            }
            recorded_from(statement.raw_query())
        })
        .await
    }

    /// Recomputes the chains in scope. The whole log is read in one transaction, so the rows and the
    /// head they are checked against are one snapshot; progress is reported every page of rows.
    pub async fn verify(
        &self,
        scope: &VerifyScope,
        progress: &(dyn Fn(VerifyProgress) + Send + Sync),
    ) -> Result<VerifyReport, StoreError> {
        let (sender, mut updates) = mpsc::unbounded_channel();
        let scope = scope.clone();
        // Sending fails once the caller stopped listening (the verification was dropped): stop there.
        let walk =
            self.with_connection(move |conn| verify::walk(conn, &scope, &mut |update| sender.send(update).is_ok()));
        // The sender is dropped when the walk ends, which ends this loop.
        let report = async {
            while let Some(update) = updates.recv().await {
                progress(update);
            }
        };
        tokio::join!(walk, report).0
    }

    /// Runs `read` on a blocking thread with a connection of the pool.
    pub(crate) fn with_connection<T, E>(
        &self,
        read: impl FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    ) -> impl Future<Output = Result<T, E>>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        async move {
            // The semaphore is never closed, so acquiring only waits.
            let permit = Arc::clone(&shared.permits).acquire_owned().await.ok();
            run_blocking("read", move || {
                let _permit = permit;
                let mut conn = shared.take().map_err(E::from)?;
                let result = read(&mut conn);
                shared.put_back(conn);
                result
            })
            .await
        }
    }
}

impl Shared {
    fn take(&self) -> Result<Connection, StoreError> {
        if let Some(conn) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(conn);
        }
        // Each connection stays on the thread using it, so SQLite's own locking is not needed.
        let conn = open_connection(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY, self.busy_timeout)?;
        conn.pragma_update(None, "mmap_size", MMAP_BYTES).map_err(store_error)?;
        Ok(conn)
    }

    fn put_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < IDLE_CONNECTIONS {
            idle.push(conn);
        }
    }
}

/// The current row of a [`select_columns!`] statement, borrowed from SQLite's buffers. A value the
/// schema forbids (only a row altered behind the store's back holds one) is `Corrupt` at its position.
fn row_ref<'a>(row: &'a rusqlite::Row<'_>) -> Result<RowRef<'a>, StoreError> {
    let position = row.get_ref(0).and_then(|v| Ok(v.as_i64()?)).map_err(store_error)?;
    let corrupt = |column: &str, reason: String| StoreError::Corrupt {
        position: Position(position.max(0) as u64),
        reason: format!("{column}: {reason}"),
    };
    let value = |i: usize, column: &str| row.get_ref(i).map_err(|e| corrupt(column, e.to_string()));
    let text = |i: usize, column: &str| value(i, column)?.as_str().map_err(|e| corrupt(column, e.to_string()));
    let blob = |i: usize, column: &str| value(i, column)?.as_blob().map_err(|e| corrupt(column, e.to_string()));
    let integer = |i: usize, column: &str| value(i, column)?.as_i64().map_err(|e| corrupt(column, e.to_string()));
    let event_id = blob(1, "event_id")?;
    let schema_version = integer(5, "schema_version")?;
    let recorded_at = integer(9, "recorded_at")?;
    Ok(RowRef {
        position: to_u64(position, position, "position")?,
        event_id: Uuid::from_slice(event_id).map_err(|e| corrupt("event_id", e.to_string()))?,
        stream: text(2, "stream")?,
        revision: to_u64(integer(3, "revision")?, position, "revision")?,
        event_type: text(4, "event_type")?,
        schema_version: u32::try_from(schema_version)
            .map_err(|_| corrupt("schema_version", format!("{schema_version} is out of range")))?,
        data: text(6, "data")?,
        metadata: text(7, "metadata")?,
        client_tag: value(8, "client_tag")?.as_str_or_null().map_err(|e| corrupt("client_tag", e.to_string()))?,
        recorded_at: DateTime::from_timestamp_micros(recorded_at)
            .ok_or_else(|| corrupt("recorded_at", format!("{recorded_at} is out of range")))?,
        prev_hash: blob(10, "prev_hash")?,
        hash: blob(11, "hash")?,
    })
}

/// The events of a [`select_columns!`] query's rows, in order.
pub(crate) fn recorded_from(mut rows: rusqlite::Rows<'_>) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut events = Vec::new();
    while let Some(row) = rows.next().map_err(store_error)? {
        events.push(row_ref(row)?.to_recorded()?);
    }
    Ok(events)
}

/// A synchronous connection to the store's file, used only by the thread holding it (so without
/// SQLite's own mutex). Read-write ones take the settings every connection of the store has (see
/// `SqliteStore::open_with`): WAL, `synchronous=FULL`, foreign keys, freed bytes zeroed.
pub(crate) fn open_connection(path: &Path, flags: OpenFlags, busy_timeout: Duration) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| StoreError::Unavailable(format!("cannot open SQLite file {}: {e}", path.display())))?;
    conn.busy_timeout(busy_timeout).map_err(store_error)?;
    // Without the query planner stability guarantee SQLite reads some bound values while compiling
    // (a `LIMIT ?`, and with the bundled build's STAT4 values compared against partial indexes) and
    // recompiles the cached statement each time it is bound again: every stream load and log page
    // was parsed afresh, 10 % of an append's CPU. No statistics are gathered here to plan with.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map_err(store_error)?;
    if flags.contains(OpenFlags::SQLITE_OPEN_READ_WRITE) {
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;",
        )
        .map_err(store_error)?;
    }
    Ok(conn)
}

/// Runs `work` (a `what`: read or write) on a blocking thread. If the caller stops waiting, it
/// still runs to its end there; a panic in it resumes in the caller.
pub(crate) async fn run_blocking<T, E>(
    what: &'static str,
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(outcome) => outcome,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(StoreError::Unavailable(format!("SQLite {what} cancelled: {e}")).into()),
    }
}

/// Busy or locked (another process holds the file) is an outage a retry may clear.
impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        store_error(error)
    }
}

pub(crate) fn store_error(error: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::{CannotOpen, DatabaseBusy, DatabaseLocked};
    match error.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked | CannotOpen) => StoreError::Unavailable(error.to_string()),
        _ => StoreError::Database(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cached statement must not be recompiled each time it is bound again: without the query
    /// planner stability guarantee, every stream load was.
    #[test]
    fn connections_keep_their_compiled_statements_across_bound_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qpsg.db");
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
        let conn = open_connection(&path, flags, Duration::from_secs(1)).unwrap();
        assert!(conn.db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG).unwrap());
        conn.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)").unwrap();
        for k in ["a", "b", "c"] {
            conn.execute("INSERT INTO t VALUES (?1, 1)", [k]).unwrap();
        }
        let compiles = |conn: &Connection| {
            // As the log's reads: a bound LIMIT is read while compiling, which marks the statement
            // for recompiling whenever it is bound again.
            let mut statement = conn.prepare_cached("SELECT v FROM t WHERE k >= ?1 ORDER BY k LIMIT ?2").unwrap();
            for k in ["a", "b", "c"] {
                statement.query_row(rusqlite::params![k, 10], |row| row.get::<_, i64>(0)).unwrap();
            }
            statement.get_status(rusqlite::StatementStatus::RePrepare)
        };
        assert_eq!(compiles(&conn), 0, "recompiled when bound again");
    }
}
