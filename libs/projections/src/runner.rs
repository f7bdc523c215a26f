//! The projection runner: follows the log and folds it into the read models, committing each batch
//! with its checkpoint in one transaction. A crash mid-batch rolls the batch back and the runner
//! resumes from the last committed checkpoint: no event is lost or applied twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use carelog_store::{EventStore, EventSubscription, LogFilter, Position, RecordedEvent, StoreError, SubscriptionItem};
use futures::StreamExt;
use tokio::sync::watch;
use tracing::Instrument;

use crate::ProjectionError;
use crate::fold::{Owned, erased_clients, fold, touched};
use crate::metrics;
use crate::persist::{BatchWrite, DocKind, Generation, ReadModels};

/// The projection that keeps the episode views, ledgers and audit trail.
pub const RECORDS: &str = "records";

/// Most events folded per transaction while following the live log (short transactions, low lag).
const LIVE_BATCH: usize = 500;
/// Most events folded per transaction while catching up: each touched document is rewritten once
/// per batch, so larger batches rewrite the busiest documents far less often.
const CATCH_UP_BATCH: usize = 10_000;

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
}

impl Runner {
    pub async fn new(store: Arc<dyn EventStore>) -> Result<Self, ProjectionError> {
        let models = ReadModels::open(store.database()).await?;
        Ok(Self { store, models })
    }

    pub fn models(&self) -> &ReadModels {
        &self.models
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
            let followed = self.follow(generation, None, LIVE_BATCH, |p| {
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

    /// Folds everything up to the current head into `generation`, reporting progress, and returns
    /// how many events it applied and how long it took.
    pub async fn catch_up(
        &self,
        generation: Generation,
        progress: impl FnMut(Progress),
    ) -> Result<(u64, std::time::Duration), ProjectionError> {
        let started = Instant::now();
        let head = self.store.head_position().await?.0;
        let applied = self.follow(generation, Some(head), CATCH_UP_BATCH, progress).await?;
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
            match self.follow(generation, Some(position), LIVE_BATCH, |_| {}).await {
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

    /// Follows the log from the generation's checkpoint; with `until`, returns once it is reached.
    async fn follow(
        &self,
        generation: Generation,
        until: Option<u64>,
        batch_size: usize,
        mut progress: impl FnMut(Progress),
    ) -> Result<u64, ProjectionError> {
        let mut checkpoint = generation.checkpoint;
        let mut applied = 0;
        if until.is_some_and(|target| checkpoint >= target) {
            return Ok(0);
        }
        let subscription = self.store.subscribe(Position(checkpoint), LogFilter::all());
        let mut subscription = match until {
            Some(_) => Items::read_ahead(subscription, batch_size),
            None => Items::Direct(subscription),
        };
        let _active = metrics::ActiveSubscription::start(RECORDS);
        let mut batch: Vec<RecordedEvent> = Vec::new();
        while let Some(item) = subscription.next().await {
            let mut known_head = until;
            let flush_to = match item? {
                SubscriptionItem::Event(event) => {
                    let position = event.position.0;
                    batch.push(*event);
                    let reached = until.is_some_and(|target| position >= target);
                    (batch.len() >= batch_size || reached).then_some(position)
                }
                SubscriptionItem::CaughtUp(position) => {
                    known_head = Some(position.0);
                    Some(position.0)
                }
            };
            let Some(to) = flush_to else { continue };
            if to > checkpoint {
                applied += batch.len() as u64;
                self.commit(generation.id, checkpoint, to, &batch).await?;
                checkpoint = to;
                batch.clear();
                // A full batch while following live means the runner is behind by an unknown
                // amount: one head query per full batch (not per event) measures it.
                let head = match known_head {
                    Some(head) => head,
                    None => self.store.head_position().await?.0,
                };
                metrics::lag_events(RECORDS, head, checkpoint);
                let head = until.unwrap_or(to);
                progress(Progress { checkpoint, head, applied });
            }
            if until.is_some_and(|target| checkpoint >= target) {
                return Ok(applied);
            }
        }
        Ok(applied)
    }

    async fn commit(
        &self,
        generation: i64,
        from: u64,
        to: u64,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let span = tracing::info_span!(
            "projection.batch",
            projection = RECORDS,
            generation,
            // As i64: the OpenTelemetry layer records u64 fields as strings.
            from = from as i64,
            to = to as i64,
            event_count = events.len() as i64
        );
        self.commit_batch(generation, from, to, events).instrument(span).await?;
        metrics::batch_committed(RECORDS, events);
        Ok(())
    }

    async fn commit_batch(
        &self,
        generation: i64,
        from: u64,
        to: u64,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let mut loaded = HashMap::new();
        for (kind, keys) in touched(events) {
            for (key, doc) in self.models.load(generation, kind, &keys).await? {
                loaded.insert((kind, key), doc);
            }
        }
        // An erasure also scrubs the client's ledgers, which only the stored owners name.
        let mut owned = Owned::new();
        for client in erased_clients(events) {
            let ledgers = self.models.load_owned(generation, DocKind::Ledger, &client).await?;
            owned.insert(client, ledgers.keys().cloned().collect());
            loaded.extend(ledgers.into_iter().map(|(key, doc)| ((DocKind::Ledger, key), doc)));
        }
        let (docs, audit) = fold(loaded, events, owned.clone())?;
        let erased = owned.into_keys().collect();
        self.models.commit(&BatchWrite { generation, from, to, docs, audit, erased }).await
    }
}

/// The log as the runner takes it. Catching up (a rebuild, a target position), it is read on a
/// task of its own, up to `depth` items ahead: reading, decoding and opening the sealed fields of
/// the next batch overlap with folding and committing this one (on two cores a rebuild otherwise
/// kept one of them idle). Following live, it is read directly: there read-ahead only competed
/// with the server's calls for the cores (GetEpisode p99 rose from about 20 to 35 ms).
enum Items {
    Direct(EventSubscription),
    Ahead { items: tokio::sync::mpsc::Receiver<Result<SubscriptionItem, StoreError>>, reader: tokio::task::AbortHandle },
}

impl Items {
    fn read_ahead(mut subscription: EventSubscription, depth: usize) -> Self {
        let (sender, items) = tokio::sync::mpsc::channel(depth.max(1));
        let reader = tokio::spawn(async move {
            while let Some(item) = subscription.next().await {
                if sender.send(item).await.is_err() {
                    break;
                }
            }
        });
        Self::Ahead { items, reader: reader.abort_handle() }
    }

    async fn next(&mut self) -> Option<Result<SubscriptionItem, StoreError>> {
        match self {
            Self::Direct(subscription) => subscription.next().await,
            Self::Ahead { items, .. } => items.recv().await,
        }
    }
}

/// The reading task ends with the runner's use of it (it may be waiting for new commits).
impl Drop for Items {
    fn drop(&mut self) {
        if let Self::Ahead { reader, .. } = self {
            reader.abort();
        }
    }
}
