//! The KurrentDB backend behind the store's port: appends retried while another writer moves the
//! stream, reads of a stream or of `$all`, subscriptions and verification.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use uuid::Uuid;

use ::kurrentdb::{ReadStreamOptions, StreamPosition};

use super::codec::{self, Plan};
use super::follow;
use super::{APPEND_ATTEMPTS, KurrentDbStore, ReadAllOrStream};
use crate::EventStore;
use crate::error::StoreError;
use crate::model::{
    AppendRequest, AppendResult, Direction, LogFilter, LogQuery, Position, ReadFrom, RecordedEvent, StreamName,
    StreamQuery,
};
use crate::prepare::PreparedAppend;
use crate::subscription::EventSubscription;
use crate::verify::{ChainVerifier, VerifyProgress, VerifyReport, VerifyScope};

#[async_trait]
impl EventStore for KurrentDbStore {
    fn backend_name(&self) -> &'static str {
        codec::BACKEND
    }

    #[tracing::instrument(skip_all, err(level = "debug"), fields(stream = %request.stream, events = request.events.len()))]
    async fn append(&self, request: AppendRequest) -> Result<AppendResult, StoreError> {
        let prepared = PreparedAppend::new(request, &self.inner.limits)?;
        let mut last_seen = None;
        for _ in 0..APPEND_ATTEMPTS {
            let head = self.head_of(prepared.stream.as_str()).await?;
            let known = self.known_events(&prepared, head.as_ref().map(|h| h.revision)).await?;
            match codec::plan_append(&prepared, head.as_ref(), known, Utc::now())? {
                Plan::Replayed(result) => return Ok(result),
                Plan::Write { pinned, rows } => match self.write(pinned, &rows).await? {
                    Ok(result) => return Ok(result),
                    // Another writer moved the stream: look again (its head, a retry's events).
                    Err(actual) => last_seen = actual,
                },
            }
        }
        Err(StoreError::Conflict {
            stream: prepared.stream.to_string(),
            expected: prepared.expected,
            actual: last_seen,
        })
    }

    async fn read_stream(&self, stream: &StreamName, query: StreamQuery) -> Result<Vec<RecordedEvent>, StoreError> {
        if query.limit == 0 {
            return Err(crate::InvalidInput::ZeroLimit.into());
        }
        let (position, backwards) = match (query.direction, query.from) {
            (Direction::Forward, ReadFrom::End) => return Ok(Vec::new()),
            (Direction::Forward, ReadFrom::Start) => (StreamPosition::Start, false),
            (Direction::Forward, ReadFrom::Revision(r)) => (StreamPosition::Position(r), false),
            (Direction::Backward, ReadFrom::Start) => (StreamPosition::Position(0), true),
            (Direction::Backward, ReadFrom::End) => (StreamPosition::End, true),
            (Direction::Backward, ReadFrom::Revision(r)) => (StreamPosition::Position(r), true),
        };
        // `position` picks a default direction: set the one asked for after it.
        let options = ReadStreamOptions::default().position(position).max_count(query.limit);
        let options = if backwards { options.backwards() } else { options.forwards() };
        let rows = self.stream_rows(stream.as_str(), &options).await?;
        rows.into_iter().map(|(row, position)| codec::to_recorded(row, position)).collect()
    }

    async fn read_all(&self, query: &LogQuery) -> Result<Vec<RecordedEvent>, StoreError> {
        let after = Position(query.from.0.saturating_sub(1));
        self.scan_log(after, query.up_to, &query.filter, query.limit, |_| true).await
    }

    /// Scans `$all`: KurrentDB has no index on Carelog's client tag.
    async fn read_client(&self, client: &str, query: &LogQuery) -> Result<Vec<RecordedEvent>, StoreError> {
        let after = Position(query.from.0.saturating_sub(1));
        let keep = |e: &RecordedEvent| e.metadata.tags.client.as_deref() == Some(client);
        self.scan_log(after, query.up_to, &query.filter, query.limit, keep).await
    }

    /// Walks back from the end: cost grows with the number of events recorded after `time`.
    async fn position_at(&self, time: DateTime<Utc>) -> Result<Position, StoreError> {
        Ok(self.scan_back(|e| e.recorded_at <= time).await?.unwrap_or(Position::START))
    }

    async fn stream_revision(&self, stream: &StreamName) -> Result<Option<u64>, StoreError> {
        Ok(self.head_of(stream.as_str()).await?.map(|h| h.revision))
    }

    async fn head_position(&self) -> Result<Position, StoreError> {
        Ok(self.scan_back(|_| true).await?.unwrap_or(Position::START))
    }

    /// Scans `$all`: KurrentDB has no lookup by event id.
    async fn event_by_id(&self, event_id: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
        let found = self.scan_log(Position::START, None, &LogFilter::all(), 1, |e| e.event_id == event_id).await?;
        Ok(found.into_iter().next())
    }

    fn subscribe(&self, after: Position, filter: LogFilter) -> EventSubscription {
        let store = self.clone();
        futures::stream::once(follow::subscribe(store, after, filter)).flatten().boxed()
    }

    /// Recomputes every chain from `$all` (or the named streams). Positions are sparse here, so the
    /// global-order and truncation checks of the SQL backends do not apply (docs/kurrentdb.md).
    async fn verify(
        &self,
        scope: &VerifyScope,
        progress: &(dyn Fn(VerifyProgress) + Send + Sync),
    ) -> Result<VerifyReport, StoreError> {
        let head = self.head_position().await?;
        let mut verifier = ChainVerifier::new(false);
        match scope {
            VerifyScope::All => {
                let filter = self.inner.namespace.server_filter(&LogFilter::all()).to_kurrent();
                self.verify_rows(ReadAllOrStream::All(filter), &mut verifier, progress, head).await?;
            }
            VerifyScope::Streams(streams) => {
                for stream in streams {
                    self.verify_rows(ReadAllOrStream::Stream(stream.clone()), &mut verifier, progress, head).await?;
                }
            }
        }
        Ok(verifier.finish(None))
    }
}
