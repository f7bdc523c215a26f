//! The quarantine table in the log's PostgreSQL schema.

use sqlx::{PgPool, Row};

use super::quarantine::{INSERT, SELECT, from_row, position};
use crate::ProjectionError;
use crate::quarantine::Quarantined;

pub(super) async fn insert(
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

/// The live generation's quarantined events of `projection`, in position order.
pub(super) async fn live(pool: &PgPool, projection: &str) -> Result<Vec<Quarantined>, ProjectionError> {
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
