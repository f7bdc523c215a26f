//! The log's rows as the tree check reads them: each row's stored hash, and whether its content
//! still gives that hash. A leaf covers the stored hash only, so without the second part an edit
//! that left the hash column alone would pass the tree check (the chain verifier would catch it,
//! but a proof must not be handed out meanwhile).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::row::StoredRow;

/// One row of the log: position, stored hash, and whether the content still hashes to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeafRow {
    pub position: i64,
    pub hash: Vec<u8>,
    pub content_matches: bool,
}

/// A row as an adapter read it, checked against its stored hash.
#[allow(clippy::too_many_arguments)]
pub(super) fn leaf_row(
    position: i64,
    event_id: Uuid,
    stream: String,
    revision: i64,
    event_type: String,
    schema_version: i64,
    data: String,
    metadata: String,
    recorded_at: Option<DateTime<Utc>>,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
) -> LeafRow {
    // Any field that no longer fits its type was altered: the content cannot give the hash.
    let stored = (|| {
        Some(StoredRow {
            position: u64::try_from(position).ok()?,
            event_id,
            stream,
            revision: u64::try_from(revision).ok()?,
            event_type,
            schema_version: u32::try_from(schema_version).ok()?,
            data,
            metadata,
            client_tag: None,
            recorded_at: recorded_at?,
            prev_hash,
            hash: Vec::new(),
        })
    })();
    let content_matches = stored.is_some_and(|row| row.compute_hash(&row.prev_hash).0.as_slice() == hash.as_slice());
    LeafRow { position, hash, content_matches }
}
