//! The Carelog event store: an append-only, hash-chained log of immutable events.
//!
//! One [`EventStore`] trait, two backends with identical semantics (checked by one contract suite):
//! [`SqliteStore`], the embedded default, and [`PostgresStore`] for production. Appends from many
//! callers are group-committed: they share a transaction and an fsync, and each caller is answered
//! only once its events are durable. Global positions are dense and in commit order on both backends
//! (the writer holds the log head while it commits), so a subscriber that reads "everything after my
//! checkpoint" can never skip an event that committed late.

#![forbid(unsafe_code)]

mod adapters;
mod error;
mod first_keys;
#[cfg(feature = "kurrentdb")]
mod kurrentdb;
pub mod merkle;
mod metadata;
mod migrations;
mod model;
mod open;
mod open_kurrentdb;
mod plan;
mod postgres;
mod postgres_begin;
pub mod postgres_ha;
mod postgres_insert;
mod postgres_known_heads;
mod postgres_listen;
mod postgres_migrations;
mod postgres_rows;
mod postgres_writer;
mod prepare;
mod recent;
mod row;
mod row_page;
mod sqlite;
mod sqlite_database;
mod sqlite_migrations;
mod sqlite_reader;
mod sqlite_writer;
mod subscription;
mod verify;
mod writer;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[cfg(feature = "kurrentdb")]
pub use crate::kurrentdb::{KurrentDbOptions, KurrentDbStore, install_crypto_provider};
pub use adapters::Database;
pub use error::{InvalidInput, StoreError};
pub use first_keys::{AppendWithKeys, NewClientKey};
pub use migrations::Migrations;
pub use model::{
    Actor, AppendRequest, AppendResult, CommandRef, Condition, Direction, EventHash, ExpectedRevision, LogFilter,
    LogQuery, MAX_EVENT_TYPE_LEN, MAX_STREAM_NAME_LEN, Metadata, NewEvent, Position, ReadFrom, RecordedEvent,
    StreamName, StreamQuery, SubscriptionItem, Tags,
};
pub use open::{OpenedStore, StoreUrl, open};
pub use open_kurrentdb::{READ_MODELS_ENV, read_models_url};
pub use postgres::{PostgresOptions, PostgresStore};
pub use postgres_begin::{begin_derived, begin_uncancellable};
pub use postgres_migrations::migrate_postgres;
pub use prepare::Limits;
pub use sqlite::{SqliteOptions, SqliteStore};
pub use sqlite_database::{SqliteDatabase, WriteTurn};
pub use subscription::EventSubscription;
pub use verify::{ChainProblem, ProblemKind, VerifyProgress, VerifyReport, VerifyScope};

/// The event log every service appends to and every projection follows.
#[async_trait]
pub trait EventStore: Send + Sync + std::fmt::Debug {
    /// `sqlite` or `postgres`: for logs and diagnostics.
    fn backend_name(&self) -> &'static str;

    /// Appends events to one stream atomically, if the stream and every condition are as expected.
    /// Re-appending events whose ids are already stored in that stream returns the original result.
    async fn append(&self, request: AppendRequest) -> Result<AppendResult, StoreError>;

    /// Reads one stream from a revision (inclusive) in either direction.
    async fn read_stream(&self, stream: &StreamName, query: StreamQuery) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Reads the global log forward in position order.
    async fn read_all(&self, query: &LogQuery) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Events about one client (`metadata.tags.client`) in log order, with the query's range and
    /// filters: the input of an as-of replay of the client's record.
    async fn read_client(&self, client: &str, query: &LogQuery) -> Result<Vec<RecordedEvent>, StoreError>;

    /// The position of the last event recorded at or before `time` (`Position::START` if none).
    /// `recorded_at` never decreases along the log, so this is the log as it stood at `time`.
    async fn position_at(&self, time: DateTime<Utc>) -> Result<Position, StoreError>;

    /// The revision of a stream's last event, or None if the stream has no events.
    async fn stream_revision(&self, stream: &StreamName) -> Result<Option<u64>, StoreError>;

    /// The position of the last committed event (`Position::START` for an empty log).
    async fn head_position(&self) -> Result<Position, StoreError>;

    /// Finds one event by id anywhere in the log.
    async fn event_by_id(&self, event_id: Uuid) -> Result<Option<RecordedEvent>, StoreError>;

    /// Follows the log after `after` (exclusive): catches up, then goes live. Resume from the position of
    /// the last event (or `CaughtUp` marker) processed to receive every later event exactly once.
    fn subscribe(&self, after: Position, filter: LogFilter) -> EventSubscription;

    /// Recomputes the hash chains in scope and reports every break.
    async fn verify(
        &self,
        scope: &VerifyScope,
        progress: &(dyn Fn(VerifyProgress) + Send + Sync),
    ) -> Result<VerifyReport, StoreError>;
}
