//! `verify` on SQLite: one snapshot of the log, read on one thread and checked on another.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use rusqlite::Connection;

use super::{LOG_UP_TO, STREAM, row_ref, store_error};
use crate::error::StoreError;
use crate::model::Position;
use crate::row::{to_i64, to_u64};
use crate::row_page::RowPage;
use crate::verify::{ChainVerifier, VERIFY_PAGE, VerifyProgress, VerifyReport, VerifyScope};

const HEAD: &str = "SELECT position FROM log_head WHERE id = 1";

/// Feeds every row in scope to a verifier; `update` returns false to stop early.
///
/// Two stages over the two cores: this thread steps SQLite and copies rows into pages, a second
/// one hashes and checks them in the same order. (Checking in place on one thread reached about
/// two thirds of the rate.)
pub(super) fn walk(
    conn: &mut Connection,
    scope: &VerifyScope,
    update: &mut (dyn FnMut(VerifyProgress) -> bool + Send),
) -> Result<VerifyReport, StoreError> {
    // Rows committed after this snapshot began are left for the next verification.
    let snapshot = conn.transaction().map_err(store_error)?;
    let head = match scope {
        VerifyScope::All => {
            let head: i64 = snapshot.query_row(HEAD, [], |row| row.get(0)).map_err(store_error)?;
            Some(to_u64(head, head, "log_head.position")?)
        }
        VerifyScope::Streams(_) => None,
    };
    let mut verifier = ChainVerifier::new(head.is_some());
    let (full, pages) = sync_channel(2);
    let (spare, spares) = sync_channel(4);
    let read = std::thread::scope(|threads| {
        let checker = threads.spawn(|| check_pages(&mut verifier, pages, spare, Position(head.unwrap_or(0)), update));
        let mut pager = Pager { page: RowPage::default(), full, spares };
        let read = match scope {
            VerifyScope::All => {
                let mut statement = snapshot.prepare(LOG_UP_TO).map_err(store_error)?;
                pager.fill(statement.query([head.map_or(0, to_i64)]).map_err(store_error)?)
            }
            VerifyScope::Streams(streams) => {
                let mut statement = snapshot.prepare(STREAM).map_err(store_error)?;
                streams.iter().try_for_each(|stream| pager.fill(statement.query([stream]).map_err(store_error)?))
            }
        }
        .and_then(|()| pager.flush());
        // Hanging up ends the checker's loop.
        drop(pager);
        checker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        read
    });
    match read {
        Ok(()) | Err(Stopped::Early) => Ok(verifier.finish(head)),
        Err(Stopped::Failed(error)) => Err(error),
    }
}

/// Rows per page handed from the reading thread to the checking one (about 1 MB).
const PIPELINE_PAGE: usize = 1024;

/// Why reading stopped before the last row.
enum Stopped {
    /// The checker hung up: the caller stopped listening.
    Early,
    Failed(StoreError),
}

impl From<StoreError> for Stopped {
    fn from(error: StoreError) -> Self {
        Stopped::Failed(error)
    }
}

/// The reading stage: fills pages and sends each full one to the checker.
struct Pager {
    page: RowPage,
    full: SyncSender<RowPage>,
    /// Pages the checker is done with, to reuse their buffers.
    spares: Receiver<RowPage>,
}

impl Pager {
    fn fill(&mut self, mut rows: rusqlite::Rows<'_>) -> Result<(), Stopped> {
        while let Some(row) = rows.next().map_err(store_error)? {
            match row_ref(row) {
                Ok(row) => self.page.push(row),
                Err(error @ StoreError::Corrupt { position, .. }) => {
                    self.page.push_unreadable(position, error.to_string())
                }
                Err(other) => return Err(other.into()),
            }
            if self.page.len() == PIPELINE_PAGE {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Stopped> {
        let next = self.spares.try_recv().unwrap_or_default();
        self.full.send(std::mem::replace(&mut self.page, next)).map_err(|_| Stopped::Early)
    }
}

/// The checking stage: checks pages in order until the reader hangs up (or `update` says stop).
fn check_pages(
    verifier: &mut ChainVerifier,
    pages: Receiver<RowPage>,
    spare: SyncSender<RowPage>,
    head: Position,
    update: &mut (dyn FnMut(VerifyProgress) -> bool + Send),
) {
    let mut reported = 0;
    for mut page in pages {
        for row in page.rows() {
            match row {
                Ok(row) => verifier.check(row),
                Err((position, reason)) => verifier.unreadable(position, reason.to_owned()),
            }
        }
        page.clear();
        // Full when the reader has enough spares: then the page is simply dropped.
        let _ = spare.try_send(page);
        if verifier.checked() - reported >= VERIFY_PAGE as u64 {
            reported = verifier.checked();
            if !update(VerifyProgress { checked: reported, head }) {
                return;
            }
        }
    }
    update(VerifyProgress { checked: verifier.checked(), head });
}
