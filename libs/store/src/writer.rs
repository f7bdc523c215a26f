//! Group commit: one writer task per store takes every append queued while the previous commit was
//! syncing and commits them in one transaction (one fsync). Each append is checked on its own, so a
//! conflict fails only that append; each caller is answered only after the commit is durable.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use crate::error::StoreError;
use crate::first_keys::NewClientKey;
use crate::model::{AppendRequest, AppendResult, Position};
use crate::plan::BatchPlanner;
use crate::prepare::{Limits, PreparedAppend};
use crate::recent::RecentCommits;
use crate::row::StoredRow;

/// Most appends in one transaction.
const MAX_BATCH_APPENDS: usize = 256;
/// Most events in one transaction (a single large append may exceed it alone).
const MAX_BATCH_EVENTS: usize = 4096;
/// Scheduler turns the writer waits for more appends before committing what it has: microseconds,
/// never a timer, so a lone caller is not delayed.
const LINGER_TURNS: usize = 3;
/// Appends waiting for the writer before callers feel back-pressure.
const QUEUE_DEPTH: usize = 4096;

/// The outcome of a committed batch: one result per append, in order, the log head after it and
/// the rows it committed.
#[derive(Debug)]
pub(crate) struct BatchOutcome {
    pub results: Vec<Result<AppendResult, StoreError>>,
    pub head: Position,
    pub rows: Vec<StoredRow>,
}

/// One result per append and the planner that planned them (its rows committed, or none).
pub(crate) type PlannedBatch = (Vec<Result<AppendResult, StoreError>>, BatchPlanner);

impl BatchOutcome {
    /// The outcome of a batch planned by `planner` and committed (or of one whose every append
    /// was refused: no rows).
    pub fn planned((results, planner): PlannedBatch) -> Self {
        Self { results, head: Position(planner.last_position()), rows: planner.into_rows() }
    }
}

/// A backend's write path: plan and commit a batch in one transaction.
pub(crate) trait BatchWriter: Send + 'static {
    /// `Err` means the batch as a whole failed and nothing of it is known to be committed.
    fn write_batch(
        &mut self,
        batch: &[&PreparedAppend],
    ) -> impl Future<Output = Result<BatchOutcome, StoreError>> + Send;

    /// Whether the writer runs on a thread of its own rather than as a task of the caller's
    /// runtime: for a backend whose calls block.
    const OWN_THREAD: bool = false;

    /// Readies the backend where the writer runs, before its first batch (a connection made there
    /// is driven by that runtime): an error here fails the store's opening.
    fn start(&mut self) -> impl Future<Output = Result<(), StoreError>> + Send {
        async { Ok(()) }
    }
}

#[derive(Debug)]
struct Job {
    append: PreparedAppend,
    reply: oneshot::Sender<Result<AppendResult, StoreError>>,
}

/// The callers' side of the writer task.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer once `backend` has started; `heads` learns every new log head after its
    /// commit, and `recent` the rows committed up to it (before `heads` does).
    ///
    /// A backend whose calls block ([`BatchWriter::OWN_THREAD`]) gets a thread of its own, with
    /// a runtime of its own: no hand-off to a blocking thread per batch, and its next batch never
    /// waits its turn behind the handler, projector and tree-builder tasks the last commit woke.
    /// An asynchronous backend runs as a task: a lone caller's commit then needs no hand-off
    /// between threads. The thread ends when the last `Writer` is dropped.
    pub async fn start<W: BatchWriter>(
        mut backend: W,
        heads: Arc<watch::Sender<Position>>,
        recent: Arc<RecentCommits>,
    ) -> Result<Self, StoreError> {
        let (jobs, queue) = mpsc::channel(QUEUE_DEPTH);
        let published = Published { heads, recent };
        if !W::OWN_THREAD {
            backend.start().await?;
            tokio::spawn(run(backend, queue, published));
            return Ok(Self { jobs });
        }
        let (started, start) = oneshot::channel();
        let thread = std::thread::Builder::new().name("carelog-writer".into()).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(error) => {
                    let _ = started.send(Err(StoreError::Unavailable(format!("the writer's runtime: {error}"))));
                    return;
                }
            };
            runtime.block_on(async move {
                let ready = backend.start().await;
                let failed = ready.is_err();
                if started.send(ready).is_ok() && !failed {
                    run(backend, queue, published).await;
                }
            });
        });
        thread.map_err(|error| StoreError::Unavailable(format!("could not start the writer's thread: {error}")))?;
        start.await.map_err(|_| writer_gone())??;
        Ok(Self { jobs })
    }

    /// Validates `request` within `limits` and appends it, with the new client keys it carries
    /// (none but through [`crate::AppendWithKeys`]).
    pub async fn submit(
        &self,
        request: AppendRequest,
        limits: &Limits,
        keys: Vec<NewClientKey>,
    ) -> Result<AppendResult, StoreError> {
        self.append(PreparedAppend::new(request, limits)?.with_keys(keys)).await
    }

    pub async fn append(&self, append: PreparedAppend) -> Result<AppendResult, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job { append, reply }).await.map_err(|_| writer_gone())?;
        answer.await.map_err(|_| writer_gone())?
    }
}

fn writer_gone() -> StoreError {
    StoreError::Unavailable("the store's writer task has stopped".into())
}

/// Where a commit is announced to this process's subscribers.
struct Published {
    heads: Arc<watch::Sender<Position>>,
    recent: Arc<RecentCommits>,
}

impl Published {
    fn commit(&self, outcome: &BatchOutcome) {
        self.recent.record(&outcome.rows);
        self.heads.send_if_modified(|head| advance(head, outcome.head));
    }
}

async fn run<W: BatchWriter>(mut backend: W, mut queue: mpsc::Receiver<Job>, published: Published) {
    let mut carried: Option<Job> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match queue.recv().await {
                Some(job) => job,
                None => return,
            },
        };
        let mut events = first.append.events.len();
        let mut jobs = vec![first];
        // Callers answered by the last commit are about to send their next append: give them a few
        // scheduler turns to do so, so one fsync serves them all instead of a trickle of small batches.
        // (On the writer's own thread a turn is a few microseconds, and still needed: without
        // them, 8 callers on SQLite committed half as many appends a second.)
        let mut idle_turns = 0;
        while jobs.len() < MAX_BATCH_APPENDS && carried.is_none() && idle_turns < LINGER_TURNS {
            match queue.try_recv() {
                Ok(job) if events + job.append.events.len() > MAX_BATCH_EVENTS => carried = Some(job),
                Ok(job) => {
                    events += job.append.events.len();
                    jobs.push(job);
                    idle_turns = 0;
                }
                Err(_) => {
                    idle_turns += 1;
                    tokio::task::yield_now().await;
                }
            }
        }
        commit(&mut backend, jobs, &published).await;
    }
}

async fn commit<W: BatchWriter>(backend: &mut W, jobs: Vec<Job>, published: &Published) {
    let batch: Vec<&PreparedAppend> = jobs.iter().map(|j| &j.append).collect();
    match backend.write_batch(&batch).await {
        Ok(outcome) => {
            published.commit(&outcome);
            for (job, result) in jobs.into_iter().zip(outcome.results) {
                let _ = job.reply.send(result);
            }
        }
        Err(error) if jobs.len() > 1 => {
            // Isolate the failure: commit each append alone, so one bad append cannot sink the others.
            tracing::warn!(%error, appends = jobs.len(), "group commit failed; retrying its appends one by one");
            for job in jobs {
                let result = match backend.write_batch(&[&job.append]).await {
                    Ok(mut outcome) => {
                        published.commit(&outcome);
                        outcome.results.pop().unwrap_or_else(|| Err(writer_gone()))
                    }
                    Err(error) => Err(error),
                };
                let _ = job.reply.send(result);
            }
        }
        Err(error) => {
            if let Some(job) = jobs.into_iter().next() {
                let _ = job.reply.send(Err(error));
            }
        }
    }
}

fn advance(head: &mut Position, new: Position) -> bool {
    let moved = new > *head;
    if moved {
        *head = new;
    }
    moved
}
