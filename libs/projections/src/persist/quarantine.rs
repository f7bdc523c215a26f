//! The quarantine table: written in the batch's transaction, read by operators. The statements
//! both backends share are here; each adapter runs them (`sqlite_quarantine.rs`,
//! `postgres_quarantine.rs`).

use crate::ProjectionError;
use crate::quarantine::{Quarantined, Target};

pub(super) const INSERT: &str =
    "INSERT INTO quarantined_events (generation, position, doc_kind, doc_key, client, stream, event_type, error)";

pub(super) const SELECT: &str =
    "SELECT position, doc_kind, doc_key, client, stream, event_type, error FROM quarantined_events";

#[allow(clippy::too_many_arguments)]
pub(super) fn from_row(
    position: i64,
    kind: String,
    key: String,
    client: Option<String>,
    stream: String,
    event_type: String,
    error: String,
) -> Result<Quarantined, ProjectionError> {
    let position =
        u64::try_from(position).map_err(|_| ProjectionError::Corrupt(format!("quarantine position {position}")))?;
    Ok(Quarantined { position, target: Target::parse(&kind), key, client, stream, event_type, error })
}

pub(super) fn position(value: u64) -> i64 {
    // Log positions are far below i64::MAX (the store's own columns are bigint).
    i64::try_from(value).unwrap_or(i64::MAX)
}
