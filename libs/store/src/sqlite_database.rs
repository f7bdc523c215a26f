//! The SQLite side of the backend handle: the log's file as every port owner's SQLite adapter
//! shares it (one writer turn per process, blocking connections).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{OpenFlags, TransactionBehavior};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::error::StoreError;
use crate::migrations::Migrations;
use crate::sqlite_migrations::migrate;
use crate::sqlite_reader::{LogReader, open_connection, run_blocking, store_error};

/// A SQLite file as one process sees it: the turn every writer of the process takes, a read-write
/// connection for writes made whole on a blocking thread, and read-only connections. SQLite allows
/// one writer per file; writers that collide inside SQLite back off in its busy handler by
/// *sleeping* (1, 2, 5, 10 … ms), which under load costs more than the commits. Queueing here
/// instead hands the lock over the moment the previous commit ends. (Writers in other processes
/// still meet in the busy handler.)
#[derive(Debug, Clone)]
pub struct SqliteDatabase {
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

/// How a write's commit reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// `synchronous=NORMAL`: in the WAL, synced by the log's next commit (see [`BlockingConnection::open`]).
    WithTheLog,
    /// `synchronous=FULL`: on disk when the commit returns, as the log's own commits.
    Now,
}

impl SqliteDatabase {
    /// A database with its own writer turns: for a file no other handle of this process writes.
    /// The file must exist (the store creates it); connections wait `busy_timeout` for another
    /// process's write lock.
    pub fn new(path: PathBuf, busy_timeout: Duration) -> Self {
        let reader = LogReader::new(path.clone(), busy_timeout);
        let blocking = BlockingConnection { path, busy_timeout, conn: std::sync::Mutex::default() };
        Self { turns: Arc::default(), blocking: Arc::new(blocking), reader }
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

    /// The file the database lives in, as SQLite resolved it.
    pub async fn file(&self) -> Option<PathBuf> {
        let file = self
            .read_blocking(|conn| {
                let sql = "SELECT file FROM pragma_database_list WHERE name = 'main'";
                conn.query_row(sql, [], |row| row.get::<_, String>(0)).map_err(store_error)
            })
            .await
            .ok()?;
        Some(PathBuf::from(file)).filter(|file| !file.as_os_str().is_empty())
    }

    /// Waits for this process's earlier writers to finish, in order.
    pub async fn write_turn(&self) -> WriteTurn {
        Arc::clone(&self.turns).lock_owned().await
    }

    /// Applies `migrations` not yet applied to the file, in turn (see [`Migrations`]).
    pub async fn migrate(&self, migrations: &'static Migrations) -> Result<(), StoreError> {
        self.with_write_connection(Durability::Now, move |conn| migrate(conn, migrations)).await
    }

    /// Runs `write` in one `BEGIN IMMEDIATE` transaction on a blocking thread, in turn, and commits
    /// if it succeeds (`synchronous=NORMAL`: for rows derived from the log, or written before an
    /// append that syncs them; see [`BlockingConnection::open`]). The whole transaction is one
    /// hand-off to the thread. The turn is held until the transaction has ended on its thread,
    /// even if the caller stops waiting.
    pub async fn write_blocking<T, E>(
        &self,
        write: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.with_write_connection(Durability::WithTheLog, move |conn| transaction(conn, write)).await
    }

    /// [`Self::write_blocking`] with `synchronous=FULL`: the commit is on disk when this returns,
    /// as the log's own are, for rows that are not derived from the log and no append syncs
    /// (a shredded client's tombstone, a signed checkpoint, a read model's generation switch).
    pub async fn write_blocking_durable<T, E>(
        &self,
        write: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.with_write_connection(Durability::Now, move |conn| transaction(conn, write)).await
    }

    /// Copies the WAL into the file and empties it (`wal_checkpoint(TRUNCATE)`), in turn, so pages
    /// as they were before a rewrite do not linger in it. `false` when a reader of an older
    /// snapshot kept it from finishing.
    pub async fn checkpoint_truncate(&self) -> Result<bool, StoreError> {
        self.with_write_connection(Durability::WithTheLog, |conn| {
            // (busy, log frames, checkpointed frames): busy = 1 when a reader kept it from finishing.
            let busy: i64 =
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0)).map_err(store_error)?;
            Ok(busy == 0)
        })
        .await
    }

    /// Runs `work` with the read-write connection on a blocking thread, in turn, committing with `durability`.
    async fn with_write_connection<T, E>(
        &self,
        durability: Durability,
        work: impl FnOnce(&mut rusqlite::Connection) -> Result<T, E> + Send + 'static,
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
            if durability == Durability::WithTheLog {
                return work(conn);
            }
            conn.pragma_update(None, "synchronous", "FULL").map_err(store_error)?;
            let done = work(conn);
            conn.pragma_update(None, "synchronous", "NORMAL").map_err(store_error)?;
            done
        })
        .await
    }
}

fn transaction<T, E: From<StoreError>>(
    conn: &mut rusqlite::Connection,
    write: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, E>,
) -> Result<T, E> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(store_error)?;
    let written = write(&tx)?;
    tx.commit().map_err(store_error)?;
    Ok(written)
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
        // key (the vault's `ClientKeyRows::get_or_insert`). What no append syncs and is not derived
        // again commits with `FULL` instead (`write_blocking_durable`).
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(store_error)?;
        Ok(conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Derived writes leave their sync to the log's next commit; durable ones are on disk when
    /// they return, and the connection goes back to the derived setting after them.
    #[tokio::test]
    async fn durable_writes_commit_with_full_sync_and_derived_ones_with_normal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sync.db");
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
        drop(open_connection(&path, flags, Duration::from_secs(1)).unwrap());
        let db = SqliteDatabase::new(path, Duration::from_secs(1));
        let synchronous = |tx: &rusqlite::Transaction<'_>| -> Result<i64, StoreError> {
            tx.query_row("PRAGMA synchronous", [], |row| row.get(0)).map_err(store_error)
        };
        let (normal, full) = (1, 2);
        assert_eq!(db.write_blocking(synchronous).await.unwrap(), normal);
        assert_eq!(db.write_blocking_durable(synchronous).await.unwrap(), full);
        assert_eq!(db.write_blocking(synchronous).await.unwrap(), normal);
    }
}
