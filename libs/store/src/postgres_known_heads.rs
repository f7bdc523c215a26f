//! The writer's one-round-trip append on PostgreSQL: what its connection last saw of the log.
//!
//! The writer connection commits every append this process makes, and under the head's lock it
//! reads the stream heads it needs. So after each of its commits it knows, exactly, the log head
//! and the heads of the streams it touched — for as long as nobody else commits. The next batch is
//! planned from that knowledge and written in a single autocommit statement that locks the head
//! and inserts only if the head is still where the writer left it: one round trip instead of four
//! (BEGIN and lock, read, write, COMMIT). When it is not (another process committed), or when an
//! assumption fails (a stream the writer has not seen turns out to exist, an event id is a retry:
//! the unique indexes refuse the rows, and the statement rolls back alone), the batch goes the
//! long way, which reads everything under the lock as before. What the writer knows is dropped
//! with its connection, so a failover (where the new primary may lack the last commits) can
//! never leave it planning from a log that is gone.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::error::StoreError;
use crate::first_keys::NewClientKey;
use crate::model::ExpectedRevision;
use crate::plan::{BatchPlanner, StreamHead, keys_of_planned, new_client_keys, streams_touched};
use crate::postgres_insert::{Inserted, insert_rows};
use crate::prepare::PreparedAppend;
use crate::writer::PlannedBatch;

/// Streams remembered at most; past it the memory starts again from the next batch (a stream not
/// remembered costs its next append the long way, once).
const MAX_KNOWN_STREAMS: usize = 16_384;

/// The log as the writer's connection left it after its last batch: exact while the head is at
/// `position`.
#[derive(Debug)]
pub(crate) struct KnownHeads {
    position: u64,
    recorded_at: DateTime<Utc>,
    streams: HashMap<String, Option<StreamHead>>,
}

impl KnownHeads {
    /// What a batch planned under the head's lock leaves known: the heads it read or wrote, at the
    /// head it left.
    pub fn after(planner: &BatchPlanner, previous: Option<KnownHeads>) -> Self {
        let mut streams = previous
            .filter(|known| known.position == planner.started_at() && known.streams.len() < MAX_KNOWN_STREAMS)
            .map(|known| known.streams)
            .unwrap_or_default();
        streams.extend(planner.heads().map(|(stream, head)| (stream.to_owned(), head)));
        Self { position: planner.last_position(), recorded_at: planner.recorded_at(), streams }
    }

    /// The heads to plan `batch` with, if every one is known or safely assumed: a stream not
    /// known is assumed empty only where an append to it expects no stream (or anything) and no
    /// condition reads it — if it exists after all, its revision 0 is taken and the insert fails.
    fn heads_for(&self, batch: &[&PreparedAppend]) -> Option<HashMap<String, Option<StreamHead>>> {
        let conditioned = |stream: &str| batch.iter().any(|a| a.conditions.iter().any(|(s, _)| s.as_str() == stream));
        let assumable = |stream: &str| {
            !conditioned(stream)
                && batch
                    .iter()
                    .filter(|a| a.stream.as_str() == stream)
                    .all(|a| matches!(a.expected, ExpectedRevision::Any | ExpectedRevision::NoStream))
        };
        streams_touched(batch)
            .into_iter()
            .map(|stream| match self.streams.get(&stream) {
                Some(head) => Some((stream, *head)),
                None if assumable(&stream) => Some((stream, None)),
                None => None,
            })
            .collect()
    }
}

/// The one-statement append: `None` when the batch must go the long way (nothing was written).
pub(crate) async fn write_known(
    conn: &mut PgConnection,
    known: &KnownHeads,
    batch: &[&PreparedAppend],
    channel: &str,
) -> Result<Option<PlannedBatch>, StoreError> {
    let Some(heads) = known.heads_for(batch) else { return Ok(None) };
    let mut planner = BatchPlanner::new(known.position, Some(known.recorded_at), Utc::now(), heads, []);
    // New client keys are assumed storable: the statement writes nothing if one is not.
    let assumed: Vec<NewClientKey> = new_client_keys(batch).into_iter().cloned().collect();
    let results = planner.plan_batch(batch, &assumed);
    let rows = planner.rows();
    if rows.is_empty() {
        // Every append was refused on what the writer knows: confirm under the lock.
        return Ok(None);
    }
    let keys = keys_of_planned(batch, &results);
    let (position, recorded_at, head) = (known.position, planner.recorded_at(), planner.last_position());
    let inserted = insert_rows(conn, rows, &keys, position, recorded_at, head, channel);
    match inserted.await? {
        Inserted::Written => {}
        // Another process committed since; or a stream assumed new exists, or an event id was used
        // before (a retry): the long way sorts out which.
        Inserted::HeadMoved | Inserted::Refused(_) => return Ok(None),
    }
    Ok(Some((results, planner)))
}
