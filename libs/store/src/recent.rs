//! The rows this process's writer committed last, kept so that its own subscribers (the projector,
//! the Merkle builder) take them from memory instead of reading each commit back from the database:
//! a read per subscriber per commit, which under light load is a query per command each.
//!
//! Only committed rows are recorded (after the commit returned), and always before the log head is
//! published, so a subscriber told of a head finds everything up to it here or in the database.
//! The rows held are one contiguous run of positions: a commit that does not follow the last one
//! (another process wrote in between) starts a new run, and a range not wholly held is read from
//! the database as before.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::error::StoreError;
use crate::model::{LogQuery, RecordedEvent, category_of};
use crate::row::StoredRow;

/// Rows held: a few group commits' worth, for subscribers a little behind (a few MiB at most).
const HELD_ROWS: usize = 2048;

#[derive(Debug, Default)]
pub(crate) struct RecentCommits {
    rows: Mutex<VecDeque<StoredRow>>,
}

impl RecentCommits {
    /// Records the rows of a commit, in position order.
    pub fn record(&self, committed: &[StoredRow]) {
        let Some(first) = committed.first() else { return };
        let mut rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        if rows.back().is_some_and(|last| last.position + 1 != first.position) {
            rows.clear();
        }
        let keep = committed.len().min(HELD_ROWS);
        rows.extend(committed[committed.len() - keep..].iter().cloned());
        let excess = rows.len().saturating_sub(HELD_ROWS);
        rows.drain(..excess);
    }

    /// What `read_all(query)` would answer, if every position it covers is held; `None` otherwise.
    pub fn read(&self, query: &LogQuery) -> Option<Result<Vec<RecordedEvent>, StoreError>> {
        let up_to = query.up_to?.0;
        let from = query.from.0.max(1);
        let matching: Vec<StoredRow> = {
            let rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
            let (first, last) = (rows.front()?.position, rows.back()?.position);
            if from < first || up_to > last || from > up_to {
                return None;
            }
            let skip = usize::try_from(from - first).ok()?;
            let filter = &query.filter;
            rows.iter()
                .skip(skip)
                .take_while(|row| row.position <= up_to)
                .filter(|row| {
                    (filter.categories.is_empty() || filter.categories.iter().any(|c| c == category_of(&row.stream)))
                        && (filter.event_types.is_empty() || filter.event_types.contains(&row.event_type))
                })
                .take(query.limit)
                .cloned()
                .collect()
        };
        Some(matching.into_iter().map(StoredRow::into_recorded).collect())
    }
}

#[cfg(test)]
#[path = "recent_tests.rs"]
mod tests;
