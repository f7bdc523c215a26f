//! The statement that writes a batch's rows on PostgreSQL, both ways (alone it is the whole
//! append; under the long way's lock it is one statement of four).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::StoreError;
use crate::first_keys::NewClientKey;
use crate::model::category_of;
use crate::row::{StoredRow, to_i64};

/// `$16`: the head the rows were planned on; `$17`, `$18`: new client keys (clients, wrapped keys).
macro_rules! insert_rows_sql {
    ($locked_when:literal, $keys:literal) => {
        concat!(
            "WITH locked AS (
                 SELECT FROM log_head WHERE id AND position = $16 ",
            $locked_when,
            " FOR UPDATE
             ), ",
            $keys,
            "inserted AS (
                 INSERT INTO events (position, event_id, stream, category, revision, event_type, schema_version,
                                     data, metadata, recorded_at, prev_hash, hash, client_tag)
                 SELECT p, i, s, c, r, t, v, d::json, m::json, $10, ph, h, ct
                 FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::int[],
                             $8::text[], $9::text[], $11::bytea[], $12::bytea[], $13::text[])
                      AS u(p, i, s, c, r, t, v, d, m, ph, h, ct)
                 WHERE EXISTS (SELECT FROM locked)
                 RETURNING 1
             ), moved AS (
                 UPDATE log_head SET position = $14, recorded_at = $10 WHERE id AND EXISTS (SELECT FROM locked)
                 RETURNING position
             )
             SELECT pg_notify($15, moved.position::text) FROM moved"
        )
    };
}

/// The rows alone: naming no key table, which a log without the vault's migrations lacks.
const INSERT_ROWS: &str = insert_rows_sql!("", "");

/// The rows and their appends' new client keys, all or nothing: nothing is written if a client
/// was erased (the lock row is then not found) or already has a key (the key table's primary key
/// refuses the row), and the long way, which sees what is stored, sorts out which.
const INSERT_ROWS_AND_KEYS: &str = insert_rows_sql!(
    "AND NOT EXISTS (SELECT FROM shredded_clients s WHERE s.client_id = ANY($17::text[]))",
    "keys AS (
         INSERT INTO client_keys (client_id, wrapped_key, created_at)
         SELECT k, w, now() FROM unnest($17::text[], $18::bytea[]) AS u(k, w) WHERE EXISTS (SELECT FROM locked)
     ), "
);

/// One round trip for the whole batch: the rows go in as parallel arrays, the head moves, and
/// subscribers in every process are notified (delivered at COMMIT) — if the head is still at
/// `head_at` (locked here; a transaction that locked it already takes it again). Alone
/// (autocommit), it is the whole append.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_rows(
    conn: &mut PgConnection,
    rows: &[StoredRow],
    keys: &[&NewClientKey],
    head_at: u64,
    recorded_at: DateTime<Utc>,
    head: u64,
    channel: &str,
) -> Result<Inserted, StoreError> {
    let column = |f: fn(&StoredRow) -> i64| rows.iter().map(f).collect::<Vec<i64>>();
    let text = |f: fn(&StoredRow) -> &str| rows.iter().map(|r| f(r).to_owned()).collect::<Vec<String>>();
    let sql = if keys.is_empty() { INSERT_ROWS } else { INSERT_ROWS_AND_KEYS };
    let statement = sqlx::query(sql)
        .bind(column(|r| to_i64(r.position)))
        .bind(rows.iter().map(|r| r.event_id).collect::<Vec<Uuid>>())
        .bind(text(|r| &r.stream))
        .bind(text(|r| category_of(&r.stream)))
        .bind(column(|r| to_i64(r.revision)))
        .bind(text(|r| &r.event_type))
        .bind(rows.iter().map(|r| i32::try_from(r.schema_version).unwrap_or(i32::MAX)).collect::<Vec<i32>>())
        .bind(text(|r| &r.data))
        .bind(text(|r| &r.metadata))
        .bind(recorded_at)
        .bind(rows.iter().map(|r| r.prev_hash.clone()).collect::<Vec<Vec<u8>>>())
        .bind(rows.iter().map(|r| r.hash.clone()).collect::<Vec<Vec<u8>>>())
        .bind(rows.iter().map(|r| r.client_tag.clone()).collect::<Vec<Option<String>>>())
        .bind(to_i64(head))
        .bind(channel)
        .bind(to_i64(head_at));
    let statement = match keys {
        [] => statement,
        keys => statement
            .bind(keys.iter().map(|k| k.client.clone()).collect::<Vec<String>>())
            .bind(keys.iter().map(|k| k.wrapped.clone()).collect::<Vec<Vec<u8>>>()),
    };
    let notified = statement.fetch_optional(conn).await;
    match notified {
        Ok(Some(_)) => Ok(Inserted::Written),
        Ok(None) => Ok(Inserted::HeadMoved),
        Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some("23505") => {
            Ok(Inserted::Refused(error.to_string()))
        }
        Err(error) => Err(error.into()),
    }
}

/// What [`insert_rows`] did.
#[derive(Debug)]
pub(crate) enum Inserted {
    Written,
    /// Nothing: the head was no longer where the rows were planned.
    HeadMoved,
    /// Nothing: a unique index refused a row (a position, a stream revision or an event id taken).
    Refused(String),
}
