//! Subscriptions: catch up from a checkpoint, then follow new commits. Positions are dense and in
//! commit order on every backend, so "everything after my checkpoint" never skips a late commit.

use std::collections::VecDeque;
use std::time::Duration;

use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::watch;

use crate::EventStore;
use crate::error::StoreError;
use crate::model::{LogFilter, LogQuery, Position, RecordedEvent, SubscriptionItem};
use crate::recent::RecentCommits;

/// Events fetched per read while catching up.
const PAGE: usize = 512;

/// A live, resumable feed of the log; ends only when the consumer drops it or after an error.
pub type EventSubscription = BoxStream<'static, Result<SubscriptionItem, StoreError>>;

struct Follower<S> {
    store: S,
    filter: LogFilter,
    /// Every matching event up to here has been yielded (or buffered to be).
    scanned: Position,
    buffer: VecDeque<RecordedEvent>,
    announced_caught_up: bool,
    wake: watch::Receiver<Position>,
    /// This process's latest commits, read instead of the database when they cover a fetch of
    /// positions past `live_from`.
    recent: Arc<RecentCommits>,
    /// The head this process knew when the subscription started: what was committed before is read
    /// from the database (it may have been changed there since, and a verifier must see that),
    /// only what this subscriber saw being committed from memory.
    live_from: Position,
    poll: Duration,
    /// The next look for a head asks the database (not only what `wake` was told).
    ask_database: bool,
    failed: bool,
}

/// Follows `store` from `after` (exclusive). `wake` signals local commits, whose rows `recent`
/// holds; `poll` bounds the wait for commits by other processes. Waiting never skips: it only
/// decides when to look again.
pub(crate) fn follow<S: EventStore + Clone + 'static>(
    store: S,
    after: Position,
    filter: LogFilter,
    (wake, recent): (watch::Receiver<Position>, Arc<RecentCommits>),
    poll: Duration,
) -> EventSubscription {
    let live_from = *wake.borrow();
    let follower = Follower {
        store,
        filter,
        scanned: after,
        buffer: VecDeque::new(),
        announced_caught_up: false,
        live_from,
        wake,
        recent,
        poll,
        ask_database: true,
        failed: false,
    };
    stream::unfold(follower, |mut f| async move {
        if f.failed {
            return None;
        }
        let item = f.next_item().await;
        f.failed = item.is_err();
        Some((item, f))
    })
    .boxed()
}

impl<S: EventStore> Follower<S> {
    async fn next_item(&mut self) -> Result<SubscriptionItem, StoreError> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                return Ok(SubscriptionItem::Event(Box::new(event)));
            }
            // A head this process was told of (its own commit, or another's notification) is
            // committed: no need to ask the database. It is asked at the start and after a wait
            // that ran out, for commits nobody told of.
            let told = *self.wake.borrow();
            let head = if told > self.scanned {
                told
            } else if std::mem::take(&mut self.ask_database) {
                self.store.head_position().await?
            } else {
                self.scanned
            };
            if head > self.scanned {
                self.fetch_up_to(head).await?;
                self.announced_caught_up = false;
                continue;
            }
            if !self.announced_caught_up {
                self.announced_caught_up = true;
                return Ok(SubscriptionItem::CaughtUp(self.scanned));
            }
            self.wait_for_commit().await;
        }
    }

    async fn fetch_up_to(&mut self, head: Position) -> Result<(), StoreError> {
        let query = LogQuery { from: self.scanned.next(), up_to: Some(head), filter: self.filter.clone(), limit: PAGE };
        let held = if query.from > self.live_from { self.recent.read(&query) } else { None };
        let events = match held {
            Some(held) => held?,
            None => self.store.read_all(&query).await?,
        };
        // A short page means the whole range up to `head` was scanned; a full one ends at its last event.
        self.scanned = match events.last() {
            Some(last) if events.len() == PAGE => last.position,
            _ => head,
        };
        self.buffer.extend(events);
        Ok(())
    }

    async fn wait_for_commit(&mut self) {
        let scanned = self.scanned;
        let local_commit = self.wake.wait_for(|head| *head > scanned);
        let waited = tokio::time::timeout(self.poll, local_commit).await.map(|told| told.is_ok());
        if waited == Ok(false) {
            // The writer is gone: keep polling for other processes' commits.
            tokio::time::sleep(self.poll).await;
        }
        self.ask_database = waited != Ok(true);
    }
}
