//! The client-search table (see [`crate::search`]) on SQLite: a client's tokens are replaced in the
//! batch's transaction; a search intersects the tokens it must all match.

use carelog_store::SqliteDatabase;

use super::SearchEntry;
use crate::ProjectionError;

pub(super) fn write_sqlite(
    tx: &rusqlite::Transaction<'_>,
    generation: i64,
    entries: &[SearchEntry],
) -> Result<(), ProjectionError> {
    for entry in entries {
        tx.prepare_cached("DELETE FROM client_search WHERE generation = ?1 AND client = ?2")?
            .execute(rusqlite::params![generation, entry.client])?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO client_search (generation, token, client) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        )?;
        for token in &entry.tokens {
            insert.execute(rusqlite::params![generation, token, entry.client])?;
        }
    }
    Ok(())
}

/// The clients of the live generation holding every one of `tokens` (distinct), after `after`
/// in client id order, at most `limit`.
pub(super) async fn find_sqlite(
    db: &SqliteDatabase,
    projection: &str,
    tokens: &[String],
    after: &str,
    limit: u32,
) -> Result<Vec<String>, ProjectionError> {
    let tokens_json = serde_json::Value::from(tokens.to_vec()).to_string();
    let (projection, after, count) = (projection.to_owned(), after.to_owned(), tokens.len() as i64);
    db.read_blocking(move |conn| {
        let mut statement = conn.prepare_cached(
            "SELECT client FROM client_search
             WHERE generation = (SELECT live_generation FROM projections WHERE name = ?1)
               AND token IN (SELECT value FROM json_each(?2)) AND client > ?3
             GROUP BY client HAVING COUNT(*) = ?4 ORDER BY client LIMIT ?5",
        )?;
        let params = rusqlite::params![projection, tokens_json, after, count, i64::from(limit)];
        let clients = statement.query_map(params, |r| r.get(0))?;
        Ok(clients.collect::<Result<_, _>>()?)
    })
    .await
}
