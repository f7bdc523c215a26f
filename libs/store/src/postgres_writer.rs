//! The PostgreSQL writer: the one connection per process that commits the group-commit batches
//! (one statement when it knows the log, `postgres_known_heads`; else four round trips under the
//! log head's lock), and the insert both ways share.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Utc};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, FromRow, PgConnection};
use uuid::Uuid;

use crate::error::StoreError;
use crate::first_keys::AppendWithKeys;
use crate::first_keys::NewClientKey;
use crate::model::Position;
use crate::model::{AppendRequest, AppendResult};
use crate::plan::{BatchPlanner, KnownEvent, StreamHead, event_ids, keys_of_failed, new_client_keys, streams_touched};
use crate::postgres::PostgresStore;
use crate::postgres_ha;
use crate::postgres_insert::{Inserted, insert_rows};
use crate::postgres_known_heads::{KnownHeads, write_known};
use crate::prepare::PreparedAppend;
use crate::row::to_u64;
use crate::writer::{BatchOutcome, BatchWriter, PlannedBatch};

/// The writer's own connection, re-established after it breaks.
#[derive(Debug)]
pub(crate) struct PgWriter {
    connect: PgConnectOptions,
    conn: Option<PgConnection>,
    channel: String,
    /// The connection's backend process id (0: none), which its notifications carry.
    pid: Arc<AtomicU32>,
    /// What the connection last saw of the log (None: nothing yet, or since it was lost).
    known: Option<KnownHeads>,
}

impl PgWriter {
    /// A writer that connects with `connect` on first use and notifies `channel` at each commit.
    pub fn new(connect: PgConnectOptions, channel: String, pid: Arc<AtomicU32>) -> Self {
        Self { connect, conn: None, channel, pid, known: None }
    }

    pub async fn connection(&mut self) -> Result<&mut PgConnection, StoreError> {
        if self.conn.is_none() {
            let mut conn = postgres_ha::connect_bounded(&self.connect).await?;
            let (pid,): (i32,) = sqlx::query_as("SELECT pg_backend_pid()").fetch_one(&mut conn).await?;
            self.pid.store(u32::try_from(pid).unwrap_or(0), Ordering::Relaxed);
            self.known = None;
            self.conn = Some(conn);
        }
        Ok(self.conn.as_mut().expect("connected above"))
    }
}

impl BatchWriter for PgWriter {
    async fn start(&mut self) -> Result<(), StoreError> {
        self.connection().await.map(|_| ())
    }

    async fn write_batch(&mut self, batch: &[&PreparedAppend]) -> Result<BatchOutcome, StoreError> {
        let channel = self.channel.clone();
        let known = self.known.take();
        let conn = self.connection().await?;
        let write = async {
            if let Some(known) = &known
                && let Some(written) = write_known(conn, known, batch, &channel).await?
            {
                return Ok(written);
            }
            write_batch(conn, batch, &channel).await
        };
        let outcome = match tokio::time::timeout(postgres_ha::BATCH_TIMEOUT, write).await {
            Ok(outcome) => outcome,
            Err(_) => Err(StoreError::Unavailable(format!(
                "a commit took longer than {:?}: the database may be failing over; retry with the same command id",
                postgres_ha::BATCH_TIMEOUT
            ))),
        };
        match outcome {
            Ok(planned) => {
                self.known = Some(KnownHeads::after(&planned.1, known));
                Ok(BatchOutcome::planned(planned))
            }
            Err(error) => {
                if matches!(error, StoreError::Unavailable(_)) {
                    self.pid.store(0, Ordering::Relaxed);
                    self.conn = None;
                }
                Err(error)
            }
        }
    }
}

/// The batch's read: stream heads, earlier attempts and the client keys `stored` (below), with
/// the log head on every row (one row with only the log head if there is nothing else).
macro_rules! read_for_batch {
    ($keys:literal) => {
        concat!(
            "WITH ",
            $keys,
            "found AS (
                SELECT 'head' AS kind, s.stream, e.revision, NULL::bigint AS position, e.hash,
                       NULL::uuid AS event_id, NULL::text AS event_type, NULL::int AS schema_version, NULL::text AS data
                FROM unnest($1::text[]) AS s(stream)
                CROSS JOIN LATERAL (SELECT revision, hash FROM events WHERE events.stream = s.stream
                                    ORDER BY revision DESC LIMIT 1) AS e
                UNION ALL
                SELECT 'known', stream, revision, position, NULL, event_id, event_type, schema_version, data::text
                FROM events WHERE event_id = ANY($2)
                UNION ALL
                SELECT 'key', client_id, NULL, NULL, wrapped_key, NULL, NULL, NULL, NULL FROM stored
            )
            SELECT h.position AS log_head, h.recorded_at AS log_recorded_at, f.*
            FROM log_head h LEFT JOIN found f ON true WHERE h.id"
        )
    };
}

const READ_FOR_BATCH: &str = read_for_batch!(
    "stored AS (SELECT client_id, wrapped_key FROM unnest($3::text[], $4::bytea[]) AS k(client_id, wrapped_key) WHERE false), "
);

/// [`READ_FOR_BATCH`] that first stores the batch's new client keys where the client has none and
/// was never erased, returning the ones stored (of two keys for one client, the first). The
/// tables are the vault's: a batch without keys never names them.
const STORE_KEYS_AND_READ_FOR_BATCH: &str = read_for_batch!(
    "stored AS (
        INSERT INTO client_keys (client_id, wrapped_key, created_at)
        SELECT k.client_id, k.wrapped_key, now()
        FROM unnest($3::text[], $4::bytea[]) AS k(client_id, wrapped_key)
        WHERE NOT EXISTS (SELECT 1 FROM shredded_clients s WHERE s.client_id = k.client_id)
        ON CONFLICT (client_id) DO NOTHING
        RETURNING client_id, wrapped_key
    ), "
);

/// One batch in four round trips: BEGIN with the head's lock, then the batch's client keys stored
/// and the log head, stream heads and earlier attempts read together, then rows + head + notification written together, then COMMIT.
async fn write_batch(
    conn: &mut PgConnection,
    batch: &[&PreparedAppend],
    channel: &str,
) -> Result<PlannedBatch, StoreError> {
    // The lock comes first, in its own statement (sent with BEGIN): every later statement then
    // reads a snapshot that includes the previous writer's commit.
    let mut tx = conn
        .begin_with("BEGIN; SET LOCAL plan_cache_mode TO force_custom_plan; SELECT FROM log_head WHERE id FOR UPDATE")
        .await?;
    let streams = streams_touched(batch);
    let keys = new_client_keys(batch);
    let sql = if keys.is_empty() { READ_FOR_BATCH } else { STORE_KEYS_AND_READ_FOR_BATCH };
    let found: Vec<Found> = sqlx::query_as(sql)
        .bind(&streams)
        .bind(event_ids(batch))
        .bind(keys.iter().map(|k| k.client.as_str()).collect::<Vec<_>>())
        .bind(keys.iter().map(|k| k.wrapped.as_slice()).collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await?;
    let (head, last_recorded) = found
        .first()
        .map(|f| (f.log_head, f.log_recorded_at))
        .ok_or_else(|| StoreError::Corrupt { position: Position(0), reason: "the log_head row is missing".into() })?;
    let mut heads: HashMap<String, Option<StreamHead>> = streams.into_iter().map(|s| (s, None)).collect();
    let (mut known, mut stored_keys) = (Vec::new(), Vec::new());
    for row in found {
        match row {
            Found { kind: None, .. } => {}
            Found { kind: Some(kind), stream: Some(stream), revision: Some(revision), hash: Some(hash), .. }
                if kind == "head" =>
            {
                let head = StreamHead::decode(revision, &hash, &stream)?;
                heads.insert(stream, Some(head));
            }
            Found { kind: Some(kind), stream: Some(client), hash: Some(wrapped), .. } if kind == "key" => {
                stored_keys.push(NewClientKey { client, wrapped });
            }
            Found {
                stream: Some(stream),
                revision: Some(revision),
                position: Some(position),
                event_id: Some(event_id),
                event_type: Some(event_type),
                schema_version: Some(schema_version),
                data: Some(data),
                ..
            } => known.push(KnownEvent::decode(
                event_id,
                stream,
                revision,
                position,
                event_type,
                i64::from(schema_version),
                data,
            )?),
            other => {
                return Err(StoreError::Corrupt { position: Position(0), reason: format!("unexpected row {other:?}") });
            }
        }
    }
    let mut planner =
        BatchPlanner::new(to_u64(head, head, "log_head.position")?, last_recorded, Utc::now(), heads, known);
    let results = planner.plan_batch(batch, &stored_keys);
    remove_client_keys(&mut tx, &keys_of_failed(batch, &results, &stored_keys)).await?;
    if planner.rows().is_empty() {
        tx.rollback().await?;
        return Ok((results, planner));
    }
    let locked_head = to_u64(head, head, "log_head.position")?;
    match insert_rows(
        &mut tx,
        planner.rows(),
        &[],
        locked_head,
        planner.recorded_at(),
        planner.last_position(),
        channel,
    )
    .await?
    {
        Inserted::Written => tx.commit().await?,
        // Planned under the head's lock from what it read: only a tampered table gets here.
        Inserted::HeadMoved => return Err(StoreError::Database("the log head moved under this writer's lock".into())),
        Inserted::Refused(reason) => {
            return Err(StoreError::Database(format!("a row planned under the log head's lock was refused: {reason}")));
        }
    }
    Ok((results, planner))
}

/// Keys stored for appends that failed after all go with them (rare: one statement when it happens).
async fn remove_client_keys(conn: &mut PgConnection, keys: &[&NewClientKey]) -> Result<(), StoreError> {
    if keys.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "DELETE FROM client_keys c USING unnest($1::text[], $2::bytea[]) AS k(client_id, wrapped_key)
         WHERE c.client_id = k.client_id AND c.wrapped_key = k.wrapped_key",
    )
    .bind(keys.iter().map(|k| k.client.as_str()).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| k.wrapped.as_slice()).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// A row of the batch's read: the log head on every row, then (if any) a stream head, an earlier
/// attempt of one of the batch's event ids, or a client key the batch stored.
#[derive(Debug, FromRow)]
struct Found {
    log_head: i64,
    log_recorded_at: Option<DateTime<Utc>>,
    kind: Option<String>,
    stream: Option<String>,
    revision: Option<i64>,
    position: Option<i64>,
    hash: Option<Vec<u8>>,
    event_id: Option<Uuid>,
    event_type: Option<String>,
    schema_version: Option<i32>,
    data: Option<String>,
}

/// The store's new client keys go through its writer, into the batch's transaction.
#[async_trait::async_trait]
impl AppendWithKeys for PostgresStore {
    async fn append_with_keys(
        &self,
        request: AppendRequest,
        keys: Vec<NewClientKey>,
    ) -> Result<AppendResult, StoreError> {
        self.writer().submit(request, self.limits(), keys).await
    }
}
