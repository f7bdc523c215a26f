//! The relational database behind a store, shared with the read models and the Merkle tree kept
//! beside the log.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// A handle on the database behind a store.
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite(SqliteDatabase),
    Postgres(sqlx::PgPool),
}

/// A SQLite file as one process sees it: a pool of connections and the turn every writer of the
/// process takes. SQLite allows one writer per file; writers that collide inside SQLite back off
/// in its busy handler by *sleeping* (1, 2, 5, 10 … ms), which under load costs more than the
/// commits. Queueing here instead hands the lock over the moment the previous commit ends.
/// (Writers in other processes still meet in the busy handler.)
#[derive(Debug, Clone)]
pub struct SqliteDatabase {
    pool: SqlitePool,
    turns: Arc<Mutex<()>>,
}

/// The right to write to the file until dropped.
pub type WriteTurn = OwnedMutexGuard<()>;

impl SqliteDatabase {
    /// A database with its own writer turns: for a file no other handle of this process writes.
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool, turns: Arc::default() }
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
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
