//! The backend-neutral form of a stored event, and the hash that chains it to its predecessor.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::StoreError;
use crate::model::{EventHash, Position, RecordedEvent, StreamName};

/// One row of the events table, exactly as stored (JSON as text, so hashes cover the stored bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredRow {
    pub position: u64,
    pub event_id: Uuid,
    pub stream: String,
    pub revision: u64,
    pub event_type: String,
    pub schema_version: u32,
    pub data: String,
    pub metadata: String,
    /// Derived from `metadata.tags.client`; not hashed itself, so `verify` checks it against the metadata.
    pub client_tag: Option<String>,
    pub recorded_at: DateTime<Utc>,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// Domain separation: a hash of this layout can never be mistaken for another one.
const HASH_DOMAIN: &[u8] = b"carelog.event.v1\0";

impl StoredRow {
    /// The row of `event` at `revision` and `position`, chained to `prev` (its hash computed).
    pub fn chained(
        event: &crate::prepare::PreparedEvent,
        stream: &str,
        (revision, position): (u64, u64),
        recorded_at: DateTime<Utc>,
        prev: EventHash,
    ) -> (Self, EventHash) {
        let mut row = Self {
            position,
            event_id: event.event_id,
            stream: stream.to_owned(),
            revision,
            event_type: event.event_type.clone(),
            schema_version: event.schema_version,
            data: event.data.clone(),
            metadata: event.metadata.clone(),
            client_tag: event.client_tag.clone(),
            recorded_at,
            prev_hash: prev.0.to_vec(),
            hash: Vec::new(),
        };
        let hash = row.compute_hash(&row.prev_hash);
        row.hash = hash.0.to_vec();
        (row, hash)
    }

    /// See [`RowRef::compute_hash`].
    pub fn compute_hash(&self, prev_hash: &[u8]) -> EventHash {
        self.view().compute_hash(prev_hash)
    }

    /// The row borrowed, for hashing and checking.
    pub fn view(&self) -> RowRef<'_> {
        RowRef {
            position: self.position,
            event_id: self.event_id,
            stream: &self.stream,
            revision: self.revision,
            event_type: &self.event_type,
            schema_version: self.schema_version,
            data: &self.data,
            metadata: &self.metadata,
            client_tag: self.client_tag.as_deref(),
            recorded_at: self.recorded_at,
            prev_hash: &self.prev_hash,
            hash: &self.hash,
        }
    }

    pub fn into_recorded(mut self) -> Result<RecordedEvent, StoreError> {
        // Moved out, not copied: the event owns them.
        let stream = std::mem::take(&mut self.stream);
        let event_type = std::mem::take(&mut self.event_type);
        self.view().recorded_with(stream, event_type)
    }
}

/// A stored row borrowed from wherever it was read (an owned [`StoredRow`], or the current row of a
/// SQLite statement), so it can be hashed, checked and decoded without copying its columns.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowRef<'a> {
    pub position: u64,
    pub event_id: Uuid,
    pub stream: &'a str,
    pub revision: u64,
    pub event_type: &'a str,
    pub schema_version: u32,
    pub data: &'a str,
    pub metadata: &'a str,
    pub client_tag: Option<&'a str>,
    pub recorded_at: DateTime<Utc>,
    pub prev_hash: &'a [u8],
    pub hash: &'a [u8],
}

impl RowRef<'_> {
    /// SHA-256 over the canonical envelope and the previous hash in the stream.
    /// Every variable-length field is length-prefixed, so no two envelopes share an encoding.
    pub fn compute_hash(&self, prev_hash: &[u8]) -> EventHash {
        let mut hasher = Sha256::new();
        hasher.update(HASH_DOMAIN);
        put_bytes(&mut hasher, prev_hash);
        put_bytes(&mut hasher, self.stream.as_bytes());
        hasher.update(self.revision.to_be_bytes());
        hasher.update(self.position.to_be_bytes());
        hasher.update(self.event_id.as_bytes());
        put_bytes(&mut hasher, self.event_type.as_bytes());
        hasher.update(self.schema_version.to_be_bytes());
        hasher.update(self.recorded_at.timestamp_micros().to_be_bytes());
        put_bytes(&mut hasher, self.data.as_bytes());
        put_bytes(&mut hasher, self.metadata.as_bytes());
        EventHash(hasher.finalize().into())
    }

    pub fn to_recorded(self) -> Result<RecordedEvent, StoreError> {
        self.recorded_with(self.stream.to_owned(), self.event_type.to_owned())
    }

    /// The event, with the row's stream and event type already owned by the caller.
    fn recorded_with(self, stream: String, event_type: String) -> Result<RecordedEvent, StoreError> {
        let position = Position(self.position);
        let corrupt = |reason: String| StoreError::Corrupt { position, reason };
        Ok(RecordedEvent {
            event_id: self.event_id,
            stream: StreamName::new(stream).map_err(|e| corrupt(e.to_string()))?,
            revision: self.revision,
            position,
            event_type,
            schema_version: self.schema_version,
            data: serde_json::from_str(self.data).map_err(|e| corrupt(format!("data: {e}")))?,
            metadata: serde_json::from_str(self.metadata).map_err(|e| corrupt(format!("metadata: {e}")))?,
            recorded_at: self.recorded_at,
            prev_hash: EventHash::from_slice(self.prev_hash)
                .ok_or_else(|| corrupt("prev_hash is not 32 bytes".into()))?,
            hash: EventHash::from_slice(self.hash).ok_or_else(|| corrupt("hash is not 32 bytes".into()))?,
        })
    }
}

fn put_bytes(hasher: &mut Sha256, bytes: &[u8]) {
    hasher.update((bytes.len() as u64).to_be_bytes());
    hasher.update(bytes);
}

/// Converts a database integer to the API's unsigned form; negative values only appear in a tampered row.
pub(crate) fn to_u64(value: i64, position: i64, column: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt {
        position: Position(position.max(0) as u64),
        reason: format!("{column} is {value}"),
    })
}

pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> StoredRow {
        StoredRow {
            position: 7,
            event_id: Uuid::from_u128(42),
            stream: "client-1".into(),
            revision: 2,
            event_type: "ConsentGiven".into(),
            schema_version: 1,
            data: r#"{"kind":"treatment"}"#.into(),
            metadata: r#"{"actor":{"id":"u1","role":"intake"}}"#.into(),
            client_tag: None,
            recorded_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).expect("valid time"),
            prev_hash: vec![1; 32],
            hash: vec![],
        }
    }

    #[test]
    fn hash_is_stable_and_covers_every_field() {
        let base = row();
        let hash = base.compute_hash(&base.prev_hash);
        assert_eq!(hash, base.compute_hash(&base.prev_hash));
        let variants: [fn(&mut StoredRow); 9] = [
            |r| r.position += 1,
            |r| r.revision += 1,
            |r| r.stream.push('x'),
            |r| r.event_id = Uuid::from_u128(43),
            |r| r.event_type.push('x'),
            |r| r.schema_version += 1,
            |r| r.data = r#"{"kind":"telehealth"}"#.into(),
            |r| r.metadata.push(' '),
            |r| r.recorded_at += chrono::Duration::microseconds(1),
        ];
        for change in variants {
            let mut changed = base.clone();
            change(&mut changed);
            assert_ne!(changed.compute_hash(&base.prev_hash), hash);
        }
        assert_ne!(base.compute_hash(&[2; 32]), hash);
    }

    #[test]
    fn length_prefixes_keep_field_boundaries() {
        let mut a = row();
        let mut b = row();
        a.data = "{}".into();
        a.metadata = "{\"x\":1}".into();
        b.data = "{}{\"x\"".into();
        b.metadata = ":1}".into();
        assert_ne!(a.compute_hash(&a.prev_hash), b.compute_hash(&b.prev_hash));
    }
}
