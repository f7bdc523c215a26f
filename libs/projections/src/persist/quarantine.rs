//! The quarantine table of both backends: written in the batch's transaction, read by operators.

use carelog_store::SqliteDatabase;
use sqlx::{PgPool, Row};

use crate::ProjectionError;
use crate::quarantine::{Quarantined, Target};

const INSERT: &str =
    "INSERT INTO quarantined_events (generation, position, doc_kind, doc_key, client, stream, event_type, error)";

pub(super) fn insert_sqlite(
    tx: &rusqlite::Transaction<'_>,
    generation: i64,
    rows: &[Quarantined],
) -> Result<(), ProjectionError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut insert =
        tx.prepare_cached(&format!("{INSERT} VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING"))?;
    for q in rows {
        insert.execute(rusqlite::params![
            generation,
            position(q.position),
            q.target.as_str(),
            q.key,
            q.client,
            q.stream,
            q.event_type,
            q.error
        ])?;
    }
    Ok(())
}

pub(super) async fn insert_postgres(
    tx: &mut sqlx::PgConnection,
    generation: i64,
    rows: &[Quarantined],
) -> Result<(), ProjectionError> {
    for q in rows {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "{INSERT} VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING"
        )))
        .bind(generation)
        .bind(position(q.position))
        .bind(q.target.as_str())
        .bind(&q.key)
        .bind(&q.client)
        .bind(&q.stream)
        .bind(&q.event_type)
        .bind(&q.error)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

const SELECT: &str = "SELECT position, doc_kind, doc_key, client, stream, event_type, error FROM quarantined_events";

/// The live generation's quarantined events of `projection`, in position order.
pub(super) async fn live_sqlite(db: &SqliteDatabase, projection: &str) -> Result<Vec<Quarantined>, ProjectionError> {
    let sql = format!(
        "{SELECT} WHERE generation = (SELECT live_generation FROM projections WHERE name = ?1) ORDER BY position, doc_kind"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(projection).fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            from_row(
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(3)?,
                r.try_get(4)?,
                r.try_get(5)?,
                r.try_get(6)?,
            )
        })
        .collect()
}

/// The same on PostgreSQL.
pub(super) async fn live_postgres(pool: &PgPool, projection: &str) -> Result<Vec<Quarantined>, ProjectionError> {
    let sql = format!(
        "{SELECT} WHERE generation = (SELECT live_generation FROM projections WHERE name = $1) ORDER BY position, doc_kind"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(projection).fetch_all(pool).await?;
    rows.iter()
        .map(|r| {
            from_row(
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(3)?,
                r.try_get(4)?,
                r.try_get(5)?,
                r.try_get(6)?,
            )
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn from_row(
    position: i64,
    kind: String,
    key: String,
    client: Option<String>,
    stream: String,
    event_type: String,
    error: String,
) -> Result<Quarantined, ProjectionError> {
    let position =
        u64::try_from(position).map_err(|_| ProjectionError::Corrupt(format!("quarantine position {position}")))?;
    Ok(Quarantined { position, target: Target::parse(&kind), key, client, stream, event_type, error })
}

fn position(value: u64) -> i64 {
    // Log positions are far below i64::MAX (the store's own columns are bigint).
    i64::try_from(value).unwrap_or(i64::MAX)
}
