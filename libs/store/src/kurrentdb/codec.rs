//! Pure mapping between Carelog envelopes and KurrentDB events, with no I/O: the custom metadata that
//! carries what KurrentDB has no slot for, the hash chain computed before an append, and the way back.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::StoreError;
use crate::model::{AppendResult, EventHash, Position, RecordedEvent};
use crate::plan::{BatchPlanner, KnownEvent, truncate_to_micros};
use crate::prepare::PreparedAppend;
use crate::row::StoredRow;

pub(super) const BACKEND: &str = "kurrentdb";

/// Version of the metadata layout below, so a later layout can be told apart.
const FORMAT: &str = "carelog.v1";

/// The custom metadata of every event the adapter writes. All values are strings: KurrentDB's newer
/// append APIs accept string-valued JSON metadata only.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredMetadata {
    format: String,
    schema_version: String,
    /// The Carelog metadata JSON exactly as hashed.
    metadata: String,
    /// Microseconds since the epoch, from the appending process's clock.
    recorded_at: String,
    prev_hash: String,
    hash: String,
}

/// The custom metadata to store with a planned row.
pub(super) fn encode_metadata(row: &StoredRow) -> String {
    let stored = StoredMetadata {
        format: FORMAT.to_owned(),
        schema_version: row.schema_version.to_string(),
        metadata: row.metadata.clone(),
        recorded_at: row.recorded_at.timestamp_micros().to_string(),
        prev_hash: hex::encode(&row.prev_hash),
        hash: hex::encode(&row.hash),
    };
    serde_json::to_string(&stored).unwrap_or_default()
}

/// An event as KurrentDB returns it, reduced to plain values (stream name without the namespace prefix).
#[derive(Debug, Clone, Copy)]
pub(super) struct RawEvent<'a> {
    pub stream: &'a str,
    pub revision: u64,
    pub event_id: Uuid,
    pub event_type: &'a str,
    pub data: &'a [u8],
    pub custom_metadata: &'a [u8],
    /// The commit position in `$all`: Carelog's `Position` on this backend.
    pub commit: u64,
}

/// Decodes an event into the row that was hashed (position 0: KurrentDB assigns positions only at
/// commit, after the hash is computed) and its commit position. Errors carry the position and reason.
pub(super) fn decode(raw: RawEvent<'_>) -> Result<(StoredRow, Position), (u64, String)> {
    let fail = |reason: String| (raw.commit, format!("stream {} revision {}: {reason}", raw.stream, raw.revision));
    let stored: StoredMetadata =
        serde_json::from_slice(raw.custom_metadata).map_err(|e| fail(format!("not a Carelog event: {e}")))?;
    if stored.format != FORMAT {
        return Err(fail(format!("unknown metadata format {:?}", stored.format)));
    }
    let micros: i64 = stored.recorded_at.parse().map_err(|_| fail(format!("recordedAt {:?}", stored.recorded_at)))?;
    let row = StoredRow {
        position: 0,
        event_id: raw.event_id,
        stream: raw.stream.to_owned(),
        revision: raw.revision,
        event_type: raw.event_type.to_owned(),
        schema_version: stored
            .schema_version
            .parse()
            .map_err(|_| fail(format!("schemaVersion {:?}", stored.schema_version)))?,
        data: String::from_utf8(raw.data.to_vec()).map_err(|_| fail("data is not UTF-8".into()))?,
        client_tag: client_tag(&stored.metadata),
        metadata: stored.metadata,
        recorded_at: DateTime::from_timestamp_micros(micros).ok_or_else(|| fail(format!("recordedAt {micros}")))?,
        prev_hash: hex::decode(&stored.prev_hash).map_err(|_| fail("prevHash is not hex".into()))?,
        hash: hex::decode(&stored.hash).map_err(|_| fail("hash is not hex".into()))?,
    };
    Ok((row, Position(raw.commit)))
}

/// The envelope a caller sees: the decoded row at its commit position.
pub(super) fn to_recorded(row: StoredRow, position: Position) -> Result<RecordedEvent, StoreError> {
    let mut event = row.into_recorded().map_err(|e| match e {
        StoreError::Corrupt { reason, .. } => StoreError::Corrupt { position, reason },
        other => other,
    })?;
    event.position = position;
    Ok(event)
}

/// What idempotency needs of an event already in the stream.
pub(super) fn known(row: &StoredRow, position: Position) -> KnownEvent {
    KnownEvent {
        event_id: row.event_id,
        stream: row.stream.clone(),
        revision: row.revision,
        position: position.0,
        event_type: row.event_type.clone(),
        schema_version: row.schema_version,
        data: row.data.clone(),
    }
}

/// A stream's last event, as the hash chain needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ChainHead {
    pub revision: u64,
    pub hash: EventHash,
    pub recorded_at: DateTime<Utc>,
}

impl ChainHead {
    pub fn of(row: &StoredRow) -> Result<Self, StoreError> {
        let hash = EventHash::from_slice(&row.hash).ok_or_else(|| StoreError::Corrupt {
            position: Position::START,
            reason: format!("stream {} revision {}: hash is not 32 bytes", row.stream, row.revision),
        })?;
        Ok(Self { revision: row.revision, hash, recorded_at: row.recorded_at })
    }
}

/// The outcome of planning one append against the stream head it read.
#[derive(Debug)]
pub(super) enum Plan {
    /// Every event is already stored: answer with where they landed, write nothing.
    Replayed(AppendResult),
    /// Append `rows`, pinning the stream at `pinned` (None: the stream must not exist). Pinning the
    /// exact head the chain was computed from makes KurrentDB's optimistic check guard the chain too.
    Write { pinned: Option<u64>, rows: Vec<StoredRow> },
}

/// Checks an append against the stream's head and the events already stored under its ids, and
/// computes the hash chain of the new events.
pub(super) fn plan_append(
    append: &PreparedAppend,
    head: Option<&ChainHead>,
    known: Vec<KnownEvent>,
    now: DateTime<Utc>,
) -> Result<Plan, StoreError> {
    if let Some((stream, _)) = append.conditions.first() {
        return Err(StoreError::Unsupported {
            backend: BACKEND,
            what: format!(
                "a condition on stream {stream}: KurrentDB cannot check another stream in the same atomic append \
                 (see docs/kurrentdb.md)"
            ),
        });
    }
    if let Some(replayed) = BatchPlanner::new(0, None, now, Default::default(), known).replay(append)? {
        return Ok(Plan::Replayed(replayed));
    }
    let actual = head.map(|h| h.revision);
    if !append.expected.admits(actual) {
        return Err(StoreError::Conflict { stream: append.stream.to_string(), expected: append.expected, actual });
    }
    // recorded_at never runs backwards within a stream, even if this process's clock does.
    let now = truncate_to_micros(now);
    let recorded_at = head.map_or(now, |h| h.recorded_at.max(now));
    let first_revision = actual.map_or(0, |r| r + 1);
    let mut prev_hash = head.map_or(EventHash::GENESIS, |h| h.hash);
    let mut rows = Vec::with_capacity(append.events.len());
    for (offset, event) in append.events.iter().enumerate() {
        // The position is the server's to assign: 0 until the append reports it.
        let at = (first_revision + offset as u64, 0);
        let (row, hash) = StoredRow::chained(event, append.stream.as_str(), at, recorded_at, prev_hash);
        prev_hash = hash;
        rows.push(row);
    }
    Ok(Plan::Write { pinned: actual, rows })
}

/// `metadata.tags.client` of the hashed metadata text.
fn client_tag(metadata: &str) -> Option<String> {
    serde_json::from_str::<crate::model::Metadata>(metadata).ok().and_then(|m| m.tags.client)
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
