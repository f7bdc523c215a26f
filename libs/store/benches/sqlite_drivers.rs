//! The two SQLite drivers the store links, on the same file, the same settings and the same work,
//! alternately: rusqlite (synchronous, on a thread of its own: how the log's writer and readers
//! use it: each operation handed to tokio's blocking pool) against sqlx (asynchronous, a pool of one connection: how the ports' adapters use it).
//! It answers issue 26's question — is the second SQLite driver worth its cost? — with figures.
//!
//! `cargo bench -p carelog-store --bench sqlite_drivers` (`-- --seconds N` per cell, `--rounds R`).
//!
//! Work: (1) durable commits of one ~1 KB event-shaped row (`BEGIN IMMEDIATE; INSERT; COMMIT`,
//! WAL, synchronous=FULL); (2) the same with synchronous=OFF, where the driver's own cost is no
//! longer hidden behind the fsync; (3) reads of one row by its key.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, params};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, stream TEXT NOT NULL, data TEXT NOT NULL)";

/// `--name value` from the command line.
fn arg(name: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != name).nth(1)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Work {
    DurableCommit,
    Commit,
    PointRead,
}

impl Work {
    fn label(self) -> &'static str {
        match self {
            Work::DurableCommit => "commit one row, synchronous=FULL",
            Work::Commit => "commit one row, synchronous=OFF",
            Work::PointRead => "read one row by key",
        }
    }

    fn synchronous(self) -> &'static str {
        if self == Work::DurableCommit { "FULL" } else { "OFF" }
    }
}

fn main() -> anyhow::Result<()> {
    let seconds: u64 = arg("--seconds").map(|s| s.parse()).transpose()?.unwrap_or(3);
    let rounds: usize = arg("--rounds").map(|s| s.parse()).transpose()?.unwrap_or(2);
    let duration = Duration::from_secs(seconds);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let dir = tempfile::tempdir()?;
    let data = "x".repeat(1000);
    println!("{seconds} s per cell, {rounds} rounds, drivers alternated; operations per second\n");
    println!("| work | rusqlite | sqlx | rusqlite / sqlx |");
    println!("|---|---|---|---|");
    for work in [Work::DurableCommit, Work::Commit, Work::PointRead] {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let file = dir.path().join(format!("{work:?}-{round}.db"));
            ours.push(runtime.block_on(rusqlite_ops(file, work, data.clone(), duration))?);
            let file = dir.path().join(format!("{work:?}-{round}-sqlx.db"));
            theirs.push(runtime.block_on(sqlx_ops(&file, work, &data, duration))?);
            eprintln!(
                "sqlite_drivers: {} round {}: rusqlite {:.0}/s, sqlx {:.0}/s",
                work.label(),
                round + 1,
                ours[round],
                theirs[round]
            );
        }
        let ratios: Vec<f64> = ours.iter().zip(&theirs).map(|(a, b)| a / b).collect();
        println!("| {} | {} | {} | {} |", work.label(), range(&ours, 0), range(&theirs, 0), range(&ratios, 2));
    }
    Ok(())
}

fn range(values: &[f64], decimals: usize) -> String {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if decimals == 0 { format!("{min:.0}–{max:.0}") } else { format!("{min:.decimals$}–{max:.decimals$}×") }
}

/// Rows a read cell looks up (inserted first, in one transaction).
const READ_ROWS: i64 = 10_000;

async fn rusqlite_ops(file: PathBuf, work: Work, data: String, duration: Duration) -> anyhow::Result<f64> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(file, flags)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", work.synchronous())?;
    conn.execute(SCHEMA, [])?;
    if work == Work::PointRead {
        let tx = conn.transaction()?;
        for id in 1..=READ_ROWS {
            tx.execute("INSERT INTO rows (id, stream, data) VALUES (?1, ?2, ?3)", params![id, "client-1", data])?;
        }
        tx.commit()?;
    }
    let shared = Arc::new((Mutex::new(conn), data));
    let (started, mut ops) = (Instant::now(), 0u64);
    while started.elapsed() < duration {
        let shared = Arc::clone(&shared);
        tokio::task::spawn_blocking(move || rusqlite_op(&shared.0, work, &shared.1, ops)).await??;
        ops += 1;
    }
    Ok(ops as f64 / started.elapsed().as_secs_f64())
}

fn rusqlite_op(conn: &Mutex<Connection>, work: Work, data: &str, op: u64) -> rusqlite::Result<()> {
    let mut conn = conn.lock().expect("one user at a time");
    match work {
        Work::PointRead => {
            let id = (op as i64 % READ_ROWS) + 1;
            let mut read = conn.prepare_cached("SELECT data FROM rows WHERE id = ?1")?;
            let got: String = read.query_row(params![id], |row| row.get(0))?;
            std::hint::black_box(got);
        }
        Work::DurableCommit | Work::Commit => {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.prepare_cached("INSERT INTO rows (stream, data) VALUES (?1, ?2)")?.execute(params!["client-1", data])?;
            tx.commit()?;
        }
    }
    Ok(())
}

async fn sqlx_ops(file: &Path, work: Work, data: &str, duration: Duration) -> anyhow::Result<f64> {
    let synchronous = if work == Work::DurableCommit { SqliteSynchronous::Full } else { SqliteSynchronous::Off };
    let options = SqliteConnectOptions::new()
        .filename(file)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous);
    let pool: SqlitePool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await?;
    sqlx::query(SCHEMA).execute(&pool).await?;
    if work == Work::PointRead {
        let mut tx = pool.begin().await?;
        for id in 1..=READ_ROWS {
            sqlx::query("INSERT INTO rows (id, stream, data) VALUES (?1, ?2, ?3)")
                .bind(id)
                .bind("client-1")
                .bind(data)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
    let (started, mut ops) = (Instant::now(), 0u64);
    while started.elapsed() < duration {
        match work {
            Work::PointRead => {
                let id = (ops as i64 % READ_ROWS) + 1;
                let row = sqlx::query("SELECT data FROM rows WHERE id = ?1").bind(id).fetch_one(&pool).await?;
                std::hint::black_box(row.try_get::<String, _>(0)?);
            }
            Work::DurableCommit | Work::Commit => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                sqlx::query("INSERT INTO rows (stream, data) VALUES (?1, ?2)")
                    .bind("client-1")
                    .bind(data)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
        }
        ops += 1;
    }
    pool.close().await;
    Ok(ops as f64 / started.elapsed().as_secs_f64())
}
