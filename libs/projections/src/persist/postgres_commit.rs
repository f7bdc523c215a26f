//! A folded batch's commit on PostgreSQL: the checkpoint, documents, audit rows and search tokens
//! in one statement, then the erasures' scrubbing and the quarantined events.

use sqlx::PgPool;

use carelog_domain::types::ERASED;

use super::BatchWrite;
use super::postgres::i;
use crate::ProjectionError;
use crate::audit::REASONS_KEPT_AFTER_ERASURE;

/// Derived rows: the commit does not wait for its WAL flush (see `begin_derived`); a batch lost
/// with the database's last moments is folded again from the checkpoint it did not move.
pub(super) async fn commit(pool: &PgPool, batch: &BatchWrite) -> Result<(), ProjectionError> {
    let mut tx = carelog_store::begin_derived(pool).await?;
    // One round trip for the checkpoint and every row (documents, audit rows, the clients' search
    // tokens): the rows travel as parallel arrays, and are
    // written only if this batch moved the checkpoint (else the transaction rolls back anyway).
    let (docs, rows) = (&batch.docs, &batch.audit);
    // A client's search tokens are replaced: the ones it no longer has go, the new ones come.
    let search_tokens: Vec<(&str, &str)> = (batch.search.iter())
        .flat_map(|entry| entry.tokens.iter().map(|token| (entry.client.as_str(), token.as_str())))
        .collect();
    let (moved,): (i64,) = sqlx::query_as(
        "WITH moved AS (
             UPDATE projection_generations SET checkpoint = $3, updated_at = now()
             WHERE generation = $1 AND checkpoint = $2 AND state <> 'retired' RETURNING 1
         ), docs AS (
             INSERT INTO read_models (generation, kind, key, owner, doc, position)
             SELECT $1, k, key, o, d::jsonb, p
             FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[]) AS u(k, key, o, d, p)
             WHERE EXISTS (SELECT FROM moved)
             ON CONFLICT (generation, kind, key)
             DO UPDATE SET owner = excluded.owner, doc = excluded.doc, position = excluded.position
         ), audit AS (
             INSERT INTO audit_entries (generation, position, client, stream, revision, event_type, actor_id,
                                        actor_role, occurred_at, recorded_at, reason, correlation_id, causation_id,
                                        actor_name, rpc, purpose_of_use, outcome)
             SELECT $1, u.* FROM unnest($9::bigint[], $10::text[], $11::text[], $12::bigint[], $13::text[],
                                        $14::text[], $15::text[], $16::timestamptz[], $17::timestamptz[],
                                        $18::text[], $19::text[], $20::text[], $21::text[], $22::text[],
                                        $23::text[], $24::text[]) AS u
             WHERE EXISTS (SELECT FROM moved)
         ), search AS (
             SELECT * FROM unnest($25::text[], $26::text[]) AS s(client, token)
         ), search_gone AS (
             DELETE FROM client_search c
             WHERE EXISTS (SELECT FROM moved) AND c.generation = $1 AND c.client = ANY($27::text[])
               AND NOT EXISTS (SELECT FROM search s WHERE s.client = c.client AND s.token = c.token)
         ), search_added AS (
             INSERT INTO client_search (generation, token, client)
             SELECT $1, token, client FROM search WHERE EXISTS (SELECT FROM moved)
             ON CONFLICT DO NOTHING
         )
         SELECT count(*) FROM moved",
    )
    .bind(batch.generation)
    .bind(i(batch.from))
    .bind(i(batch.to))
    .bind(docs.iter().map(|d| d.kind.as_str()).collect::<Vec<_>>())
    .bind(docs.iter().map(|d| d.key.as_str()).collect::<Vec<_>>())
    .bind(docs.iter().map(|d| d.owner.as_deref()).collect::<Vec<_>>())
    .bind(docs.iter().map(|d| d.json.as_str()).collect::<Vec<_>>())
    .bind(docs.iter().map(|d| i(d.position)).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| i(r.position)).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.client.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.stream.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| i(r.revision)).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.event_type.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.actor_id.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.actor_role.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.occurred_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.recorded_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.reason.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.correlation_id.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.causation_id.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.actor_name.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.access.as_ref().and_then(|a| a.rpc.as_deref())).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.access.as_ref().and_then(|a| a.purpose_of_use.as_deref())).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.access.as_ref().and_then(|a| a.outcome.as_deref())).collect::<Vec<_>>())
    .bind(search_tokens.iter().map(|(client, _)| *client).collect::<Vec<_>>())
    .bind(search_tokens.iter().map(|(_, token)| *token).collect::<Vec<_>>())
    .bind(batch.search.iter().map(|entry| entry.client.as_str()).collect::<Vec<_>>())
    .fetch_one(&mut *tx)
    .await?;
    if moved != 1 {
        return Err(ProjectionError::StaleCheckpoint { generation: batch.generation });
    }
    if !batch.erased.is_empty() {
        sqlx::query(
            "UPDATE audit_entries SET reason = $4
             WHERE generation = $1 AND client = ANY($2) AND reason IS NOT NULL AND reason <> $4
               AND NOT (event_type = ANY($3))",
        )
        .bind(batch.generation)
        .bind(&batch.erased)
        .bind(REASONS_KEPT_AFTER_ERASURE)
        .bind(ERASED)
        .execute(&mut *tx)
        .await?;
    }
    super::postgres_quarantine::insert(&mut tx, batch.generation, &batch.quarantined).await?;
    tx.commit().await?;
    Ok(())
}
