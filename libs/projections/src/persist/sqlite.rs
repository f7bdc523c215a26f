//! Read-model tables on SQLite. Writes take the process's writer turn (see `SqliteDatabase`), so
//! they queue with the log's writer instead of sleeping in SQLite's busy handler.

use carelog_store::SqliteDatabase;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{AuditQuery, AuditRow, Doc, DocKind, Generation, StoredDoc, kind_from, parse_doc};
use crate::ProjectionError;
use crate::audit::AccessFacts;

/// Errors of the blocking connection the batches commit on.
impl From<rusqlite::Error> for ProjectionError {
    fn from(error: rusqlite::Error) -> Self {
        ProjectionError::Database(error.to_string())
    }
}

mod batch;
pub(super) use batch::commit;

pub(super) async fn migrate(db: &SqliteDatabase) -> Result<(), ProjectionError> {
    let mut migrator = sqlx::migrate!("./migrations/sqlite");
    migrator.dangerous_set_table_name("_carelog_projection_migrations");
    migrator.run(db.pool()).await.map_err(|e| ProjectionError::Database(format!("read-model migration: {e}")))
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

pub(super) async fn live(db: &SqliteDatabase, projection: &str) -> Result<Generation, ProjectionError> {
    let mut tx = db.begin_write().await?;
    let found: Option<(i64, i64)> = sqlx::query_as(
        "SELECT g.generation, g.checkpoint FROM projections p
         JOIN projection_generations g ON g.generation = p.live_generation WHERE p.name = ?1",
    )
    .bind(projection)
    .fetch_optional(&mut *tx)
    .await?;
    let generation = match found {
        Some((id, checkpoint)) => Generation { id, checkpoint: u(checkpoint) },
        None => {
            let id = new_generation(&mut tx, projection, "live").await?;
            sqlx::query("INSERT INTO projections (name, live_generation) VALUES (?1, ?2)")
                .bind(projection)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            Generation { id, checkpoint: 0 }
        }
    };
    tx.commit().await?;
    Ok(generation)
}

async fn new_generation(
    tx: &mut sqlx::SqliteConnection,
    projection: &str,
    state: &str,
) -> Result<i64, ProjectionError> {
    let (id,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(generation), 0) + 1 FROM projection_generations")
        .fetch_one(&mut *tx)
        .await?;
    let now = micros(Utc::now());
    sqlx::query(
        "INSERT INTO projection_generations (generation, projection, checkpoint, state, created_at, updated_at)
         VALUES (?1, ?2, 0, ?3, ?4, ?4)",
    )
    .bind(id)
    .bind(projection)
    .bind(state)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(id)
}

pub(super) async fn start_rebuild(db: &SqliteDatabase, projection: &str) -> Result<Generation, ProjectionError> {
    let mut tx = db.begin_write().await?;
    let id = new_generation(&mut tx, projection, "building").await?;
    tx.commit().await?;
    Ok(Generation { id, checkpoint: 0 })
}

pub(super) async fn swap(db: &SqliteDatabase, projection: &str, generation: i64) -> Result<(), ProjectionError> {
    let mut tx = db.begin_write().await?;
    let (old,): (i64,) = sqlx::query_as("SELECT live_generation FROM projections WHERE name = ?1")
        .bind(projection)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query("UPDATE projections SET live_generation = ?2 WHERE name = ?1")
        .bind(projection)
        .bind(generation)
        .execute(&mut *tx)
        .await?;
    let now = micros(Utc::now());
    sqlx::query("UPDATE projection_generations SET state = 'live', updated_at = ?2 WHERE generation = ?1")
        .bind(generation)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE projection_generations SET state = 'retired', updated_at = ?2 WHERE generation = ?1")
        .bind(old)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn checkpoint(db: &SqliteDatabase, generation: i64) -> Result<u64, ProjectionError> {
    let (checkpoint,): (i64,) = sqlx::query_as("SELECT checkpoint FROM projection_generations WHERE generation = ?1")
        .bind(generation)
        .fetch_one(db.pool())
        .await?;
    Ok(u(checkpoint))
}

pub(super) async fn live_checkpoint(db: &SqliteDatabase, projection: &str) -> Result<Option<u64>, ProjectionError> {
    let found: Option<(i64,)> = sqlx::query_as(
        "SELECT g.checkpoint FROM projections p
         JOIN projection_generations g ON g.generation = p.live_generation WHERE p.name = ?1",
    )
    .bind(projection)
    .fetch_optional(db.pool())
    .await?;
    Ok(found.map(|(checkpoint,)| u(checkpoint)))
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

/// The pool runs with `secure_delete` on, so a rewritten row leaves no bytes in the main file;
/// the WAL may still hold the pages as they were before. A TRUNCATE checkpoint copies the newest
/// pages into the main file and empties the WAL. Readers of an older snapshot keep it from
/// finishing: it is retried a few times, then reported.
pub(super) async fn reclaim_rewritten(db: &SqliteDatabase) -> Result<bool, ProjectionError> {
    for attempt in 0..RECLAIM_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        // (busy, log frames, checkpointed frames): busy = 1 when a reader kept it from finishing.
        let _turn = db.write_turn().await;
        let (busy, _, _): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(db.pool()).await?;
        if busy == 0 {
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
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(projection)
        .bind(i(q.after))
        .bind(&q.client)
        .bind(&q.actor_id)
        .bind(types)
        .bind(&q.correlation_id)
        .bind(q.recorded_from.map(micros))
        .bind(q.recorded_to.map(micros))
        .bind(i64::from(q.limit))
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|row| {
            Ok(AuditRow {
                position: u(row.try_get("position")?),
                client: row.try_get("client")?,
                stream: row.try_get("stream")?,
                revision: u(row.try_get("revision")?),
                event_type: row.try_get("event_type")?,
                actor_id: row.try_get("actor_id")?,
                actor_role: row.try_get("actor_role")?,
                occurred_at: time(row.try_get("occurred_at")?)?,
                recorded_at: time(row.try_get("recorded_at")?)?,
                reason: row.try_get("reason")?,
                correlation_id: row.try_get("correlation_id")?,
                causation_id: row.try_get("causation_id")?,
                actor_name: row.try_get("actor_name")?,
                access: AccessFacts::from_columns(
                    row.try_get("rpc")?,
                    row.try_get("purpose_of_use")?,
                    row.try_get("outcome")?,
                ),
            })
        })
        .collect()
}

/// Deletes the rows of retired generations a chunk per transaction, so writers never wait long.
pub(super) async fn purge_retired(db: &SqliteDatabase, projection: &str) -> Result<u64, ProjectionError> {
    let retired: Vec<(i64,)> =
        sqlx::query_as("SELECT generation FROM projection_generations WHERE projection = ?1 AND state = 'retired'")
            .bind(projection)
            .fetch_all(db.pool())
            .await?;
    let mut deleted = 0;
    for (generation,) in retired {
        for table in ["read_models", "audit_entries", "quarantined_events", "client_search"] {
            let sql = format!(
                "DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE generation = ?1 LIMIT ?2)"
            );
            loop {
                let _turn = db.write_turn().await;
                let done = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(generation)
                    .bind(PURGE_CHUNK)
                    .execute(db.pool())
                    .await?;
                deleted += done.rows_affected();
                if done.rows_affected() < PURGE_CHUNK as u64 {
                    break;
                }
            }
        }
    }
    Ok(deleted)
}

const PURGE_CHUNK: i64 = 5000;
