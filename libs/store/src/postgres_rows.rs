//! Rows of the `events` table as PostgreSQL returns them: owned for reads, borrowed for verification.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, Row};
use uuid::Uuid;

use crate::error::StoreError;
use crate::model::{Position, RecordedEvent};
use crate::row::{RowRef, StoredRow, to_u64};

#[derive(Debug, FromRow)]
pub(crate) struct EventRow {
    position: i64,
    event_id: Uuid,
    stream: String,
    revision: i64,
    event_type: String,
    schema_version: i32,
    data: String,
    metadata: String,
    client_tag: Option<String>,
    recorded_at: DateTime<Utc>,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

impl EventRow {
    pub(crate) fn into_stored(self) -> Result<StoredRow, StoreError> {
        let p = self.position;
        Ok(StoredRow {
            position: to_u64(p, p, "position")?,
            event_id: self.event_id,
            stream: self.stream,
            revision: to_u64(self.revision, p, "revision")?,
            event_type: self.event_type,
            schema_version: u32::try_from(self.schema_version).map_err(|_| StoreError::Corrupt {
                position: Position(p.max(0) as u64),
                reason: format!("schema_version is {}", self.schema_version),
            })?,
            data: self.data,
            metadata: self.metadata,
            client_tag: self.client_tag,
            recorded_at: self.recorded_at,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

pub(crate) fn decode(rows: Vec<EventRow>) -> Result<Vec<RecordedEvent>, StoreError> {
    rows.into_iter().map(|row| row.into_stored()?.into_recorded()).collect()
}

/// A row of a `select_events!` query, borrowed, its columns read by index.
pub(crate) fn row_ref(row: &PgRow, position: i64) -> Result<RowRef<'_>, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt { position: Position(position.max(0) as u64), reason };
    let column = |e: sqlx::Error| corrupt(e.to_string());
    let revision: i64 = row.try_get(3).map_err(column)?;
    let schema_version: i32 = row.try_get(5).map_err(column)?;
    Ok(RowRef {
        position: to_u64(position, position, "position")?,
        event_id: row.try_get(1).map_err(column)?,
        stream: row.try_get(2).map_err(column)?,
        revision: to_u64(revision, position, "revision")?,
        event_type: row.try_get(4).map_err(column)?,
        schema_version: u32::try_from(schema_version)
            .map_err(|_| corrupt(format!("schema_version is {schema_version}")))?,
        data: row.try_get(6).map_err(column)?,
        metadata: row.try_get(7).map_err(column)?,
        client_tag: row.try_get(8).map_err(column)?,
        recorded_at: row.try_get(9).map_err(column)?,
        prev_hash: row.try_get(10).map_err(column)?,
        hash: row.try_get(11).map_err(column)?,
    })
}
