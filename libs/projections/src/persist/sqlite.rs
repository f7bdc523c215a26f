//! Read-model tables on SQLite. Writes take the process's writer turn (see `SqliteDatabase`), so
//! they queue with the log's writer instead of sleeping in SQLite's busy handler; each runs whole
//! on a blocking thread, as do reads.

use carelog_store::{Migrations, SqliteDatabase, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction};

use super::{AuditQuery, AuditRow, Doc, DocKind, Generation, StoredDoc, kind_from, parse_doc};
use crate::ProjectionError;
use crate::audit::AccessFacts;

/// Errors of the file's connections: busy or locked (another process holds the file) is the store
/// being unavailable, as for the log; anything else is the read models' own.
impl From<rusqlite::Error> for ProjectionError {
    fn from(error: rusqlite::Error) -> Self {
        match StoreError::from(error) {
            unavailable @ StoreError::Unavailable(_) => ProjectionError::Store(unavailable),
            StoreError::Database(error) => ProjectionError::Database(error),
            other => ProjectionError::Database(other.to_string()),
        }
    }
}

mod batch;
pub(super) use batch::commit;

/// The read models' schema, recorded where earlier builds' sqlx migrator recorded it.
pub(super) static MIGRATIONS: Migrations = carelog_store::migrations!(
    table = "_carelog_projection_migrations",
    dir = "migrations/sqlite",
    files = ["0001_read_models.sql", "0002_quarantine.sql", "0003_audit_actor_names.sql", "0004_client_search.sql"]
);

pub(super) async fn migrate(db: &SqliteDatabase) -> Result<(), ProjectionError> {
    db.migrate(&MIGRATIONS).await.map_err(super::migration_failed)
}

fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

fn time(micros: i64) -> Result<DateTime<Utc>, ProjectionError> {
    DateTime::from_timestamp_micros(micros).ok_or_else(|| ProjectionError::Corrupt(format!("time {micros}")))
}

fn u(value: i64) -> u64 {
    value.max(0) as u64
}

fn i(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

const LIVE_GENERATION: &str = "SELECT g.generation, g.checkpoint FROM projections p
    JOIN projection_generations g ON g.generation = p.live_generation WHERE p.name = ?1";

/// Generation switches commit durably (`synchronous=FULL`), as the log's own commits: which
/// generation is live is not derived again from the log.
pub(super) async fn live(db: &SqliteDatabase, projection: &str) -> Result<Generation, ProjectionError> {
    let projection = projection.to_owned();
    db.write_blocking_durable(move |tx| {
        let found: Option<(i64, i64)> =
            tx.query_row(LIVE_GENERATION, [&projection], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
        Ok(match found {
            Some((id, checkpoint)) => Generation { id, checkpoint: u(checkpoint) },
            None => {
                let id = new_generation(tx, &projection, "live")?;
                tx.execute("INSERT INTO projections (name, live_generation) VALUES (?1, ?2)", (&projection, id))?;
                Generation { id, checkpoint: 0 }
            }
        })
    })
    .await
}

fn new_generation(tx: &Transaction<'_>, projection: &str, state: &str) -> Result<i64, ProjectionError> {
    let id: i64 =
        tx.query_row("SELECT COALESCE(MAX(generation), 0) + 1 FROM projection_generations", [], |r| r.get(0))?;
    let now = micros(Utc::now());
    tx.execute(
        "INSERT INTO projection_generations (generation, projection, checkpoint, state, created_at, updated_at)
         VALUES (?1, ?2, 0, ?3, ?4, ?4)",
        rusqlite::params![id, projection, state, now],
    )?;
    Ok(id)
}

pub(super) async fn start_rebuild(db: &SqliteDatabase, projection: &str) -> Result<Generation, ProjectionError> {
    let projection = projection.to_owned();
    let id = db.write_blocking_durable(move |tx| new_generation(tx, &projection, "building")).await?;
    Ok(Generation { id, checkpoint: 0 })
}

pub(super) async fn swap(db: &SqliteDatabase, projection: &str, generation: i64) -> Result<(), ProjectionError> {
    let projection = projection.to_owned();
    db.write_blocking_durable(move |tx| {
        let old: i64 =
            tx.query_row("SELECT live_generation FROM projections WHERE name = ?1", [&projection], |r| r.get(0))?;
        tx.execute("UPDATE projections SET live_generation = ?2 WHERE name = ?1", (&projection, generation))?;
        let now = micros(Utc::now());
        let set_state = "UPDATE projection_generations SET state = ?3, updated_at = ?2 WHERE generation = ?1";
        tx.execute(set_state, rusqlite::params![generation, now, "live"])?;
        tx.execute(set_state, rusqlite::params![old, now, "retired"])?;
        Ok(())
    })
    .await
}

pub(super) async fn checkpoint(db: &SqliteDatabase, generation: i64) -> Result<u64, ProjectionError> {
    let sql = "SELECT checkpoint FROM projection_generations WHERE generation = ?1";
    let checkpoint: i64 = db
        .read_blocking(move |conn| Ok::<_, ProjectionError>(conn.query_row(sql, [generation], |r| r.get(0))?))
        .await?;
    Ok(u(checkpoint))
}

pub(super) async fn live_checkpoint(db: &SqliteDatabase, projection: &str) -> Result<Option<u64>, ProjectionError> {
    let projection = projection.to_owned();
    let found: Option<i64> = db
        .read_blocking(move |conn| {
            Ok::<_, ProjectionError>(conn.query_row(LIVE_GENERATION, [projection], |r| r.get(1)).optional()?)
        })
        .await?;
    Ok(found.map(u))
}

pub(super) async fn load(
    db: &SqliteDatabase,
    generation: i64,
    kind: DocKind,
    keys: &[String],
) -> Result<Vec<StoredDoc>, ProjectionError> {
    let keys_json = serde_json::Value::from(keys.to_vec()).to_string();
    db.read_blocking(move |conn| {
        let mut statement = conn.prepare_cached(
            "SELECT key, owner, doc FROM read_models
             WHERE generation = ?1 AND kind = ?2 AND key IN (SELECT value FROM json_each(?3))",
        )?;
        let rows = statement.query_map(rusqlite::params![generation, kind.as_str(), keys_json], stored_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    })
    .await
}

pub(super) async fn load_owned(
    db: &SqliteDatabase,
    generation: i64,
    kind: DocKind,
    owner: &str,
) -> Result<Vec<StoredDoc>, ProjectionError> {
    let owner = owner.to_owned();
    db.read_blocking(move |conn| {
        let mut statement = conn.prepare_cached(
            "SELECT key, owner, doc FROM read_models WHERE generation = ?1 AND kind = ?2 AND owner = ?3",
        )?;
        let rows = statement.query_map(rusqlite::params![generation, kind.as_str(), owner], stored_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    })
    .await
}

fn stored_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredDoc> {
    Ok(StoredDoc { key: row.get(0)?, owner: row.get(1)?, json: row.get(2)? })
}

/// The file's connections run with `secure_delete` on, so a rewritten row leaves no bytes in the
/// main file; the WAL may still hold the pages as they were before. A TRUNCATE checkpoint copies
/// the newest pages into the main file and empties the WAL. Readers of an older snapshot keep it
/// from finishing: it is retried a few times, then reported.
pub(super) async fn reclaim_rewritten(db: &SqliteDatabase) -> Result<bool, ProjectionError> {
    for attempt in 0..RECLAIM_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        if db.checkpoint_truncate().await? {
            return Ok(true);
        }
    }
    Ok(false)
}

const RECLAIM_ATTEMPTS: u32 = 20;

/// A document row's columns, read by index: kind, key, owner, doc, position.
fn doc_from(row: &rusqlite::Row<'_>) -> Result<Doc, ProjectionError> {
    Ok(Doc {
        kind: kind_from(&row.get::<_, String>(0)?)?,
        key: row.get(1)?,
        owner: row.get(2)?,
        body: parse_doc(row.get(3)?)?,
        position: u(row.get(4)?),
    })
}

fn docs_from(mut rows: rusqlite::Rows<'_>) -> Result<Vec<Doc>, ProjectionError> {
    let mut docs = Vec::new();
    while let Some(row) = rows.next()? {
        docs.push(doc_from(row)?);
    }
    Ok(docs)
}

const LIVE: &str = "(SELECT live_generation FROM projections WHERE name = ?1)";

pub(super) async fn live_doc(
    db: &SqliteDatabase,
    projection: &str,
    kind: DocKind,
    key: &str,
) -> Result<Option<Doc>, ProjectionError> {
    let (projection, key) = (projection.to_owned(), key.to_owned());
    db.read_blocking(move |conn| {
        let sql = format!(
            "SELECT kind, key, owner, doc, position FROM read_models WHERE generation = {LIVE} AND kind = ?2 AND key = ?3"
        );
        let mut statement = conn.prepare_cached(&sql)?;
        let mut rows = statement.query(rusqlite::params![projection, kind.as_str(), key])?;
        rows.next()?.map(doc_from).transpose()
    })
    .await
}

pub(super) async fn live_docs_owned_by(
    db: &SqliteDatabase,
    projection: &str,
    kind: DocKind,
    owner: &str,
) -> Result<Vec<Doc>, ProjectionError> {
    let (projection, owner) = (projection.to_owned(), owner.to_owned());
    db.read_blocking(move |conn| {
        let sql = format!(
            "SELECT kind, key, owner, doc, position FROM read_models
             WHERE generation = {LIVE} AND kind = ?2 AND owner = ?3 ORDER BY key"
        );
        let mut statement = conn.prepare_cached(&sql)?;
        docs_from(statement.query(rusqlite::params![projection, kind.as_str(), owner])?)
    })
    .await
}

pub(super) async fn all_docs(db: &SqliteDatabase, generation: i64) -> Result<Vec<Doc>, ProjectionError> {
    db.read_blocking(move |conn| {
        let mut statement = conn.prepare_cached(
            "SELECT kind, key, owner, doc, position FROM read_models WHERE generation = ?1 ORDER BY kind, key",
        )?;
        docs_from(statement.query([generation])?)
    })
    .await
}

pub(super) async fn audit(
    db: &SqliteDatabase,
    projection: &str,
    q: &AuditQuery,
) -> Result<Vec<AuditRow>, ProjectionError> {
    let sql = format!(
        "SELECT position, client, stream, revision, event_type, actor_id, actor_role, occurred_at, recorded_at,
                reason, correlation_id, causation_id, actor_name, rpc, purpose_of_use, outcome
         FROM audit_entries
         WHERE generation = {LIVE} AND position > ?2
           AND (?3 IS NULL OR client = ?3) AND (?4 IS NULL OR actor_id = ?4)
           AND (?5 IS NULL OR event_type IN (SELECT value FROM json_each(?5)))
           AND (?6 IS NULL OR correlation_id = ?6)
           AND (?7 IS NULL OR recorded_at >= ?7) AND (?8 IS NULL OR recorded_at <= ?8)
         ORDER BY position LIMIT ?9"
    );
    let types = (!q.event_types.is_empty()).then(|| serde_json::Value::from(q.event_types.clone()).to_string());
    let (projection, q) = (projection.to_owned(), q.clone());
    db.read_blocking(move |conn| {
        let mut statement = conn.prepare_cached(&sql)?;
        let params = rusqlite::params![
            projection,
            i(q.after),
            q.client,
            q.actor_id,
            types,
            q.correlation_id,
            q.recorded_from.map(micros),
            q.recorded_to.map(micros),
            i64::from(q.limit)
        ];
        let mut rows = statement.query(params)?;
        let mut audit = Vec::new();
        while let Some(row) = rows.next()? {
            audit.push(audit_row(row)?);
        }
        Ok(audit)
    })
    .await
}

fn audit_row(row: &rusqlite::Row<'_>) -> Result<AuditRow, ProjectionError> {
    Ok(AuditRow {
        position: u(row.get("position")?),
        client: row.get("client")?,
        stream: row.get("stream")?,
        revision: u(row.get("revision")?),
        event_type: row.get("event_type")?,
        actor_id: row.get("actor_id")?,
        actor_role: row.get("actor_role")?,
        occurred_at: time(row.get("occurred_at")?)?,
        recorded_at: time(row.get("recorded_at")?)?,
        reason: row.get("reason")?,
        correlation_id: row.get("correlation_id")?,
        causation_id: row.get("causation_id")?,
        actor_name: row.get("actor_name")?,
        access: AccessFacts::from_columns(row.get("rpc")?, row.get("purpose_of_use")?, row.get("outcome")?),
    })
}

/// Deletes the rows of retired generations a chunk per transaction, so writers never wait long.
pub(super) async fn purge_retired(db: &SqliteDatabase, projection: &str) -> Result<u64, ProjectionError> {
    let projection = projection.to_owned();
    let retired: Vec<i64> = db
        .read_blocking(move |conn| {
            let sql = "SELECT generation FROM projection_generations WHERE projection = ?1 AND state = 'retired'";
            let mut statement = conn.prepare_cached(sql)?;
            let rows = statement.query_map([projection], |r| r.get(0))?;
            Ok::<_, ProjectionError>(rows.collect::<Result<_, _>>()?)
        })
        .await?;
    let mut deleted = 0;
    for generation in retired {
        for table in ["read_models", "audit_entries", "quarantined_events", "client_search"] {
            let sql = format!(
                "DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE generation = ?1 LIMIT ?2)"
            );
            loop {
                let sql = sql.clone();
                let done = db
                    .write_blocking_durable(move |tx| {
                        Ok::<_, ProjectionError>(tx.execute(&sql, [generation, PURGE_CHUNK])?)
                    })
                    .await?;
                deleted += done as u64;
                if done < PURGE_CHUNK as usize {
                    break;
                }
            }
        }
    }
    Ok(deleted)
}

const PURGE_CHUNK: i64 = 5000;
