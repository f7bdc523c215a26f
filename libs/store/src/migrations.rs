//! A crate's schema migrations as the binary embeds them: SQL files named `<version>_<description>.sql`,
//! recorded in a table of the crate's (the SQLite adapter runs them, `sqlite_migrations.rs`; sqlx's
//! migrator does on PostgreSQL, `postgres_migrations.rs`).

use sha2::{Digest, Sha384};

use crate::error::StoreError;

/// One crate's migrations: the table they are recorded in and its SQL files (name and text) in
/// version order. Built with [`migrations!`](crate::migrations!).
#[derive(Debug)]
pub struct Migrations {
    pub table: &'static str,
    pub files: &'static [(&'static str, &'static str)],
}

/// The migrations of the calling crate's `$dir` (relative to its manifest), recorded in `$table`:
/// each file is named `<version>_<description>.sql` and embedded in the binary.
#[macro_export]
macro_rules! migrations {
    (table = $table:literal, dir = $dir:literal, files = [$($file:literal),+ $(,)?]) => {
        $crate::Migrations {
            table: $table,
            files: &[$(($file, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $dir, "/", $file)))),+],
        }
    };
}

/// A migration as recorded: version and description from the file name, as sqlx's migrator read
/// them (`0003_audit_actor_names.sql` is version 3, "audit actor names").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Migration {
    pub version: i64,
    pub description: String,
    pub sql: &'static str,
    /// SHA-384 of the file's text, as sqlx computed it (no characters ignored).
    pub checksum: Vec<u8>,
}

impl Migrations {
    pub(crate) fn parsed(&self) -> Result<Vec<Migration>, StoreError> {
        let mut migrations = Vec::with_capacity(self.files.len());
        for (name, sql) in self.files {
            let malformed = || failed(self.table, format!("{name} is not named <version>_<description>.sql"));
            let (version, rest) = name.split_once('_').ok_or_else(malformed)?;
            let description = rest.strip_suffix(".sql").ok_or_else(malformed)?.replace('_', " ");
            let version = version.parse().map_err(|_| malformed())?;
            migrations.push(Migration { version, description, sql, checksum: Sha384::digest(sql).to_vec() });
        }
        migrations.sort_by_key(|m| m.version);
        Ok(migrations)
    }
}

impl Migrations {
    /// What differs between this list and the SQL files in `dir`: a file not embedded, or a name
    /// embedded that is no file there. For each crate's test that its lists name every migration.
    pub fn differences_from(&self, dir: &std::path::Path) -> Vec<String> {
        let on_disk: std::collections::BTreeSet<String> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("a directory entry").file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        let embedded: std::collections::BTreeSet<String> =
            self.files.iter().map(|(name, _)| (*name).to_owned()).collect();
        let missing = on_disk.difference(&embedded).map(|name| format!("{name} is not embedded"));
        let stale = embedded.difference(&on_disk).map(|name| format!("{name} is not in {}", dir.display()));
        missing.chain(stale).collect()
    }
}

pub(crate) fn failed(table: &str, reason: String) -> StoreError {
    StoreError::Database(format!("migration failed ({table}): {reason}"))
}
