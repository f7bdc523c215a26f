//! The SQLite side of the backend handle: the log's file as every port owner's SQLite adapter
//! shares it (one writer turn per process, pooled and blocking connections).

use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{OpenFlags, TransactionBehavior};
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::error::StoreError;
use crate::sqlite_reader::{LogReader, open_connection, run_blocking, store_error};

/// A SQLite file as one process sees it: a pool of connections and the turn every writer of the
/// process takes. SQLite allows one writer per file; writers that collide inside SQLite back off
/// in its busy handler by *sleeping* (1, 2, 5, 10 … ms), which under load costs more than the
/// commits. Queueing here instead hands the lock over the moment the previous commit ends.
/// (Writers in other processes still meet in the busy handler.)
#[derive(Debug, Clone)]
pub struct SqliteDatabase {
    pool: SqlitePool,
    turns: Arc<Mutex<()>>,
    blocking: Arc<BlockingConnection>,
    /// Read-only synchronous connections, shared with the log's reads.
    reader: LogReader,
}

/// A synchronous read-write connection to the file, opened on first use, for transactions made
/// whole on a blocking thread.
#[derive(Debug)]
struct BlockingConnection {
    path: PathBuf,
    busy_timeout: Duration,
    conn: std::sync::Mutex<Option<rusqlite::Connection>>,
}

/// The right to write to the file until dropped.
pub type WriteTurn = OwnedMutexGuard<()>;

impl SqliteDatabase {
    /// A database with its own writer turns: for a file no other handle of this process writes.
    /// `path` is the file `pool` opens, with the same busy timeout.
    pub fn new(pool: SqlitePool, path: PathBuf, busy_timeout: Duration) -> Self {
        let reader = LogReader::new(path.clone(), busy_timeout);
        let blocking = BlockingConnection { path, busy_timeout, conn: std::sync::Mutex::default() };
        Self { pool, turns: Arc::default(), blocking: Arc::new(blocking), reader }
    }

    /// Synchronous connections for `verify`, forward log reads and stream loads.
    pub(crate) fn log_reader(&self) -> &LogReader {
        &self.reader
    }

    /// Runs `read` on a blocking thread with a read-only synchronous connection (the file mapped):
    /// one hand-off for the whole query instead of one per statement and row.
    pub async fn read_blocking<T, E>(
        &self,
        read: impl FnOnce(&rusqlite::Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.reader.with_connection(move |conn| read(conn)).await
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The file the database lives in (`None` for an in-memory database).
    pub async fn file(&self) -> Option<PathBuf> {
        let row: Option<(String,)> = sqlx::query_as("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_optional(&self.pool)
            .await
            .ok()
            .flatten();
        row.map(|(file,)| PathBuf::from(file)).filter(|file| !file.as_os_str().is_empty())
    }

    /// Waits for this process's earlier writers to finish, in order.
    pub async fn write_turn(&self) -> WriteTurn {
        Arc::clone(&self.turns).lock_owned().await
    }

    /// A write transaction (`BEGIN IMMEDIATE`: the write lock up front, so it never fails halfway
    /// on a lock upgrade), begun in turn.
    pub async fn begin_write(&self) -> Result<SqliteWrite, sqlx::Error> {
        let turn = self.write_turn().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(SqliteWrite { tx, _turn: turn })
    }

    /// Runs `write` in one `BEGIN IMMEDIATE` transaction on a blocking thread, in turn, and commits
    /// if it succeeds. Through the pool each statement is a hand-off to the driver's worker thread
    /// and back (and each bound row a copy); here the whole transaction is one. The turn is held
    /// until the transaction has ended on its thread, even if the caller stops waiting.
    pub async fn write_blocking<T, E>(
        &self,
        write: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let turn = self.write_turn().await;
        let blocking = Arc::clone(&self.blocking);
        run_blocking("write", move || {
            let _turn = turn;
            let mut conn = blocking.conn.lock().unwrap_or_else(|e| e.into_inner());
            let conn = match &mut *conn {
                Some(conn) => conn,
                empty => empty.insert(blocking.open()?),
            };
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(store_error)?;
            let written = write(&tx)?;
            tx.commit().map_err(store_error)?;
            Ok(written)
        })
        .await
    }
}

/// The blocking writer's page cache, in KiB as `cache_size` takes it (negative).
const WRITE_CACHE_KIB: i64 = -65_536;

/// WAL pages after which this writer's commit checkpoints (SQLite's default is 1,000).
const WRITE_AUTOCHECKPOINT_PAGES: i64 = 10_000;

impl BlockingConnection {
    fn open(&self) -> Result<rusqlite::Connection, StoreError> {
        let conn = open_connection(&self.path, OpenFlags::SQLITE_OPEN_READ_WRITE, self.busy_timeout)?;
        // A rebuild's window dirties tens of MiB of pages: with the default 2 MiB cache SQLite
        // spills them to the WAL mid-transaction and reads them back. Pages are allocated as used.
        conn.pragma_update(None, "cache_size", WRITE_CACHE_KIB).map_err(store_error)?;
        // Small commits (the live projector's, the Merkle builder's) leave the WAL to the log's
        // passive checkpointer, so no checkpoint runs inside them while reads wait to append their
        // access records; a rebuild's large windows still checkpoint in their commits, or the WAL
        // never restarts under the checkpointer and grew to 834 MB.
        conn.pragma_update(None, "wal_autocheckpoint", WRITE_AUTOCHECKPOINT_PAGES).map_err(store_error)?;
        // What this connection writes (read models, the Merkle tree's nodes) is derived from the
        // log, in the log's WAL: the log's next commit syncs these frames with its own, and a
        // power cut before it loses only derived rows (with their checkpoint) that are derived
        // again. Without the fsync of its own the log's commits no longer queue behind it.
        // A new client's key is written here too, before the append sealed with it: that append's
        // commit syncs the key's frames, and a power cut before it leaves at most a harmless orphan
        // key (the vault's `ClientKeyRows::get_or_insert`).
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(store_error)?;
        Ok(conn)
    }
}

/// A write transaction holding the process's writer turn until it commits or is dropped.
#[derive(Debug)]
pub struct SqliteWrite {
    // Declared first: dropped (rolled back) before the turn passes on.
    tx: Transaction<'static, Sqlite>,
    _turn: WriteTurn,
}

impl SqliteWrite {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

/// The transaction's connection, as `&mut *tx` gives it for a plain transaction.
impl Deref for SqliteWrite {
    type Target = SqliteConnection;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl DerefMut for SqliteWrite {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}
