//! The quarantine table in the log's SQLite file.

use carelog_store::SqliteDatabase;

use super::quarantine::{INSERT, SELECT, from_row, position};
use crate::ProjectionError;
use crate::quarantine::Quarantined;

pub(super) fn insert(
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

/// The live generation's quarantined events of `projection`, in position order.
pub(super) async fn live(db: &SqliteDatabase, projection: &str) -> Result<Vec<Quarantined>, ProjectionError> {
    let sql = format!(
        "{SELECT} WHERE generation = (SELECT live_generation FROM projections WHERE name = ?1) ORDER BY position, doc_kind"
    );
    let projection = projection.to_owned();
    db.read_blocking(move |conn| {
        let mut statement = conn.prepare_cached(&sql)?;
        let mut rows = statement.query([projection])?;
        let mut quarantined = Vec::new();
        while let Some(r) = rows.next()? {
            quarantined.push(from_row(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)?);
        }
        Ok(quarantined)
    })
    .await
}
