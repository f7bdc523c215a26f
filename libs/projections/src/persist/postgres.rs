//! Read-model tables on PostgreSQL.

use sqlx::{PgPool, Row};

use super::{AuditQuery, AuditRow, Doc, DocKind, Generation, StoredDoc, kind_from, parse_doc};
use crate::ProjectionError;
use crate::audit::AccessFacts;

pub(super) async fn migrate(pool: &PgPool) -> Result<(), ProjectionError> {
    carelog_store::migrate_postgres(pool, &super::postgres_adapter::MIGRATIONS).await.map_err(super::migration_failed)
}

fn u(value: i64) -> u64 {
    value.max(0) as u64
}

pub(super) fn i(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(super) async fn live(pool: &PgPool, projection: &str) -> Result<Generation, ProjectionError> {
    let mut tx = carelog_store::begin_uncancellable(pool).await?;
    let found: Option<(i64, i64)> = sqlx::query_as(
        "SELECT g.generation, g.checkpoint FROM projections p
         JOIN projection_generations g ON g.generation = p.live_generation WHERE p.name = $1",
    )
    .bind(projection)
    .fetch_optional(&mut *tx)
    .await?;
    let generation = match found {
        Some((id, checkpoint)) => Generation { id, checkpoint: u(checkpoint) },
        None => {
            // Two processes starting on a fresh schema both get here: the first to take the table
            // lock creates the live generation, the second must find it after waiting (not insert
            // it again and fail on projections_pkey).
            sqlx::query("LOCK TABLE projection_generations IN EXCLUSIVE MODE").execute(&mut *tx).await?;
            let created: Option<(i64, i64)> = sqlx::query_as(
                "SELECT g.generation, g.checkpoint FROM projections p
                 JOIN projection_generations g ON g.generation = p.live_generation WHERE p.name = $1",
            )
            .bind(projection)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((id, checkpoint)) = created {
                tx.commit().await?;
                return Ok(Generation { id, checkpoint: u(checkpoint) });
            }
            let id = new_generation(&mut tx, projection, "live").await?;
            sqlx::query("INSERT INTO projections (name, live_generation) VALUES ($1, $2)")
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

async fn new_generation(tx: &mut sqlx::PgConnection, projection: &str, state: &str) -> Result<i64, ProjectionError> {
    // Serialise generation numbering across processes.
    sqlx::query("LOCK TABLE projection_generations IN EXCLUSIVE MODE").execute(&mut *tx).await?;
    let (id,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(generation), 0) + 1 FROM projection_generations")
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO projection_generations (generation, projection, checkpoint, state) VALUES ($1, $2, 0, $3)",
    )
    .bind(id)
    .bind(projection)
    .bind(state)
    .execute(&mut *tx)
    .await?;
    Ok(id)
}

pub(super) async fn start_rebuild(pool: &PgPool, projection: &str) -> Result<Generation, ProjectionError> {
    let mut tx = carelog_store::begin_uncancellable(pool).await?;
    let id = new_generation(&mut tx, projection, "building").await?;
    tx.commit().await?;
    Ok(Generation { id, checkpoint: 0 })
}

pub(super) async fn swap(pool: &PgPool, projection: &str, generation: i64) -> Result<(), ProjectionError> {
    let mut tx = carelog_store::begin_uncancellable(pool).await?;
    let (old,): (i64,) = sqlx::query_as("SELECT live_generation FROM projections WHERE name = $1")
        .bind(projection)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query("UPDATE projections SET live_generation = $2 WHERE name = $1")
        .bind(projection)
        .bind(generation)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE projection_generations SET state = 'live', updated_at = now() WHERE generation = $1")
        .bind(generation)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE projection_generations SET state = 'retired', updated_at = now() WHERE generation = $1")
        .bind(old)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn checkpoint(pool: &PgPool, generation: i64) -> Result<u64, ProjectionError> {
    let (checkpoint,): (i64,) = sqlx::query_as("SELECT checkpoint FROM projection_generations WHERE generation = $1")
        .bind(generation)
        .fetch_one(pool)
        .await?;
    Ok(u(checkpoint))
}

/// The live generation's checkpoint, by reading only: a hot standby answers it.
pub(super) const LIVE_CHECKPOINT: &str = "SELECT g.checkpoint FROM projections p
     JOIN projection_generations g ON g.generation = p.live_generation WHERE p.name = $1";

pub(super) async fn live_checkpoint(pool: &PgPool, projection: &str) -> Result<Option<u64>, ProjectionError> {
    let found: Option<(i64,)> = sqlx::query_as(LIVE_CHECKPOINT).bind(projection).fetch_optional(pool).await?;
    Ok(found.map(|(checkpoint,)| u(checkpoint)))
}

pub(super) async fn load(
    pool: &PgPool,
    generation: i64,
    kind: DocKind,
    keys: &[String],
) -> Result<Vec<StoredDoc>, ProjectionError> {
    // One primary-key lookup per key, whatever the statistics say: with `key = ANY($3)` a table not
    // yet analysed got a bitmap scan of the whole kind, filtered by key (225 rows read per lookup
    // on a 36,000-document store, most of PostgreSQL's CPU in an append benchmark).
    let rows = sqlx::query(
        "SELECT m.key, m.owner, m.doc::text AS doc
         FROM unnest($3::text[]) AS k(key)
         CROSS JOIN LATERAL (SELECT key, owner, doc FROM read_models
                             WHERE generation = $1 AND kind = $2 AND read_models.key = k.key LIMIT 1) AS m",
    )
    .bind(generation)
    .bind(kind.as_str())
    .bind(keys)
    .fetch_all(pool)
    .await?;
    rows.iter().map(stored_from).collect()
}

pub(super) async fn load_owned(
    pool: &PgPool,
    generation: i64,
    kind: DocKind,
    owner: &str,
) -> Result<Vec<StoredDoc>, ProjectionError> {
    let rows = sqlx::query(
        "SELECT key, owner, doc::text AS doc FROM read_models WHERE generation = $1 AND kind = $2 AND owner = $3",
    )
    .bind(generation)
    .bind(kind.as_str())
    .bind(owner)
    .fetch_all(pool)
    .await?;
    rows.iter().map(stored_from).collect()
}

fn stored_from(row: &sqlx::postgres::PgRow) -> Result<StoredDoc, ProjectionError> {
    Ok(StoredDoc { key: row.try_get("key")?, owner: row.try_get("owner")?, json: row.try_get("doc")? })
}

/// An UPDATE leaves the old row version in the table until vacuum reclaims it: vacuum the
/// read-model tables (and their TOAST tables) now rather than whenever autovacuum comes by. Vacuum
/// keeps a version that an older snapshot may still read, so first wait (a bounded while) until
/// every transaction of this database that began before now has ended; `false` if one outlived it.
pub(super) async fn reclaim_rewritten(pool: &PgPool) -> Result<bool, ProjectionError> {
    let (now,): (String,) = sqlx::query_as("SELECT pg_current_xact_id()::xid::text").fetch_one(pool).await?;
    let mut waited = 0;
    let settled = loop {
        let (older,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND backend_xmin IS NOT NULL AND age(backend_xmin) >= age($1::xid)",
        )
        .bind(&now)
        .fetch_one(pool)
        .await?;
        if older == 0 || waited >= RECLAIM_WAIT_MS {
            break older == 0;
        }
        tokio::time::sleep(std::time::Duration::from_millis(RECLAIM_POLL_MS)).await;
        waited += RECLAIM_POLL_MS;
    };
    // A plain VACUUM frees dead versions but leaves their bytes in the page until overwritten; FULL
    // rewrites both tables into new files. It locks them for the seconds that takes: erasures are rare.
    sqlx::query("VACUUM FULL read_models, audit_entries").execute(pool).await?;
    Ok(settled)
}

const RECLAIM_WAIT_MS: u64 = 10_000;
const RECLAIM_POLL_MS: u64 = 50;

fn doc_from(row: &sqlx::postgres::PgRow) -> Result<Doc, ProjectionError> {
    Ok(Doc {
        kind: kind_from(row.try_get("kind")?)?,
        key: row.try_get("key")?,
        owner: row.try_get("owner")?,
        body: parse_doc(row.try_get("doc")?)?,
        position: u(row.try_get("position")?),
    })
}

const LIVE: &str = "(SELECT live_generation FROM projections WHERE name = $1)";

pub(super) async fn live_doc(
    pool: &PgPool,
    projection: &str,
    kind: DocKind,
    key: &str,
) -> Result<Option<Doc>, ProjectionError> {
    let sql = format!(
        "SELECT kind, key, owner, doc::text AS doc, position FROM read_models WHERE generation = {LIVE} AND kind = $2 AND key = $3"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(projection)
        .bind(kind.as_str())
        .bind(key)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(doc_from).transpose()
}

pub(super) async fn live_docs_owned_by(
    pool: &PgPool,
    projection: &str,
    kind: DocKind,
    owner: &str,
) -> Result<Vec<Doc>, ProjectionError> {
    let sql = format!(
        "SELECT kind, key, owner, doc::text AS doc, position FROM read_models
         WHERE generation = {LIVE} AND kind = $2 AND owner = $3 ORDER BY key"
    );
    let rows =
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(projection).bind(kind.as_str()).bind(owner).fetch_all(pool).await?;
    rows.iter().map(doc_from).collect()
}

pub(super) async fn all_docs(pool: &PgPool, generation: i64) -> Result<Vec<Doc>, ProjectionError> {
    let rows = sqlx::query(
        "SELECT kind, key, owner, doc::text AS doc, position FROM read_models WHERE generation = $1 ORDER BY kind, key",
    )
    .bind(generation)
    .fetch_all(pool)
    .await?;
    rows.iter().map(doc_from).collect()
}

pub(super) async fn audit(pool: &PgPool, projection: &str, q: &AuditQuery) -> Result<Vec<AuditRow>, ProjectionError> {
    let sql = format!(
        "SELECT position, client, stream, revision, event_type, actor_id, actor_role, occurred_at, recorded_at,
                reason, correlation_id, causation_id, actor_name, rpc, purpose_of_use, outcome
         FROM audit_entries
         WHERE generation = {LIVE} AND position > $2
           AND ($3::text IS NULL OR client = $3) AND ($4::text IS NULL OR actor_id = $4)
           AND ($5::text[] IS NULL OR event_type = ANY($5))
           AND ($6::text IS NULL OR correlation_id = $6)
           AND ($7::timestamptz IS NULL OR recorded_at >= $7) AND ($8::timestamptz IS NULL OR recorded_at <= $8)
         ORDER BY position LIMIT $9"
    );
    let types = (!q.event_types.is_empty()).then(|| q.event_types.clone());
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(projection)
        .bind(i(q.after))
        .bind(&q.client)
        .bind(&q.actor_id)
        .bind(types)
        .bind(&q.correlation_id)
        .bind(q.recorded_from)
        .bind(q.recorded_to)
        .bind(i64::from(q.limit))
        .fetch_all(pool)
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
                occurred_at: row.try_get("occurred_at")?,
                recorded_at: row.try_get("recorded_at")?,
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
pub(super) async fn purge_retired(pool: &PgPool, projection: &str) -> Result<u64, ProjectionError> {
    let retired: Vec<(i64,)> =
        sqlx::query_as("SELECT generation FROM projection_generations WHERE projection = $1 AND state = 'retired'")
            .bind(projection)
            .fetch_all(pool)
            .await?;
    let mut deleted = 0;
    for (generation,) in retired {
        for table in ["read_models", "audit_entries", "quarantined_events", "client_search"] {
            let sql =
                format!("DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM {table} WHERE generation = $1 LIMIT $2)");
            loop {
                let done = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(generation)
                    .bind(PURGE_CHUNK)
                    .execute(pool)
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
