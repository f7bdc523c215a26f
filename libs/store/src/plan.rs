//! Pure planning of one group-commit batch: every check and every new row, with no I/O.
//! A backend loads the heads and known event ids the batch touches, runs the planner inside its
//! write transaction, inserts the planned rows and commits. Both backends share these semantics.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::StoreError;
use crate::first_keys::NewClientKey;
use crate::model::{AppendResult, EventHash, Position};
use crate::prepare::PreparedAppend;
use crate::row::{StoredRow, to_u64};

/// The last event of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamHead {
    pub revision: u64,
    pub hash: EventHash,
}

impl StreamHead {
    /// Decodes a head as a backend stores it; a malformed one only appears in a tampered row.
    pub fn decode(revision: i64, hash: &[u8], stream: &str) -> Result<Self, StoreError> {
        let corrupt =
            |reason: &str| StoreError::Corrupt { position: Position(0), reason: format!("stream {stream}: {reason}") };
        Ok(Self {
            revision: u64::try_from(revision).map_err(|_| corrupt("negative revision"))?,
            hash: EventHash::from_slice(hash).ok_or_else(|| corrupt("hash is not 32 bytes"))?,
        })
    }
}

/// An event already stored under an id the batch uses (a retry, or a clash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KnownEvent {
    pub event_id: Uuid,
    pub stream: String,
    pub revision: u64,
    pub position: u64,
    pub event_type: String,
    pub schema_version: u32,
    pub data: String,
}

impl KnownEvent {
    /// Decodes a stored event as a backend's query returns its columns.
    pub fn decode(
        event_id: Uuid,
        stream: String,
        revision: i64,
        position: i64,
        event_type: String,
        schema_version: i64,
        data: String,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            event_id,
            stream,
            revision: to_u64(revision, position, "revision")?,
            position: to_u64(position, position, "position")?,
            event_type,
            schema_version: u32::try_from(schema_version).unwrap_or(u32::MAX),
            data,
        })
    }
}

#[derive(Debug)]
pub(crate) struct BatchPlanner {
    heads: HashMap<String, Option<StreamHead>>,
    known: HashMap<Uuid, KnownEvent>,
    started_at: u64,
    last_position: u64,
    recorded_at: DateTime<Utc>,
    rows: Vec<StoredRow>,
}

/// The streams whose heads a batch needs: appended streams and condition streams.
pub(crate) fn streams_touched(batch: &[&PreparedAppend]) -> Vec<String> {
    let mut streams: Vec<String> = batch
        .iter()
        .flat_map(|a| std::iter::once(&a.stream).chain(a.conditions.iter().map(|(s, _)| s)))
        .map(|s| s.as_str().to_owned())
        .collect();
    streams.sort_unstable();
    streams.dedup();
    streams
}

/// The new client keys a batch carries, to store in one statement before planning.
pub(crate) fn new_client_keys<'a>(batch: &[&'a PreparedAppend]) -> Vec<&'a NewClientKey> {
    batch.iter().flat_map(|a| &a.client_keys).collect()
}

/// The keys the batch stored for appends that then failed: they go with them, so a refused
/// append leaves no key behind.
pub(crate) fn keys_of_failed<'a>(
    batch: &[&'a PreparedAppend],
    results: &[Result<AppendResult, StoreError>],
    stored_keys: &[NewClientKey],
) -> Vec<&'a NewClientKey> {
    batch
        .iter()
        .zip(results)
        .filter(|(_, result)| result.is_err())
        .flat_map(|(append, _)| &append.client_keys)
        .filter(|key| stored_keys.contains(key))
        .collect()
}

/// The keys of the appends that were planned, to store with their rows.
pub(crate) fn keys_of_planned<'a>(
    batch: &[&'a PreparedAppend],
    results: &[Result<AppendResult, StoreError>],
) -> Vec<&'a NewClientKey> {
    batch.iter().zip(results).filter(|(_, result)| result.is_ok()).flat_map(|(append, _)| &append.client_keys).collect()
}

/// Every event id a batch carries, to look up earlier attempts.
pub(crate) fn event_ids(batch: &[&PreparedAppend]) -> Vec<Uuid> {
    batch.iter().flat_map(|a| a.events.iter().map(|e| e.event_id)).collect()
}

impl BatchPlanner {
    /// `heads` must hold an entry (None: no stream) for every stream in `streams_touched`.
    pub fn new(
        last_position: u64,
        last_recorded_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        heads: HashMap<String, Option<StreamHead>>,
        known: impl IntoIterator<Item = KnownEvent>,
    ) -> Self {
        let now = truncate_to_micros(now);
        // recorded_at never runs backwards along the log, even if the clock does.
        let recorded_at = last_recorded_at.map_or(now, |last| last.max(now));
        let known = known.into_iter().map(|k| (k.event_id, k)).collect();
        Self { heads, known, started_at: last_position, last_position, recorded_at, rows: Vec::new() }
    }

    /// The log head the batch was planned on.
    pub fn started_at(&self) -> u64 {
        self.started_at
    }

    /// Every stream head the batch read, as it stands after the planned rows.
    pub fn heads(&self) -> impl Iterator<Item = (&str, Option<StreamHead>)> {
        self.heads.iter().map(|(stream, head)| (stream.as_str(), *head))
    }

    pub fn rows(&self) -> &[StoredRow] {
        &self.rows
    }

    pub fn last_position(&self) -> u64 {
        self.last_position
    }

    pub fn recorded_at(&self) -> DateTime<Utc> {
        self.recorded_at
    }

    pub fn into_rows(self) -> Vec<StoredRow> {
        self.rows
    }

    /// Plans every append of a batch in order.
    /// An append carrying a new client key that is not among `stored_keys` (what the batch's key
    /// insert wrote) fails alone, before it takes a position: its events are sealed with a key
    /// that was not stored.
    pub fn plan_batch(
        &mut self,
        batch: &[&PreparedAppend],
        stored_keys: &[NewClientKey],
    ) -> Vec<Result<AppendResult, StoreError>> {
        batch
            .iter()
            .map(|append| match append.client_keys.iter().find(|key| !stored_keys.contains(key)) {
                Some(key) => Err(StoreError::ClientKeyTaken { client: key.client.clone() }),
                None => self.plan(append),
            })
            .collect()
    }

    /// Checks one append against the log as it stands after the appends planned before it.
    /// On error nothing of this append is planned; the other appends of the batch are unaffected.
    pub fn plan(&mut self, append: &PreparedAppend) -> Result<AppendResult, StoreError> {
        if let Some(replayed) = self.replay(append)? {
            return Ok(replayed);
        }
        let head = self.head(append.stream.as_str())?;
        let actual = head.map(|h| h.revision);
        if !append.expected.admits(actual) {
            return Err(StoreError::Conflict { stream: append.stream.to_string(), expected: append.expected, actual });
        }
        for (stream, expected) in &append.conditions {
            let actual = self.head(stream.as_str())?.map(|h| h.revision);
            if !expected.admits(actual) {
                return Err(StoreError::Conflict { stream: stream.to_string(), expected: *expected, actual });
            }
        }
        let first_revision = actual.map_or(0, |r| r + 1);
        let first_position = self.last_position + 1;
        let mut prev_hash = head.map_or(EventHash::GENESIS, |h| h.hash);
        for (offset, event) in append.events.iter().enumerate() {
            let at = (first_revision + offset as u64, first_position + offset as u64);
            let (row, hash) = StoredRow::chained(event, append.stream.as_str(), at, self.recorded_at, prev_hash);
            prev_hash = hash;
            self.known.insert(row.event_id, known_from(&row));
            self.rows.push(row);
        }
        let count = append.events.len() as u64;
        let last_revision = first_revision + count - 1;
        self.last_position += count;
        self.heads.insert(append.stream.to_string(), Some(StreamHead { revision: last_revision, hash: prev_hash }));
        Ok(AppendResult {
            first_revision,
            last_revision,
            first_position: Position(first_position),
            last_position: Position(self.last_position),
            already_stored: false,
        })
    }

    /// A retry of an append that is already stored succeeds with the original result and stores nothing.
    pub(crate) fn replay(&self, append: &PreparedAppend) -> Result<Option<AppendResult>, StoreError> {
        let found: Vec<Option<&KnownEvent>> = append.events.iter().map(|e| self.known.get(&e.event_id)).collect();
        let Some(first_found) = found.iter().flatten().next() else {
            return Ok(None);
        };
        if let Some(elsewhere) = found.iter().flatten().find(|k| k.stream != append.stream.as_str()) {
            return Err(StoreError::EventIdInOtherStream {
                event_id: elsewhere.event_id,
                existing_stream: elsewhere.stream.clone(),
            });
        }
        let mismatch = |event_id: Uuid, detail: String| StoreError::IdempotencyMismatch {
            event_id,
            stream: append.stream.to_string(),
            detail,
        };
        let Some(first) = found[0] else {
            return Err(mismatch(first_found.event_id, "only some of this append's events are stored".into()));
        };
        for (offset, (event, known)) in append.events.iter().zip(&found).enumerate() {
            let Some(known) = known else {
                return Err(mismatch(first.event_id, "only some of this append's events are stored".into()));
            };
            if known.revision != first.revision + offset as u64 {
                return Err(mismatch(event.event_id, "the events were stored in another order or apart".into()));
            }
            if known.event_type != event.event_type || known.schema_version != event.schema_version {
                return Err(mismatch(
                    event.event_id,
                    format!(
                        "stored as {} v{}, retried as {} v{}",
                        known.event_type, known.schema_version, event.event_type, event.schema_version
                    ),
                ));
            }
            if known.data != event.data {
                return Err(mismatch(event.event_id, "the events decided on this attempt differ from the stored ones (decided at another time or on another state, or the id was reused)".into()));
            }
        }
        let last = found[found.len() - 1].unwrap_or(first);
        Ok(Some(AppendResult {
            first_revision: first.revision,
            last_revision: last.revision,
            first_position: Position(first.position),
            last_position: Position(last.position),
            already_stored: true,
        }))
    }

    fn head(&self, stream: &str) -> Result<Option<StreamHead>, StoreError> {
        self.heads
            .get(stream)
            .copied()
            .ok_or_else(|| StoreError::Database(format!("internal: head of stream {stream} was not loaded")))
    }
}

fn known_from(row: &StoredRow) -> KnownEvent {
    KnownEvent {
        event_id: row.event_id,
        stream: row.stream.clone(),
        revision: row.revision,
        position: row.position,
        event_type: row.event_type.clone(),
        schema_version: row.schema_version,
        data: row.data.clone(),
    }
}

/// Both backends store microseconds; hashing a finer time would not survive a round trip.
pub(crate) fn truncate_to_micros(time: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(time.timestamp_micros()).unwrap_or(time)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
