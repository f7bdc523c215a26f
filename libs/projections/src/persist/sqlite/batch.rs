//! A batch commit on SQLite: the checkpoint, the documents and the audit rows in one transaction.
//!
//! Rows are bound as parameters of multi-row INSERTs, a thousand rows a statement: few statements
//! (each one crosses to the SQLite worker thread) and no JSON wrapping around the values, so a
//! document is serialised once by the runner and parsed once by SQLite (the `json_valid` check).

use carelog_domain::types::ERASED;
use chrono::Utc;
use sqlx::sqlite::{Sqlite, SqliteArguments};
use sqlx::{Arguments, SqliteConnection};

use super::{i, micros};
use crate::ProjectionError;
use crate::audit::REASONS_KEPT_AFTER_ERASURE;
use crate::persist::{AuditRow, BatchWrite, DocWrite};
use carelog_store::SqliteDatabase;

/// Rows per INSERT: 13,000 parameters at most (SQLite allows 32,766).
const ROWS_PER_INSERT: usize = 1_000;

pub(in crate::persist) async fn commit(db: &SqliteDatabase, batch: &BatchWrite) -> Result<(), ProjectionError> {
    let mut tx = db.begin_write().await?;
    let moved = sqlx::query(
        "UPDATE projection_generations SET checkpoint = ?3, updated_at = ?4 WHERE generation = ?1 AND checkpoint = ?2 AND state <> 'retired'",
    )
    .bind(batch.generation)
    .bind(i(batch.from))
    .bind(i(batch.to))
    .bind(micros(Utc::now()))
    .execute(&mut *tx)
    .await?;
    if moved.rows_affected() != 1 {
        return Err(ProjectionError::StaleCheckpoint { generation: batch.generation });
    }
    for docs in batch.docs.chunks(ROWS_PER_INSERT) {
        insert(&mut tx, &DOCS, docs, |args, d| bind_doc(args, batch.generation, d)).await?;
    }
    for rows in batch.audit.chunks(ROWS_PER_INSERT) {
        insert(&mut tx, &AUDIT, rows, |args, r| bind_audit(args, batch.generation, r)).await?;
    }
    if !batch.erased.is_empty() {
        sqlx::query(
            "UPDATE audit_entries SET reason = ?4
             WHERE generation = ?1 AND client IN (SELECT value FROM json_each(?2)) AND reason IS NOT NULL
               AND reason <> ?4 AND event_type NOT IN (SELECT value FROM json_each(?3))",
        )
        .bind(batch.generation)
        .bind(serde_json::Value::from(batch.erased.clone()).to_string())
        .bind(serde_json::Value::from(REASONS_KEPT_AFTER_ERASURE).to_string())
        .bind(ERASED)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A multi-row INSERT: its head, one row's placeholders and its tail.
struct Insert {
    head: &'static str,
    row: &'static str,
    tail: &'static str,
}

const DOCS: Insert = Insert {
    head: "INSERT INTO read_models (generation, kind, key, owner, doc, position) VALUES ",
    row: "(?, ?, ?, ?, ?, ?)",
    tail: " ON CONFLICT (generation, kind, key)
           DO UPDATE SET owner = excluded.owner, doc = excluded.doc, position = excluded.position",
};

const AUDIT: Insert = Insert {
    head: "INSERT INTO audit_entries (generation, position, client, stream, revision, event_type, actor_id,
                                      actor_role, occurred_at, recorded_at, reason, correlation_id, causation_id)
           VALUES ",
    row: "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    tail: "",
};

/// Inserts `rows` with one statement. Only full-size statements are kept prepared: the last,
/// shorter one of a batch has a length of its own and would only crowd the statement cache.
async fn insert<T>(
    tx: &mut SqliteConnection,
    insert: &Insert,
    rows: &[T],
    bind: impl Fn(&mut SqliteArguments, &T) -> Result<(), sqlx::error::BoxDynError>,
) -> Result<(), ProjectionError> {
    let mut args = SqliteArguments::default();
    for row in rows {
        bind(&mut args, row).map_err(|e| ProjectionError::Database(format!("binding a batch: {e}")))?;
    }
    let sql = format!("{}{}{}", insert.head, vec![insert.row; rows.len()].join(", "), insert.tail);
    sqlx::query_with::<Sqlite, _>(sqlx::AssertSqlSafe(sql), args)
        .persistent(rows.len() == ROWS_PER_INSERT)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

fn bind_doc(args: &mut SqliteArguments, generation: i64, d: &DocWrite) -> Result<(), sqlx::error::BoxDynError> {
    args.add(generation)?;
    args.add(d.kind.as_str())?;
    args.add(d.key.as_str())?;
    args.add(d.owner.as_deref())?;
    args.add(d.json.as_str())?;
    args.add(i(d.position))
}

fn bind_audit(args: &mut SqliteArguments, generation: i64, r: &AuditRow) -> Result<(), sqlx::error::BoxDynError> {
    args.add(generation)?;
    args.add(i(r.position))?;
    args.add(r.client.as_deref())?;
    args.add(r.stream.as_str())?;
    args.add(i(r.revision))?;
    args.add(r.event_type.as_str())?;
    args.add(r.actor_id.as_str())?;
    args.add(r.actor_role.as_str())?;
    args.add(micros(r.occurred_at))?;
    args.add(micros(r.recorded_at))?;
    args.add(r.reason.as_deref())?;
    args.add(r.correlation_id.as_str())?;
    args.add(r.causation_id.as_deref())
}
