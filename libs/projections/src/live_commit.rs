//! When a batch folded while following the live log is committed. Every commit costs the database
//! a transaction with a fixed price (the checkpoint row, the statement's planning, a WAL record
//! flushed by the next append), so under load the runner holds batches back and commits several
//! commands' changes together — except while a reader waits for its own write ([`ReadDemand`]):
//! then commits come as they did before holding (2 ms apart), so the reader never waits out a hold.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use carelog_store::RecordedEvent;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::fold::changes_documents;

/// How long a live batch that changes no document (only audit rows: the reads the access log
/// records) may wait for more events before it is committed. Every read of PHI appends such an
/// event, and committing each batch of them at once took the file's write lock as often as the
/// log did, doubling the wait of the reads' own access-log appends.
pub(crate) const AUDIT_ONLY_DELAY: Duration = Duration::from_millis(50);
/// Following live, batches that change documents are committed at most this often unless a
/// reader waits for them: under load each command would otherwise cost a transaction of its own
/// (a document load and a commit). At one caller a commit every 2 ms cost PostgreSQL 0.18 ms of
/// CPU per command; every 20 ms, a tenth of that (BENCHMARKS.md). This bounds how stale a read
/// that does not wait (`min_position` 0, or another process's) may be beyond the log's head.
pub(crate) const LIVE_COMMIT_INTERVAL: Duration = Duration::from_millis(20);
/// A held batch of this many events that changes documents is committed without waiting out the
/// hold (audit rows alone wait [`AUDIT_ONLY_DELAY`] whatever their number): the commit costs
/// enough by itself not to need company, and a larger one would keep a reader who arrives meanwhile
/// waiting for it (with 32 concurrent demos on SQLite, a 20 ms hold without this cap made their
/// reads of their own writes wait 30 % longer).
pub(crate) const LIVE_COMMIT_EVENTS: usize = 16;
/// What a reader waits for is committed this soon after the last commit, not sooner: under read
/// load every command has a reader waiting, and committing each at once would cost as many
/// transactions as commands and leave the projector behind (the seed's 32 concurrent demos waited
/// longer for their own writes than with commits every 2 ms).
pub(crate) const WANTED_COMMIT_SPACING: Duration = Duration::from_millis(2);

/// The log positions readers are waiting to see in the read models (`min_position`): the highest
/// one asked for. While a reader waits for a position beyond the committed checkpoint, the live
/// runner commits what it has folded [`WANTED_COMMIT_SPACING`] after its last commit rather than
/// holding it. (Not only once the batch reaches the highest position wanted: under load that one
/// is always ahead of the batch, and the readers of the positions before it would wait out the
/// whole hold.)
/// Readers in this process only: a reader in another process sees the batch within
/// [`LIVE_COMMIT_INTERVAL`] and its own checkpoint poll.
#[derive(Debug, Clone)]
pub struct ReadDemand(Arc<watch::Sender<u64>>);

impl Default for ReadDemand {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(0)))
    }
}

impl ReadDemand {
    /// A reader is about to wait until the read models have folded `position`.
    pub fn want(&self, position: u64) {
        self.0.send_if_modified(|wanted| {
            let higher = position > *wanted;
            if higher {
                *wanted = position;
            }
            higher
        });
    }

    fn watch(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

/// A batch held back: committed at `until`, or sooner when a reader wants a position beyond
/// `checkpoint`; it reaches `to`.
#[derive(Debug, Clone, Copy)]
struct Held {
    until: Instant,
    checkpoint: u64,
    to: u64,
}

/// The live runner's commit pacing: the batch it holds, when it last committed, what readers want.
#[derive(Debug)]
pub(crate) struct LiveCommits {
    held: Option<Held>,
    last_commit: Option<Instant>,
    interval: Duration,
    wanted: watch::Receiver<u64>,
}

impl LiveCommits {
    /// Pacing document commits `interval` apart (see [`LIVE_COMMIT_INTERVAL`]).
    pub fn new(demand: &ReadDemand, interval: Duration) -> Self {
        Self { held: None, last_commit: None, interval, wanted: demand.watch() }
    }

    /// The next subscription item; `None` when a held batch is due first (its time has come,
    /// sooner if a reader now wants what it holds).
    pub async fn next_or_due<F: Future>(&mut self, next: F) -> Option<F::Output> {
        tokio::pin!(next);
        loop {
            let Some(held) = self.held else { return Some(next.await) };
            tokio::select! {
                item = &mut next => return Some(item),
                () = tokio::time::sleep_until(held.until) => return None,
                Ok(()) = self.wanted.changed() => if *self.wanted.borrow_and_update() > held.checkpoint {
                    self.held = Some(Held { until: held.until.min(self.soonest()), ..held });
                },
            }
        }
    }

    /// The earliest a batch a reader waits for is committed.
    fn soonest(&self) -> Instant {
        self.last_commit.map_or_else(Instant::now, |at| at + WANTED_COMMIT_SPACING)
    }

    /// Whether the batch folded up to `to` (committed up to `checkpoint`) waits for more events;
    /// if so it is held.
    pub fn holds(&mut self, batch: &[RecordedEvent], checkpoint: u64, to: u64) -> bool {
        let wanted = *self.wanted.borrow_and_update();
        let now = Instant::now();
        let until = if wanted > checkpoint {
            let soonest = self.soonest();
            Some(self.held.map_or(soonest, |held| held.until.min(soonest)))
        } else if changes_documents(batch) {
            self.last_commit.filter(|_| batch.len() < LIVE_COMMIT_EVENTS).map(|at| at + self.interval)
        } else {
            Some(self.held.map_or(now + AUDIT_ONLY_DELAY, |held| held.until))
        };
        self.held = until.filter(|until| now < *until).map(|until| Held { until, checkpoint, to });
        self.held.is_some()
    }

    /// Ends the hold (the batch is about to be committed) and returns how far it reached.
    pub fn release(&mut self) -> Option<u64> {
        self.held.take().map(|held| held.to)
    }

    pub fn committed(&mut self) {
        self.last_commit = Some(Instant::now());
    }
}
