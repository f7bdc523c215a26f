//! The KurrentDB backend (cargo feature `kurrentdb`): the log lives in a KurrentDB cluster, read
//! models in a relational database named separately. What it cannot guarantee is in docs/kurrentdb.md:
//! positions are sparse commit positions, conditions on other streams are refused, lookups by id,
//! client or time scan `$all`. KurrentDB client types stay inside this module (tonic 0.13 vs 0.14).

mod codec;
mod event_store;
mod follow;
mod mapping;

use std::sync::Arc;

use ::kurrentdb::{AppendToStreamOptions, Client, ClientSettings, EventData, ReadAllOptions, ReadStreamOptions};
use ::kurrentdb::{StreamPosition, SubscriptionFilter};
use uuid::Uuid;

use self::codec::{ChainHead, RawEvent};
use self::mapping::{Namespace, from_kurrent, is_after, pinned_state, start_after, store_error};
use crate::EventStore;
use crate::error::StoreError;
use crate::model::{AppendResult, ExpectedRevision, LogFilter, Position, RecordedEvent};
use crate::plan::KnownEvent;
use crate::prepare::{Limits, PreparedAppend};
use crate::row::StoredRow;
use crate::verify::{ChainVerifier, VerifyProgress};

/// Events per read of `$all` or of a stream.
const PAGE: usize = 500;
/// Appends retried after another writer moved the stream between our read of its head and our append.
const APPEND_ATTEMPTS: usize = 8;

/// Settings of the KurrentDB backend.
#[derive(Debug, Clone)]
pub struct KurrentDbOptions {
    /// A KurrentDB connection string: `kurrentdb://admin:changeit@localhost:2113?tls=false`.
    pub url: String,
    /// Prefix of every stream (`{namespace}.{stream}`), so deployments or test runs share a cluster.
    pub namespace: Option<String>,
    pub limits: Limits,
}

impl KurrentDbOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), namespace: None, limits: Limits::default() }
    }

    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }
}

/// The KurrentDB event store. Cheap to clone.
#[derive(Clone)]
pub struct KurrentDbStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    namespace: Namespace,
    limits: Limits,
}

impl std::fmt::Debug for KurrentDbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KurrentDbStore").field("namespace", &self.inner.namespace).finish_non_exhaustive()
    }
}

/// kurrentdb pulls in rustls with aws-lc-rs and would install it as the process default on first
/// use; install it explicitly so every TLS user of the process agrees on one provider.
pub fn install_crypto_provider() {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

impl KurrentDbStore {
    /// Connects and checks that the cluster answers (an unreachable cluster is `Unavailable`).
    pub async fn connect(options: KurrentDbOptions) -> Result<Self, StoreError> {
        install_crypto_provider();
        let settings: ClientSettings = options
            .url
            .parse()
            .map_err(|e: ::kurrentdb::ClientSettingsParseError| StoreError::Database(format!("KurrentDB URL: {e}")))?;
        let client = Client::new(settings).map_err(|e| StoreError::Unavailable(format!("KurrentDB client: {e}")))?;
        let namespace = Namespace::new(options.namespace.as_deref())
            .map_err(|reason| StoreError::Database(format!("KurrentDB {reason}")))?;
        let store = Self { inner: Arc::new(Inner { client, namespace, limits: options.limits }) };
        store.head_position().await?;
        Ok(store)
    }

    /// Decodes an event of `$all` or a stream; None for one outside the namespace.
    fn decode_event(&self, event: &::kurrentdb::RecordedEvent) -> Option<Result<RecordedEvent, StoreError>> {
        Some(self.decode_row(event)?.map_err(corrupt).and_then(|(row, position)| codec::to_recorded(row, position)))
    }

    fn decode_row(&self, event: &::kurrentdb::RecordedEvent) -> Option<Result<(StoredRow, Position), (u64, String)>> {
        let stream = self.inner.namespace.carelog_name(event.stream_id())?;
        Some(codec::decode(RawEvent {
            stream,
            revision: event.revision,
            event_id: event.id,
            event_type: &event.event_type,
            data: &event.data,
            custom_metadata: &event.custom_metadata,
            commit: event.position.commit,
        }))
    }

    /// Up to `options`' count of one stream's events; a missing stream reads as empty.
    async fn stream_rows(
        &self,
        stream: &str,
        options: &ReadStreamOptions,
    ) -> Result<Vec<(StoredRow, Position)>, StoreError> {
        let name = self.inner.namespace.to_kurrent(stream);
        let mut read = self.inner.client.read_stream(name.as_str(), options).await.map_err(store_error)?;
        let mut rows = Vec::new();
        loop {
            match read.next().await {
                Ok(Some(resolved)) => {
                    if let Some(row) = self.decode_row(resolved.get_original_event()) {
                        rows.push(row.map_err(corrupt)?);
                    }
                }
                Ok(None) | Err(::kurrentdb::Error::ResourceNotFound) => return Ok(rows),
                Err(error) => return Err(store_error(error)),
            }
        }
    }

    async fn head_of(&self, stream: &str) -> Result<Option<ChainHead>, StoreError> {
        let options = ReadStreamOptions::default().position(StreamPosition::End).backwards().max_count(1);
        let rows = self.stream_rows(stream, &options).await?;
        rows.first().map(|(row, _)| ChainHead::of(row)).transpose()
    }

    /// Events already stored under the append's ids, where a retry would have put them: after the
    /// revision the caller expected, or anywhere in the stream for `any`/`stream_exists`.
    async fn known_events(&self, append: &PreparedAppend, head: Option<u64>) -> Result<Vec<KnownEvent>, StoreError> {
        let Some(head) = head else { return Ok(Vec::new()) };
        let (from, count) = match append.expected {
            ExpectedRevision::Exact(r) if r >= head => return Ok(Vec::new()),
            ExpectedRevision::Exact(r) => (r + 1, append.events.len()),
            ExpectedRevision::NoStream => (0, append.events.len()),
            ExpectedRevision::Any | ExpectedRevision::StreamExists => (0, usize::MAX),
        };
        let ids: std::collections::HashSet<Uuid> = append.events.iter().map(|e| e.event_id).collect();
        let mut known = Vec::new();
        let mut next = from;
        let mut remaining = count;
        while remaining > 0 && next <= head {
            let page = remaining.min(PAGE);
            let options =
                ReadStreamOptions::default().position(StreamPosition::Position(next)).forwards().max_count(page);
            let rows = self.stream_rows(append.stream.as_str(), &options).await?;
            known.extend(rows.iter().filter(|(row, _)| ids.contains(&row.event_id)).map(|(r, p)| codec::known(r, *p)));
            let Some((last, _)) = rows.last() else { break };
            next = last.revision + 1;
            remaining = remaining.saturating_sub(rows.len());
            if rows.len() < page {
                break;
            }
        }
        Ok(known)
    }

    async fn write(
        &self,
        pinned: Option<u64>,
        rows: &[StoredRow],
    ) -> Result<Result<AppendResult, Option<u64>>, StoreError> {
        let events = rows.iter().map(event_data).collect::<Result<Vec<_>, _>>()?;
        let options = AppendToStreamOptions::default().stream_state(pinned_state(pinned));
        let stream = self.inner.namespace.to_kurrent(&rows[0].stream);
        match self.inner.client.append_to_stream(stream.as_str(), &options, events).await {
            Ok(_) => {}
            Err(::kurrentdb::Error::WrongExpectedVersion { current, .. }) => {
                return Ok(Err(mapping::actual_revision(current)));
            }
            Err(error) => return Err(store_error(error)),
        }
        // The write result carries one position; read back where each event landed.
        let first_revision = rows[0].revision;
        let options = ReadStreamOptions::default()
            .position(StreamPosition::Position(first_revision))
            .forwards()
            .max_count(rows.len());
        let stored = self.stream_rows(&rows[0].stream, &options).await?;
        let (Some((_, first)), Some((last_row, last))) = (stored.first(), stored.last()) else {
            return Err(StoreError::Database(format!("append to {} is not readable back", rows[0].stream)));
        };
        Ok(Ok(AppendResult {
            first_revision,
            last_revision: last_row.revision,
            first_position: *first,
            last_position: *last,
            already_stored: false,
        }))
    }

    /// Reads `$all` after `after`, up to `up_to`, keeping events that match `filter` and `keep`.
    async fn scan_log(
        &self,
        after: Position,
        up_to: Option<Position>,
        filter: &LogFilter,
        limit: usize,
        keep: impl Fn(&RecordedEvent) -> bool,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        if limit == 0 {
            return Err(crate::InvalidInput::ZeroLimit.into());
        }
        let server_filter = self.inner.namespace.server_filter(filter).to_kurrent();
        let mut found = Vec::new();
        let mut cursor = after;
        loop {
            let options = ReadAllOptions::default()
                .position(start_after(cursor))
                .forwards()
                .filter(server_filter.clone())
                .max_count(PAGE);
            let mut read = self.inner.client.read_all(&options).await.map_err(store_error)?;
            let mut received = 0;
            while let Some(resolved) = read.next().await.map_err(store_error)? {
                received += 1;
                let recorded = resolved.get_original_event();
                let position = from_kurrent(recorded.position);
                if !is_after(position, cursor) {
                    continue;
                }
                if up_to.is_some_and(|end| position > end) {
                    return Ok(found);
                }
                cursor = position;
                let Some(event) = self.decode_event(recorded) else { continue };
                let event = event?;
                if filter.matches(&event) && keep(&event) {
                    found.push(event);
                    if found.len() == limit {
                        return Ok(found);
                    }
                }
            }
            if received < PAGE {
                return Ok(found);
            }
        }
    }

    /// Walks `$all` backwards from the end, stopping at the first event `stop` accepts.
    async fn scan_back(&self, stop: impl Fn(&RecordedEvent) -> bool) -> Result<Option<Position>, StoreError> {
        let filter = self.inner.namespace.server_filter(&LogFilter::all()).to_kurrent();
        let mut from = StreamPosition::End;
        loop {
            let options = ReadAllOptions::default().position(from).backwards().filter(filter.clone()).max_count(PAGE);
            let mut read = self.inner.client.read_all(&options).await.map_err(store_error)?;
            let mut received = 0;
            let mut oldest = None;
            while let Some(resolved) = read.next().await.map_err(store_error)? {
                received += 1;
                let recorded = resolved.get_original_event();
                if oldest == Some(recorded.position) {
                    continue; // a page starts at the previous page's oldest event
                }
                oldest = Some(recorded.position);
                if let Some(event) = self.decode_event(recorded)
                    && stop(&event?)
                {
                    return Ok(Some(from_kurrent(recorded.position)));
                }
            }
            match oldest {
                Some(position) if received == PAGE => from = StreamPosition::Position(position),
                _ => return Ok(None),
            }
        }
    }

    async fn verify_rows(
        &self,
        options: ReadAllOrStream,
        verifier: &mut ChainVerifier,
        progress: &(dyn Fn(VerifyProgress) + Send + Sync),
        head: Position,
    ) -> Result<(), StoreError> {
        let mut cursor = Position::START;
        let mut next_revision = 0;
        loop {
            let mut rows = Vec::new();
            let more = match &options {
                ReadAllOrStream::All(filter) => {
                    let read_options = ReadAllOptions::default()
                        .position(start_after(cursor))
                        .forwards()
                        .filter(filter.clone())
                        .max_count(PAGE);
                    let mut read = self.inner.client.read_all(&read_options).await.map_err(store_error)?;
                    let mut received = 0;
                    while let Some(resolved) = read.next().await.map_err(store_error)? {
                        received += 1;
                        let recorded = resolved.get_original_event();
                        let position = from_kurrent(recorded.position);
                        if is_after(position, cursor) {
                            cursor = position;
                            rows.extend(self.decode_row(recorded));
                        }
                    }
                    received == PAGE
                }
                ReadAllOrStream::Stream(stream) => {
                    let read_options = ReadStreamOptions::default()
                        .position(StreamPosition::Position(next_revision))
                        .forwards()
                        .max_count(PAGE);
                    let page = self.stream_rows(stream, &read_options).await?;
                    next_revision += page.len() as u64;
                    let more = page.len() == PAGE;
                    rows.extend(page.into_iter().map(Ok));
                    more
                }
            };
            for row in rows {
                match row {
                    Ok((row, position)) => verifier.check_at(&row, position),
                    Err((position, reason)) => verifier.unreadable(Position(position), reason),
                }
            }
            progress(VerifyProgress { checked: verifier.checked(), head });
            if !more {
                return Ok(());
            }
        }
    }
}

enum ReadAllOrStream {
    All(SubscriptionFilter),
    Stream(String),
}

fn corrupt((position, reason): (u64, String)) -> StoreError {
    StoreError::Corrupt { position: Position(position), reason }
}

fn event_data(row: &StoredRow) -> Result<EventData, StoreError> {
    let invalid = |e: serde_json::Error| StoreError::Database(format!("event {}: {e}", row.event_id));
    // The data text is stored byte for byte as hashed.
    let data = serde_json::value::RawValue::from_string(row.data.clone()).map_err(invalid)?;
    let event = EventData::json(&row.event_type, &data).map_err(invalid)?.id(row.event_id);
    event.metadata_as_json(&codec::encode_metadata(row)).map_err(invalid)
}
