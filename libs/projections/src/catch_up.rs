//! Catching up a generation (a rebuild, a new or resumed one) in three stages that overlap on the
//! cores: a reading task fetches the log in pages, two at a time; a folding task loads what the
//! pages touch and folds them into documents held in memory; the caller commits each window of
//! events with its checkpoint.
//!
//! Commits stay in the caller's task, so dropping it (a crash, an abort) drops the transaction in
//! flight as a single-task runner would. The spawned stages only read, and end with the caller.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use carelog_store::{EventStore, LogFilter, LogQuery, Position, RecordedEvent, StoreError};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::sync::{mpsc, watch};

use crate::fold::{Taken, Views};
use crate::persist::{Generation, ReadModels};
use crate::runner::{Pace, Progress, RECORDS, commit, load_and_fold};
use crate::{ProjectionError, metrics};

/// Pages read at once: one is fetched while the other is decoded and opened.
const PAGES_IN_FLIGHT: usize = 2;

/// Events of the log up to `to` (all of them after the previous page's `to`).
struct Page {
    to: u64,
    events: Vec<RecordedEvent>,
}

/// What one commit writes: the folded events up to `to`.
struct Window {
    to: u64,
    taken: Taken,
    last_recorded: Option<DateTime<Utc>>,
}

/// Folds the log from the generation's checkpoint up to `until` into it; returns how many events
/// it applied.
pub(crate) async fn run(
    store: Arc<dyn EventStore>,
    models: &ReadModels,
    generation: Generation,
    until: u64,
    pace: Pace,
    mut progress: impl FnMut(Progress),
) -> Result<u64, ProjectionError> {
    let mut checkpoint = generation.checkpoint;
    if checkpoint >= until {
        return Ok(0);
    }
    let _active = metrics::ActiveSubscription::start(RECORDS);
    let (pages_tx, pages) = mpsc::channel(PAGES_IN_FLIGHT);
    let _reading = Task::spawn(read(store, checkpoint, until, pace.batch, pages_tx));
    let (windows_tx, mut windows) = mpsc::channel(1);
    let (committed, committed_rx) = watch::channel(checkpoint);
    let folding = Folding { models: models.clone(), generation, until, pace };
    let _folding = Task::spawn(folding.run(pages, windows_tx, committed_rx));
    let mut applied = 0;
    while let Some(window) = windows.recv().await {
        let Window { to, taken, last_recorded } = window?;
        let events = taken.audit.len() as u64;
        commit(models, generation.id, (checkpoint, to), taken, last_recorded).await?;
        (checkpoint, applied) = (to, applied + events);
        committed.send_replace(checkpoint);
        metrics::lag_events(RECORDS, until, checkpoint);
        progress(Progress { checkpoint, head: until, applied });
    }
    if checkpoint < until {
        return Err(ProjectionError::Database(format!("catching up stopped at {checkpoint} short of {until}")));
    }
    Ok(applied)
}

/// Reads positions `after + 1 ..= until` in pages of `page` positions (dense positions make
/// every page but the last full), in order. Each page is read by a task of its own, so two
/// pages are decoded and opened on two threads.
async fn read(
    store: Arc<dyn EventStore>,
    after: u64,
    until: u64,
    page: usize,
    pages: mpsc::Sender<Result<Page, StoreError>>,
) {
    let reads = (after..until).step_by(page.max(1)).map(move |start| {
        let (store, to) = (Arc::clone(&store), until.min(start + page as u64));
        let query =
            LogQuery { from: Position(start + 1), up_to: Some(Position(to)), filter: LogFilter::all(), limit: page };
        Task::spawn(async move { store.read_all(&query).await.map(|events| Page { to, events }) })
    });
    let mut reads = futures::stream::iter(reads).buffered(PAGES_IN_FLIGHT);
    while let Some(read) = reads.next().await {
        // A page read only fails to join by panicking (the stage is aborted by dropping it).
        let page = read.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        let failed = page.is_err();
        if pages.send(page).await.is_err() || failed {
            return;
        }
    }
}

/// The folding stage.
struct Folding {
    models: ReadModels,
    generation: Generation,
    until: u64,
    pace: Pace,
}

impl Folding {
    async fn run(
        self,
        pages: mpsc::Receiver<Result<Page, StoreError>>,
        windows: mpsc::Sender<Result<Window, ProjectionError>>,
        committed: watch::Receiver<u64>,
    ) {
        if let Err(error) = self.fold(pages, &windows, committed).await {
            let _ = windows.send(Err(error)).await;
        }
    }

    /// Folds page after page and hands a window over every `pace.commit_every` events and at
    /// `until`. Documents are dropped from memory only once the commit that wrote them is done:
    /// until then a load would read an older copy.
    async fn fold(
        &self,
        mut pages: mpsc::Receiver<Result<Page, StoreError>>,
        windows: &mpsc::Sender<Result<Window, ProjectionError>>,
        mut committed: watch::Receiver<u64>,
    ) -> Result<(), ProjectionError> {
        // Positions from 0: nothing is stored yet, so only what is dropped from memory is loaded back.
        let mut views = if self.generation.checkpoint == 0 { Views::for_empty_generation() } else { Views::new() };
        let (mut handed_over, mut last_recorded) = (None, None);
        while let Some(page) = pages.recv().await {
            let Page { to, events } = page?;
            load_and_fold(&self.models, &mut views, self.generation.id, &events).await?;
            last_recorded = events.last().map(|e| e.recorded_at).or(last_recorded);
            drop(events);
            if views.pending() < self.pace.commit_every && to < self.until {
                continue;
            }
            if let Some(previous) = handed_over
                && committed.wait_for(|checkpoint| *checkpoint >= previous).await.is_err()
            {
                return Ok(()); // The committer is gone: so is the catch-up.
            }
            views.shrink_to(self.pace.hold_bytes);
            let window = Window { to, taken: views.take()?, last_recorded };
            if windows.send(Ok(window)).await.is_err() || to >= self.until {
                return Ok(());
            }
            handed_over = Some(to);
        }
        Ok(())
    }
}

/// A spawned task, aborted when dropped: a stage or a page read ends with the catch-up that
/// started it.
struct Task<T>(tokio::task::JoinHandle<T>);

impl<T: Send + 'static> Task<T> {
    fn spawn(future: impl Future<Output = T> + Send + 'static) -> Self {
        Self(tokio::spawn(future))
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
