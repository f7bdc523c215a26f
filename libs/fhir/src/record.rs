//! What an export is made from: one client's events folded with the read side's folds.

use carelog_domain::access::{LoggedPurpose, RecordAccessed};
use carelog_domain::types::ClientId;
use carelog_projections::{EpisodeView, LedgerView, ViewError};
use carelog_store::{Position, RecordedEvent};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::stamps::Stamps;

/// Why a record cannot be exported.
#[derive(Debug, thiserror::Error)]
pub enum FhirError {
    /// No event about the client up to the export position.
    #[error("no record of client {0}")]
    UnknownClient(String),
    /// Events exist (e.g. a consent) but the client was never registered: there is no Patient.
    #[error("client {0} has events but no registration")]
    NotRegistered(String),
    /// An event the read side's fold refuses; the same event stops the live projection.
    #[error("cannot fold the record: {0}")]
    Fold(#[from] ViewError),
}

/// One read of the record, for an AuditEvent: an allowed `RecordAccessed` entry of the access log
/// (`access-{client}` streams, tagged with the client, so they arrive with the client's events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRead {
    pub read_id: Uuid,
    pub actor_id: String,
    pub actor_role: String,
    pub at: DateTime<Utc>,
    /// The call that read the record, e.g. `carelog.v1.RecordsService/GetEpisode`.
    pub operation: String,
    /// Why, as the caller declared it and the access log holds it (an HL7 v3 purpose of use;
    /// a code this build does not know stays readable as it was logged).
    pub purpose: LoggedPurpose,
}

impl RecordRead {
    /// The read an access-log event records; `None` for any other event and for denied attempts
    /// (those read nothing).
    pub fn from_access_log(event: &RecordedEvent) -> Option<Self> {
        if event.category() != "access" || event.event_type != RecordAccessed::EVENT_TYPE {
            return None;
        }
        let entry = RecordAccessed::from_stored(&event.event_type, event.schema_version, &event.data).ok()?;
        entry.is_allowed().then(|| Self {
            read_id: event.event_id,
            actor_id: event.metadata.actor.id.clone(),
            actor_role: event.metadata.actor.role.clone(),
            at: event.recorded_at,
            operation: format!("carelog.v1.{}", entry.rpc),
            purpose: entry.purpose_of_use,
        })
    }
}

/// A client's record ready to map: the episode view, the ledgers of the client's accounts, the
/// per-resource stamps, and the reads of the record.
#[derive(Debug, Clone)]
pub struct EpisodeRecord {
    pub client: ClientId,
    pub view: EpisodeView,
    /// One per account, in the order the accounts appear in the view.
    pub ledgers: Vec<LedgerView>,
    pub stamps: Stamps,
    pub reads: Vec<RecordRead>,
    /// The last event folded in.
    pub last_position: Position,
}

impl EpisodeRecord {
    /// Folds the client's events (in log order, as `EventStore::read_client` returns them) with
    /// the same folds the live read model uses.
    ///
    /// # Errors
    /// [`FhirError::UnknownClient`] without events, [`FhirError::NotRegistered`] without a
    /// registration, [`FhirError::Fold`] when an event cannot be folded.
    pub fn from_events(client: ClientId, events: &[RecordedEvent]) -> Result<Self, FhirError> {
        let mut folder = Folder::new(client);
        for event in events {
            folder.apply(event)?;
        }
        folder.record()
    }

    /// The same record with the reads of it, for AuditEvents.
    pub fn with_reads(mut self, reads: Vec<RecordRead>) -> Self {
        self.reads = reads;
        self
    }

    /// The recorded time of the last event folded in.
    pub fn last_recorded_at(&self) -> Option<DateTime<Utc>> {
        self.view.last_recorded_at
    }
}

/// Folds a client's events one at a time, so a caller can look at the record after each (the
/// versions of a resource for `_history`) without folding every prefix again.
#[derive(Debug, Clone)]
pub struct Folder {
    client: ClientId,
    view: EpisodeView,
    ledgers: Vec<LedgerView>,
    stamps: Stamps,
    reads: Vec<RecordRead>,
    last_position: Option<Position>,
}

impl Folder {
    pub fn new(client: ClientId) -> Self {
        Self {
            client,
            view: EpisodeView::new(client),
            ledgers: Vec::new(),
            stamps: Stamps::default(),
            reads: Vec::new(),
            last_position: None,
        }
    }

    /// Folds one more event (in log order).
    ///
    /// # Errors
    /// [`FhirError::Fold`] when the event cannot be folded.
    pub fn apply(&mut self, event: &RecordedEvent) -> Result<(), FhirError> {
        self.last_position = Some(event.position);
        if let Some(read) = RecordRead::from_access_log(event) {
            self.reads.push(read);
            return Ok(());
        }
        self.view.apply(event)?;
        if event.category() == "account" {
            let index = match self.ledgers.iter().position(|l| l.account_id.is_some_and(|a| stream_is(event, a))) {
                Some(index) => index,
                None => {
                    self.ledgers.push(LedgerView::default());
                    self.ledgers.len() - 1
                }
            };
            self.ledgers[index].apply(event)?;
        }
        self.stamps.observe(self.client, &self.view, event)?;
        Ok(())
    }

    /// The stamps so far: which event last changed each resource.
    pub fn stamps(&self) -> &Stamps {
        &self.stamps
    }

    /// The record as folded so far.
    ///
    /// # Errors
    /// [`FhirError::UnknownClient`] before any event, [`FhirError::NotRegistered`] before the
    /// registration.
    pub fn record(&self) -> Result<EpisodeRecord, FhirError> {
        let last_position = self.last_position.ok_or_else(|| unknown(self.client))?;
        if self.view.demographics.is_none() {
            return Err(FhirError::NotRegistered(self.client.to_string()));
        }
        Ok(EpisodeRecord {
            client: self.client,
            view: self.view.clone(),
            ledgers: self.ledgers.clone(),
            stamps: self.stamps.clone(),
            reads: self.reads.clone(),
            last_position,
        })
    }
}

fn stream_is(event: &RecordedEvent, account: carelog_domain::types::AccountId) -> bool {
    event.stream.as_str() == account.stream_name()
}

fn unknown(client: ClientId) -> FhirError {
    FhirError::UnknownClient(client.to_string())
}
