use std::time::Duration;

use rusqlite::OpenFlags;

use super::*;
use crate::sqlite_reader::open_connection;

const FIRST: &str = "CREATE TABLE a (x INTEGER);\n";
const SECOND: &str = "INSERT INTO a (x) VALUES (1);";

static TWO: Migrations =
    Migrations { table: "_test_migrations", files: &[("0002_fill_a.sql", SECOND), ("0001_make_a.sql", FIRST)] };
static ONE: Migrations = Migrations { table: "_test_migrations", files: &[("0001_make_a.sql", FIRST)] };

fn file() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
    let conn = open_connection(&dir.path().join("m.db"), flags, Duration::from_secs(1)).unwrap();
    (dir, conn)
}

type Record = (i64, String, bool, Vec<u8>, i64, String);

fn records(conn: &Connection) -> Vec<Record> {
    let sql = "SELECT version, description, success, checksum, execution_time, installed_on
               FROM _test_migrations ORDER BY version";
    let mut statement = conn.prepare(sql).unwrap();
    let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)));
    rows.unwrap().collect::<Result<_, _>>().unwrap()
}

#[test]
fn migrations_apply_in_version_order_once_recorded_as_sqlx_recorded_them() {
    let (_dir, mut conn) = file();
    migrate(&mut conn, &TWO).unwrap();
    migrate(&mut conn, &TWO).unwrap();
    let rows: i64 = conn.query_row("SELECT count(*) FROM a", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 1, "the second run applied nothing");
    let recorded = records(&conn);
    assert_eq!(recorded.len(), 2);
    let (version, description, success, checksum, took, installed_on) = &recorded[0];
    assert_eq!((*version, description.as_str(), *success), (1, "make a", true));
    // SHA-384 of the file's text, as sqlx's migrator computed it.
    let expected = "4820f98e34b315bd6566cc1c30de97c528ffeb70e481c322c984402ddec247ae046cd9c7b373e220f6d9796dcf66da56";
    assert_eq!(hex::encode(checksum), expected);
    assert!(*took >= 0);
    assert_eq!(installed_on.len(), "2026-01-01 00:00:00".len(), "SQLite's CURRENT_TIMESTAMP: {installed_on}");
    assert_eq!(recorded[1].1, "fill a");
}

#[test]
fn a_migration_recorded_as_failed_is_refused() {
    let (_dir, mut conn) = file();
    migrate(&mut conn, &ONE).unwrap();
    conn.execute("UPDATE _test_migrations SET success = false", []).unwrap();
    let error = migrate(&mut conn, &TWO).unwrap_err().to_string();
    assert!(error.contains("migration 1 is recorded as failed"), "{error}");
    assert_eq!(records(&conn).len(), 1, "nothing applied after it");
}

#[test]
fn a_migration_applied_from_another_text_is_refused() {
    let (_dir, mut conn) = file();
    migrate(&mut conn, &ONE).unwrap();
    conn.execute("UPDATE _test_migrations SET checksum = x'00'", []).unwrap();
    let error = migrate(&mut conn, &TWO).unwrap_err().to_string();
    assert!(error.contains("migration 1 was applied from a different text"), "{error}");
    assert_eq!(records(&conn).len(), 1, "nothing applied after it");
}

#[test]
fn a_migration_unknown_to_this_build_is_refused() {
    let (_dir, mut conn) = file();
    migrate(&mut conn, &TWO).unwrap();
    let error = migrate(&mut conn, &ONE).unwrap_err().to_string();
    assert!(error.contains("migration 2 is applied but unknown"), "{error}");
}

#[test]
fn a_failing_migration_changes_nothing_and_is_not_recorded() {
    static BROKEN: Migrations = Migrations {
        table: "_test_migrations",
        files: &[("0001_make_a.sql", FIRST), ("0002_half.sql", "CREATE TABLE b (y); INSERT INTO nowhere VALUES (1);")],
    };
    let (_dir, mut conn) = file();
    let error = migrate(&mut conn, &BROKEN).unwrap_err().to_string();
    assert!(error.contains("migration 2 (half)"), "{error}");
    let b: i64 = conn.query_row("SELECT count(*) FROM sqlite_master WHERE name = 'b'", [], |r| r.get(0)).unwrap();
    assert_eq!(b, 0, "the failed migration's first statement was rolled back");
    assert_eq!(records(&conn).len(), 1, "only the first migration is recorded");
}

#[test]
fn a_file_not_named_version_description_is_refused() {
    static BAD: Migrations = Migrations { table: "_test_migrations", files: &[("make_a.sql", FIRST)] };
    let error = BAD.parsed().unwrap_err().to_string();
    assert!(error.contains("make_a.sql is not named"), "{error}");
}
