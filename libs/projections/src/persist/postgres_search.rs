//! The client-search table (see [`crate::search`]) on PostgreSQL: a client's tokens are replaced by the
//! batch's commit statement (`postgres::commit`); a search intersects the tokens it must all match.

use sqlx::PgPool;

use crate::ProjectionError;

/// The clients of the live generation holding every one of `tokens` (distinct), after `after`
/// in client id order, at most `limit`.
pub(super) async fn find_postgres(
    pool: &PgPool,
    projection: &str,
    tokens: &[String],
    after: &str,
    limit: u32,
) -> Result<Vec<String>, ProjectionError> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT client FROM client_search
         WHERE generation = (SELECT live_generation FROM projections WHERE name = $1)
           AND token = ANY($2) AND client > $3
         GROUP BY client HAVING COUNT(*) = $4 ORDER BY client LIMIT $5",
    )
    .bind(projection)
    .bind(tokens)
    .bind(after)
    .bind(tokens.len() as i64)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(c,)| c).collect())
}
