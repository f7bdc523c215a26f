//! Schema migrations on PostgreSQL: sqlx's migrator, given the embedded files (as its `migrate!`
//! macro gave them, which linked sqlx's SQLite driver into the lock file through the macros' crate).

use std::borrow::Cow;

use sqlx::{PgPool, SqlSafeStr};
use sqlx_core::migrate::{Migration, MigrationType, Migrator};

use crate::error::StoreError;
use crate::migrations::Migrations;

/// The log's schema, in sqlx's default table (as `migrate!` recorded it).
pub(crate) static LOG: Migrations = crate::migrations!(
    table = "_sqlx_migrations",
    dir = "migrations/postgres",
    files = ["0001_events.sql", "0002_client_tag.sql", "0003_merkle_tree.sql"]
);

/// The migrator `migrate!` built from the same files: sqlx's defaults (locking, one transaction
/// per migration), the versions, descriptions and checksums it read, and `migrations`' table.
pub(crate) fn migrator(migrations: &'static Migrations) -> Result<Migrator, StoreError> {
    let parsed = migrations.parsed()?;
    let migrations_of_sqlx = parsed
        .into_iter()
        .map(|m| {
            let sql = sqlx::AssertSqlSafe(m.sql).into_sql_str();
            let no_tx = m.sql.starts_with("-- no-transaction");
            Migration::new(m.version, Cow::Owned(m.description), MigrationType::Simple, sql, no_tx)
        })
        .collect();
    let mut migrator = Migrator::with_migrations(migrations_of_sqlx);
    migrator.dangerous_set_table_name(migrations.table);
    Ok(migrator)
}

/// Applies the migrations `pool`'s database has not recorded (sqlx's migrator, in its table).
pub async fn migrate_postgres(pool: &PgPool, migrations: &'static Migrations) -> Result<(), StoreError> {
    migrator(migrations)?.run(pool).await.map_err(|e| StoreError::Database(format!("migration failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `migrate!` embedded is what sqlx's migrator reads from the directory: the same
    /// versions, descriptions, checksums, kinds and transactions, so databases it migrated are
    /// seen as migrated.
    #[tokio::test]
    async fn the_embedded_migrations_are_what_sqlx_reads_from_the_directory() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
        let read = Migrator::new(dir.as_path()).await.unwrap();
        let embedded = migrator(&LOG).unwrap();
        let facts = |m: &Migrator| {
            m.iter()
                .map(|m| (m.version, m.description.to_string(), m.checksum.to_vec(), m.migration_type, m.no_tx))
                .collect::<Vec<_>>()
        };
        assert_eq!(facts(&embedded), facts(&read));
        assert_eq!(embedded.iter().count(), 3);
        for (list, backend) in [(&LOG, "postgres"), (&crate::sqlite::MIGRATIONS, "sqlite")] {
            let differences = list.differences_from(&dir.join("..").join(backend));
            assert!(differences.is_empty(), "{backend}: {differences:?}");
        }
    }
}
