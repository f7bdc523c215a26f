//! The projection runner: follows the log and folds it into the read models, committing each batch
//! with its checkpoint in one transaction. A crash mid-batch rolls the batch back and the runner
//! resumes from the last committed checkpoint: no event is lost or applied twice.
//!
//! Following the live log, each small batch is folded and committed before the next is read.
//! Catching up ([`catch_up`](crate::catch_up)), reading, folding and committing overlap, and the
//! documents stay in memory from one commit to the next.

use std::sync::Arc;
use std::time::{Duration, Instant};

use carelog_store::{Database, EventStore, LogFilter, Position, RecordedEvent, SubscriptionItem};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::sync::watch;
use tracing::Instrument;

use crate::fold::{Taken, Views, erased_clients};
use crate::live_commit::{LIVE_COMMIT_INTERVAL, LiveCommits, ReadDemand};
use crate::persist::{BatchWrite, DocKind, Generation, ReadModels};
use crate::{ProjectionError, catch_up, metrics};

/// The projection that keeps the episode views, ledgers and audit trail.
pub const RECORDS: &str = "records";

/// Most events folded per transaction while following the live log (short transactions, low lag).
const LIVE_BATCH: usize = 500;
/// How a catch-up reads, folds and commits the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pace {
    /// Positions read per page; the documents a page touches are loaded (one query per kind)
    /// before it is folded.
    pub batch: usize,
    /// Events folded in memory before they are committed with every document they changed.
    pub commit_every: usize,
    /// JSON bytes of documents kept in memory after a commit, for the pages that follow.
    pub hold_bytes: usize,
}

/// Catching up, a document is loaded once, folded in memory across pages and serialised once per
/// commit. A commit every 20,000 events bounds what a crash loses (the next run resumes from the
/// checkpoint) and what the documents changed since the last commit weigh in memory, and keeps
/// the last commit, which nothing overlaps, short. Up to 64 MiB (as JSON) of unchanged documents
/// stay in memory for the commits after.
const CATCH_UP: Pace = Pace { batch: 2_000, commit_every: 20_000, hold_bytes: 64 << 20 };

/// Progress of a catch-up or rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub checkpoint: u64,
    pub head: u64,
    pub applied: u64,
}

#[derive(Debug, Clone)]
pub struct Runner {
    store: Arc<dyn EventStore>,
    models: ReadModels,
    catch_up_pace: Pace,
    /// Following live, document changes are committed at most this often unless a reader waits.
    live_commit_interval: Duration,
    demand: ReadDemand,
}

impl Runner {
    /// A runner folding `store`'s events into the read models kept in `database` (the handle the
    /// store was opened with; see `carelog_store::open`).
    pub async fn new(store: Arc<dyn EventStore>, database: Database) -> Result<Self, ProjectionError> {
        let models = ReadModels::open(database).await?;
        Ok(Self {
            store,
            models,
            catch_up_pace: CATCH_UP,
            live_commit_interval: LIVE_COMMIT_INTERVAL,
            demand: ReadDemand::default(),
        })
    }

    /// The same runner catching up at another pace (tests of commits and eviction).
    #[cfg(test)]
    pub(crate) fn with_catch_up_pace(self, catch_up_pace: Pace) -> Self {
        Self { catch_up_pace, ..self }
    }

    /// The same runner committing live document changes at most every `live_commit_interval`
    /// unless a reader waits for them ([`ReadDemand`]).
    pub fn with_live_commit_interval(self, live_commit_interval: Duration) -> Self {
        Self { live_commit_interval, ..self }
    }

    /// The same runner indexing clients for search under `key` (see [`crate::search`]).
    pub fn with_search_key(self, key: Option<crate::search::SearchKey>) -> Self {
        Self { models: self.models.with_search_key(key), ..self }
    }

    pub fn models(&self) -> &ReadModels {
        &self.models
    }

    /// Where readers of this runner's read models say which position they wait for: following
    /// live, it then commits as often as before holding (2 ms apart) instead of holding batches.
    pub fn demand(&self) -> &ReadDemand {
        &self.demand
    }

    /// Keeps the live generation up to date until `stop` flips to true. `checkpoints` learns every
    /// committed checkpoint (for lag metrics and for readers that wait for their own writes).
    pub async fn run_live(
        &self,
        mut stop: watch::Receiver<bool>,
        checkpoints: watch::Sender<u64>,
    ) -> Result<(), ProjectionError> {
        loop {
            let generation = self.models.live(RECORDS).await?;
            checkpoints.send_replace(generation.checkpoint);
            let followed = self.follow(generation, None, |p| {
                checkpoints.send_replace(p.checkpoint);
            });
            tokio::select! {
                _ = stop.wait_for(|stopped| *stopped) => return Ok(()),
                outcome = followed => match outcome {
                    Err(ProjectionError::StaleCheckpoint { .. }) => continue,
                    Err(error) => return Err(error),
                    Ok(_) => continue,
                },
            }
        }
    }

    /// Folds everything up to the current head into `generation`, reporting progress after each
    /// commit, and returns how many events it applied and how long it took.
    pub async fn catch_up(
        &self,
        generation: Generation,
        progress: impl FnMut(Progress),
    ) -> Result<(u64, std::time::Duration), ProjectionError> {
        let started = Instant::now();
        let head = self.store.head_position().await?.0;
        let store = Arc::clone(&self.store);
        let applied = catch_up::run(store, &self.models, generation, head, self.catch_up_pace, progress).await?;
        Ok((applied, started.elapsed()))
    }

    /// Folds the live generation up to at least `position` and returns its checkpoint. Another
    /// runner (a server's projector) may be folding the same generation: whichever commits a batch
    /// first wins it and the other resumes after it, so this is safe beside a running server.
    pub async fn catch_up_live_to(&self, position: u64) -> Result<u64, ProjectionError> {
        loop {
            let generation = self.models.live(RECORDS).await?;
            if generation.checkpoint >= position {
                return Ok(generation.checkpoint);
            }
            match self.follow(generation, Some(position), |_| {}).await {
                Ok(_) | Err(ProjectionError::StaleCheckpoint { .. }) => continue,
                Err(error) => return Err(error),
            }
        }
    }

    /// Rebuilds the read models from position 0 into a new generation while the live one keeps
    /// serving, then swaps it in.
    pub async fn rebuild(
        &self,
        mut progress: impl FnMut(Progress),
    ) -> Result<(u64, std::time::Duration), ProjectionError> {
        let started = Instant::now();
        let generation = self.models.start_rebuild(RECORDS).await?;
        let (applied, _) = self.catch_up(generation, &mut progress).await?;
        // Events committed during the rebuild: one more pass, then swap.
        let checkpoint = self.models.checkpoint(generation.id).await?;
        let (more, _) = self.catch_up(Generation { id: generation.id, checkpoint }, &mut progress).await?;
        self.models.swap(RECORDS, generation.id).await?;
        let took = started.elapsed();
        self.models.purge_retired(RECORDS).await?;
        Ok((applied + more, took))
    }

    /// Follows the live log from the generation's checkpoint; with `until`, returns once it is
    /// reached. Each batch is loaded, folded and committed before the next is read, and nothing
    /// is held between batches.
    async fn follow(
        &self,
        generation: Generation,
        until: Option<u64>,
        mut progress: impl FnMut(Progress),
    ) -> Result<u64, ProjectionError> {
        let mut checkpoint = generation.checkpoint;
        if until.is_some_and(|target| checkpoint >= target) {
            return Ok(0);
        }
        let mut subscription = self.store.subscribe(Position(checkpoint), LogFilter::all());
        let _active = metrics::ActiveSubscription::start(RECORDS);
        let (mut batch, mut applied) = (Vec::new(), 0);
        let mut live = LiveCommits::new(&self.demand, self.live_commit_interval);
        loop {
            let next = live.next_or_due(subscription.next()).await;
            let (waited, mut known_head) = (next.is_none(), until);
            let to = match next {
                // The held batch is due: commit what arrived (events may have come after the last catch-up).
                None => {
                    let last = batch.last().map_or(checkpoint, |e: &RecordedEvent| e.position.0);
                    live.release().map_or(last, |to| to.max(last))
                }
                Some(None) => break,
                Some(Some(item)) => match item? {
                    SubscriptionItem::Event(event) => {
                        let position = event.position.0;
                        batch.push(*event);
                        if batch.len() < LIVE_BATCH && until.is_none_or(|target| position < target) {
                            continue;
                        }
                        position
                    }
                    SubscriptionItem::CaughtUp(position) => {
                        known_head = Some(position.0);
                        position.0
                    }
                },
            };
            let open = !waited && until.is_none() && batch.len() < LIVE_BATCH;
            if open && to > checkpoint && live.holds(&batch, checkpoint, to) {
                continue;
            }
            live.release();
            if to > checkpoint {
                let mut views = Views::new();
                load_and_fold(&self.models, &mut views, generation.id, &batch).await?;
                let last_recorded = batch.last().map(|e| e.recorded_at);
                commit(&self.models, generation.id, (checkpoint, to), views.take()?, last_recorded).await?;
                live.committed();
                (checkpoint, applied) = (to, applied + batch.len() as u64);
                batch.clear();
                // A full batch while following live means the runner is behind by an unknown
                // amount: one head query per full batch (not per event) measures it.
                let head = match known_head {
                    Some(head) => head,
                    None => self.store.head_position().await?.0,
                };
                metrics::lag_events(RECORDS, head, checkpoint);
                progress(Progress { checkpoint, head: until.unwrap_or(to), applied });
            }
            if until.is_some_and(|target| checkpoint >= target) {
                return Ok(applied);
            }
        }
        Ok(applied)
    }
}

/// Loads the stored documents `events` touch that `views` do not hold, then folds the events.
pub(crate) async fn load_and_fold(
    models: &ReadModels,
    views: &mut Views,
    generation: i64,
    events: &[RecordedEvent],
) -> Result<(), ProjectionError> {
    for (kind, keys) in views.missing(events) {
        for stored in models.load(generation, kind, &keys).await? {
            views.hold(kind, stored)?;
        }
    }
    // An erasure also scrubs the client's ledgers, which only the stored owners name.
    for client in erased_clients(events) {
        for stored in models.load_owned(generation, DocKind::Ledger, &client).await? {
            views.hold(DocKind::Ledger, stored)?;
        }
    }
    views.fold(events)
}

/// Writes what the events from `from` (exclusive) to `to` changed, moving the checkpoint.
pub(crate) async fn commit(
    models: &ReadModels,
    generation: i64,
    (from, to): (u64, u64),
    taken: Taken,
    last_recorded: Option<DateTime<Utc>>,
) -> Result<(), ProjectionError> {
    let span = tracing::info_span!(
        "projection.batch",
        projection = RECORDS,
        generation,
        // As i64: the OpenTelemetry layer records u64 fields as strings.
        from = from as i64,
        to = to as i64,
        event_count = taken.audit.len() as i64,
        doc_count = taken.docs.len() as i64
    );
    let Taken { docs, audit, erased, quarantined, search } = taken;
    if !quarantined.is_empty() {
        // Every other document folded on; the operator has something to fix (see `quarantine`).
        for q in &quarantined {
            tracing::error!(
                projection = RECORDS, generation, position = q.position as i64, target = q.target.as_str(),
                stream = %q.stream, event_type = %q.event_type, error = %q.error,
                "event quarantined: its client's view is incomplete until a fixed build rebuilds"
            );
        }
        metrics::quarantined(RECORDS, quarantined.len() as u64);
    }
    let search = models.search_entries(search);
    let batch = BatchWrite { generation, from, to, docs, audit, erased, quarantined, search };
    models.commit(batch).instrument(span).await?;
    metrics::batch_committed(RECORDS, last_recorded);
    Ok(())
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
