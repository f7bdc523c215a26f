//! A batch commit on SQLite: the checkpoint, the documents and the audit rows in one transaction,
//! made whole on a blocking thread with prepared single-row statements (see
//! [`SqliteDatabase::write_blocking`]). A document is serialised once by the runner and parsed
//! once by SQLite (the `json_valid` check).

use carelog_domain::types::ERASED;
use chrono::Utc;
use rusqlite::{Transaction, params};

use super::{i, micros};
use crate::ProjectionError;
use crate::audit::REASONS_KEPT_AFTER_ERASURE;
use crate::persist::BatchWrite;
use carelog_store::SqliteDatabase;

pub(in crate::persist) async fn commit(db: &SqliteDatabase, batch: BatchWrite) -> Result<(), ProjectionError> {
    db.write_blocking(move |tx| write(tx, &batch)).await
}

fn write(tx: &Transaction<'_>, batch: &BatchWrite) -> Result<(), ProjectionError> {
    let moved = tx
        .prepare_cached(
            "UPDATE projection_generations SET checkpoint = ?3, updated_at = ?4
             WHERE generation = ?1 AND checkpoint = ?2 AND state <> 'retired'",
        )?
        .execute(params![batch.generation, i(batch.from), i(batch.to), micros(Utc::now())])?;
    if moved != 1 {
        return Err(ProjectionError::StaleCheckpoint { generation: batch.generation });
    }
    let mut docs = tx.prepare_cached(
        "INSERT INTO read_models (generation, kind, key, owner, doc, position) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (generation, kind, key)
         DO UPDATE SET owner = excluded.owner, doc = excluded.doc, position = excluded.position",
    )?;
    for d in &batch.docs {
        docs.execute(params![batch.generation, d.kind.as_str(), d.key, d.owner, d.json, i(d.position)])?;
    }
    let mut audit = tx.prepare_cached(
        "INSERT INTO audit_entries (generation, position, client, stream, revision, event_type, actor_id,
                                    actor_role, occurred_at, recorded_at, reason, correlation_id, causation_id,
                                    actor_name, rpc, purpose_of_use, outcome)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    )?;
    for r in &batch.audit {
        audit.execute(params![
            batch.generation,
            i(r.position),
            r.client,
            r.stream,
            i(r.revision),
            r.event_type,
            r.actor_id,
            r.actor_role,
            micros(r.occurred_at),
            micros(r.recorded_at),
            r.reason,
            r.correlation_id,
            r.causation_id,
            r.actor_name,
            r.access.as_ref().and_then(|a| a.rpc.as_deref()),
            r.access.as_ref().and_then(|a| a.purpose_of_use.as_deref()),
            r.access.as_ref().and_then(|a| a.outcome.as_deref()),
        ])?;
    }
    if !batch.erased.is_empty() {
        tx.prepare_cached(
            "UPDATE audit_entries SET reason = ?4
             WHERE generation = ?1 AND client IN (SELECT value FROM json_each(?2)) AND reason IS NOT NULL
               AND reason <> ?4 AND event_type NOT IN (SELECT value FROM json_each(?3))",
        )?
        .execute(params![
            batch.generation,
            serde_json::Value::from(batch.erased.clone()).to_string(),
            serde_json::Value::from(REASONS_KEPT_AFTER_ERASURE).to_string(),
            ERASED,
        ])?;
    }
    crate::persist::sqlite_quarantine::insert(tx, batch.generation, &batch.quarantined)?;
    crate::persist::sqlite_search::write_sqlite(tx, batch.generation, &batch.search)?;
    Ok(())
}
