//! Schema migrations of the SQLite file, run on rusqlite and recorded exactly as earlier builds
//! recorded them with sqlx's migrator: the same tables (one per crate), the same columns, the same
//! SHA-384 checksum of each file's text. A file written by an earlier build opens here with its
//! applied versions skipped, and a file migrated here still reads as migrated to an earlier build.

use std::time::Instant;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::error::StoreError;
use crate::migrations::{Migration, Migrations, failed};
use crate::sqlite_reader::store_error;

/// Applies the migrations `conn` has not recorded, each in one `BEGIN IMMEDIATE` transaction with
/// its record: another process migrating the same file at once waits, then finds it applied.
/// Refuses a file whose record shows a failed migration, a recorded migration whose text differs
/// from this build's, or one this build does not know (a newer build's).
pub(crate) fn migrate(conn: &mut Connection, migrations: &Migrations) -> Result<(), StoreError> {
    let table = migrations.table;
    let known = migrations.parsed()?;
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {table} (
            version BIGINT PRIMARY KEY,
            description TEXT NOT NULL,
            installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
            success BOOLEAN NOT NULL,
            checksum BLOB NOT NULL,
            execution_time BIGINT NOT NULL
        );"
    ))
    .map_err(store_error)?;
    let dirty: Option<i64> = conn
        .query_row(&format!("SELECT version FROM {table} WHERE success = false ORDER BY version LIMIT 1"), [], |r| {
            r.get(0)
        })
        .optional()
        .map_err(store_error)?;
    if let Some(version) = dirty {
        return Err(failed(
            table,
            format!(
                "migration {version} is recorded as failed, so the schema may be partly changed; repair the file by hand or restore a backup"
            ),
        ));
    }
    let applied: Vec<i64> = conn
        .prepare(&format!("SELECT version FROM {table} ORDER BY version"))
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(store_error)?;
    if let Some(unknown) = applied.iter().find(|v| !known.iter().any(|m| m.version == **v)) {
        return Err(failed(
            table,
            format!("migration {unknown} is applied but unknown to this build (a newer one's?)"),
        ));
    }
    for migration in &known {
        apply(conn, table, migration)?;
    }
    Ok(())
}

fn apply(conn: &mut Connection, table: &str, migration: &Migration) -> Result<(), StoreError> {
    let started = Instant::now();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(store_error)?;
    let recorded: Option<Vec<u8>> = tx
        .query_row(&format!("SELECT checksum FROM {table} WHERE version = ?1"), [migration.version], |r| r.get(0))
        .optional()
        .map_err(store_error)?;
    match recorded {
        Some(checksum) if checksum == migration.checksum => return Ok(()),
        Some(_) => {
            let version = migration.version;
            return Err(failed(
                table,
                format!("migration {version} was applied from a different text than this build's"),
            ));
        }
        None => {}
    }
    tx.execute_batch(migration.sql)
        .map_err(|e| failed(table, format!("migration {} ({}): {e}", migration.version, migration.description)))?;
    let nanos = i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX);
    tx.execute(
        &format!(
            "INSERT INTO {table} (version, description, success, checksum, execution_time) VALUES (?1, ?2, TRUE, ?3, ?4)"
        ),
        rusqlite::params![migration.version, migration.description, migration.checksum, nanos],
    )
    .map_err(store_error)?;
    tx.commit().map_err(store_error)
}

#[cfg(test)]
#[path = "sqlite_migrations_tests.rs"]
mod tests;
