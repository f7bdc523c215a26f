//! Rows copied out of the database's buffers into a page: one text buffer and one byte buffer for
//! all its rows instead of an allocation per column, so a reading thread can hand rows to a
//! checking thread for the price of a copy.

use std::ops::Range;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::model::Position;
use crate::row::RowRef;

#[derive(Debug, Default)]
pub(crate) struct RowPage {
    text: String,
    bytes: Vec<u8>,
    rows: Vec<Result<Slots, (Position, String)>>,
}

/// Where one row's columns lie in its page.
#[derive(Debug)]
struct Slots {
    position: u64,
    event_id: Uuid,
    revision: u64,
    schema_version: u32,
    recorded_at: DateTime<Utc>,
    stream: Range<usize>,
    event_type: Range<usize>,
    data: Range<usize>,
    metadata: Range<usize>,
    client_tag: Option<Range<usize>>,
    prev_hash: Range<usize>,
    hash: Range<usize>,
}

impl RowPage {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Empties the page, keeping its buffers for the next rows.
    pub fn clear(&mut self) {
        self.text.clear();
        self.bytes.clear();
        self.rows.clear();
    }

    pub fn push(&mut self, row: RowRef<'_>) {
        let mut text = |value: &str| {
            let start = self.text.len();
            self.text.push_str(value);
            start..self.text.len()
        };
        let (stream, event_type, data, metadata) =
            (text(row.stream), text(row.event_type), text(row.data), text(row.metadata));
        let client_tag = row.client_tag.map(text);
        let mut bytes = |value: &[u8]| {
            let start = self.bytes.len();
            self.bytes.extend_from_slice(value);
            start..self.bytes.len()
        };
        let (prev_hash, hash) = (bytes(row.prev_hash), bytes(row.hash));
        self.rows.push(Ok(Slots {
            position: row.position,
            event_id: row.event_id,
            revision: row.revision,
            schema_version: row.schema_version,
            recorded_at: row.recorded_at,
            stream,
            event_type,
            data,
            metadata,
            client_tag,
            prev_hash,
            hash,
        }));
    }

    /// A row that could not be read, kept in its place in the order.
    pub fn push_unreadable(&mut self, position: Position, reason: String) {
        self.rows.push(Err((position, reason)));
    }

    /// The rows in the order they were pushed.
    pub fn rows(&self) -> impl Iterator<Item = Result<RowRef<'_>, (Position, &str)>> {
        self.rows.iter().map(|row| match row {
            Ok(slots) => Ok(self.row(slots)),
            Err((position, reason)) => Err((*position, reason.as_str())),
        })
    }

    fn row(&self, slots: &Slots) -> RowRef<'_> {
        let text = |range: &Range<usize>| &self.text[range.clone()];
        RowRef {
            position: slots.position,
            event_id: slots.event_id,
            stream: text(&slots.stream),
            revision: slots.revision,
            event_type: text(&slots.event_type),
            schema_version: slots.schema_version,
            data: text(&slots.data),
            metadata: text(&slots.metadata),
            client_tag: slots.client_tag.as_ref().map(text),
            recorded_at: slots.recorded_at,
            prev_hash: &self.bytes[slots.prev_hash.clone()],
            hash: &self.bytes[slots.hash.clone()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_as_pushed_and_a_cleared_page_starts_empty() {
        let row = |position: u64, client_tag: Option<&'static str>| RowRef {
            position,
            event_id: Uuid::from_u128(position.into()),
            stream: "client-1",
            revision: position - 1,
            event_type: "Noted",
            schema_version: 1,
            data: "{\"note\":\"Zoë 💬\"}",
            metadata: "{}",
            client_tag,
            recorded_at: DateTime::from_timestamp_micros(1_700_000_000_000_000).expect("valid time"),
            prev_hash: &[1; 32],
            hash: &[2; 32],
        };
        let mut page = RowPage::default();
        page.push(row(1, Some("client-1")));
        page.push_unreadable(Position(2), "revision is -1".into());
        page.push(row(3, None));
        let back: Vec<_> = page.rows().collect();
        assert_eq!(back.len(), 3);
        let first = back[0].as_ref().expect("readable");
        assert_eq!((first.data, first.client_tag, first.hash), (row(1, None).data, Some("client-1"), &[2u8; 32][..]));
        assert_eq!(back[1].as_ref().err(), Some(&(Position(2), "revision is -1")));
        assert_eq!(back[2].as_ref().expect("readable").compute_hash(&[1; 32]), row(3, None).compute_hash(&[1; 32]));
        page.clear();
        assert_eq!((page.len(), page.rows().count()), (0, 0));
    }
}
