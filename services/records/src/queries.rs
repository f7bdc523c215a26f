//! The read side's questions, answered from the live read models or by replaying the log.

use std::sync::Arc;
use std::time::Duration;

use carelog_executor::ServiceError;
use carelog_projections::persist::{AuditQuery, AuditRow, DocKind, ReadModels};
use carelog_projections::{EpisodeView, LedgerView, RECORDS, ReadDemand, caseload_alerts};
use carelog_store::{EventStore, Position, VerifyReport, VerifyScope};
use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::watch;

use crate::convert::{not_found, projection_failed};

/// Longest wait for the read model to reach a caller's own write.
const READ_YOUR_WRITES: Duration = Duration::from_secs(5);

/// A view and the log position it reflects.
#[derive(Debug, Clone)]
pub struct Reflected<T> {
    pub view: T,
    pub position: u64,
    pub last_event_position: u64,
}

#[derive(Debug, Clone)]
pub struct Queries {
    store: Arc<dyn EventStore>,
    models: ReadModels,
    checkpoints: watch::Receiver<u64>,
    /// Tells the projector which position a reader waits for, so it does not hold it back.
    demand: ReadDemand,
}

impl Queries {
    pub fn new(
        store: Arc<dyn EventStore>,
        models: ReadModels,
        checkpoints: watch::Receiver<u64>,
        demand: ReadDemand,
    ) -> Self {
        Self { store, models, checkpoints, demand }
    }

    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// The client's current record; with `min_position`, waits until the read model has folded it.
    pub async fn episode(&self, client: &str, min_position: u64) -> Result<Reflected<serde_json::Value>, ServiceError> {
        let checkpoint = self.wait_for(min_position).await?;
        let doc = self
            .models
            .live_doc(RECORDS, DocKind::Episode, client)
            .await
            .map_err(projection_failed)?
            .ok_or_else(|| not_found("client", client))?;
        Ok(Reflected { view: doc.body, position: checkpoint.max(doc.position), last_event_position: doc.position })
    }

    async fn wait_for(&self, position: u64) -> Result<u64, ServiceError> {
        let mut checkpoints = self.checkpoints.clone();
        let now = *checkpoints.borrow();
        if position <= now {
            return Ok(now);
        }
        // A position no write has reached yet can never be folded: say so at once rather than
        // wait out the timeout and answer UNAVAILABLE (which invites the same retry).
        self.check_position("min_position", position).await?;
        self.demand.want(position);
        let reached = tokio::time::timeout(READ_YOUR_WRITES, checkpoints.wait_for(|c| *c >= position)).await;
        match reached {
            Ok(Ok(checkpoint)) => Ok(*checkpoint),
            _ => Err(ServiceError::Store(carelog_store::StoreError::Unavailable(format!(
                "the read model has not reached position {position} within {} s; retry",
                READ_YOUR_WRITES.as_secs()
            )))),
        }
    }

    /// The client's record as it stood at `position` (inclusive), replayed from the log with the same
    /// fold the live read model uses — so it equals what the live view showed at that position.
    pub async fn episode_as_of(&self, client: &str, position: u64) -> Result<Reflected<EpisodeView>, ServiceError> {
        self.check_position("as_of.position", position).await?;
        let mut view = EpisodeView::default();
        let mut last_event_position = 0;
        for event in &crate::fhir::client_events(self.store.as_ref(), client, Position(position)).await? {
            view.apply(event).map_err(|e| ServiceError::Decode(e.to_string()))?;
            last_event_position = event.position.0;
        }
        if last_event_position == 0 {
            return Err(not_found("client", client));
        }
        Ok(Reflected { view, position, last_event_position })
    }

    /// Everything about the client that had occurred (clinical time) by `by`, as the log knows it
    /// now: the client's events up to the head whose `occurred_at` is not after `by`, folded in
    /// log order. A late entry recorded today about last month is in last month's view.
    pub async fn episode_occurred_by(
        &self,
        client: &str,
        by: chrono::DateTime<chrono::Utc>,
    ) -> Result<Reflected<EpisodeView>, ServiceError> {
        let head = self.store.head_position().await?.0;
        let mut view = EpisodeView::default();
        let mut last_event_position = 0;
        let events = crate::fhir::client_events(self.store.as_ref(), client, Position(head)).await?;
        for event in events.iter().filter(|e| e.metadata.occurred_at <= by) {
            // An entry dated before what it refers to (an addendum backdated to before its note
            // was signed) refers to nothing that had occurred yet: it is left out.
            if view.apply(event).is_ok() {
                last_event_position = event.position.0;
            }
        }
        if last_event_position == 0 {
            return Err(not_found("client", client));
        }
        Ok(Reflected { view, position: head, last_event_position })
    }

    /// Refuses a position beyond the log's head as INVALID_ARGUMENT on `field`.
    pub async fn check_position(&self, field: &str, position: u64) -> Result<(), ServiceError> {
        let head = self.store.head_position().await?.0;
        if position > head {
            return Err(ServiceError::invalid(field, format!("{position} lies beyond the log's head {head}")));
        }
        Ok(())
    }

    /// The position of the log as it stood at a recorded time.
    pub async fn position_at(&self, time: DateTime<Utc>) -> Result<u64, ServiceError> {
        Ok(self.store.position_at(time).await?.0)
    }

    /// The audit trail holds every event committed before the request: the projector holds
    /// access-log events back for a moment (`AUDIT_ONLY_DELAY`), so wait until it has them.
    pub async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRow>, ServiceError> {
        if let Some(client) = &query.client {
            self.episode(client, 0).await?;
        }
        let head = self.store.head_position().await?.0;
        self.wait_for(head).await?;
        self.models.audit(RECORDS, query).await.map_err(projection_failed)
    }

    /// Clients holding every search token, after `after` in id order, at most `limit`; waits
    /// until the read models hold every event committed before the call.
    pub async fn search_clients(
        &self,
        query: &carelog_projections::search::SearchQuery<'_>,
        after: &str,
        limit: u32,
    ) -> Result<Vec<String>, ServiceError> {
        let key = self.models.search_key().ok_or_else(|| {
            ServiceError::NotConfigured(
                "client search needs the vault's master key: start the server with the store sealed \
                 (carelog serve)"
                    .into(),
            )
        })?;
        let tokens = key.tokens_for(query).map_err(carelog_domain::DomainError::from)?;
        let head = self.store.head_position().await?.0;
        self.wait_for(head).await?;
        self.models.search_clients(RECORDS, &tokens, after, limit).await.map_err(projection_failed)
    }

    /// The clinician's clients and their alerts at `now`.
    pub async fn caseload(
        &self,
        clinician: &str,
        page: &CaseloadPage,
        now: DateTime<Utc>,
    ) -> Result<Caseload, ServiceError> {
        let mut docs =
            self.models.live_docs_owned_by(RECORDS, DocKind::Episode, clinician).await.map_err(projection_failed)?;
        docs.sort_by(|a, b| a.key.cmp(&b.key));
        docs.retain(|doc| page.after.as_ref().is_none_or(|after| doc.key > *after));
        let more = docs.len() > page.size;
        docs.truncate(page.size);
        let next_page_token = match docs.last() {
            Some(last) if more => last.key.clone(),
            _ => String::new(),
        };
        let mut client_ids = Vec::with_capacity(docs.len());
        let mut alerts = Vec::new();
        for doc in docs {
            let view: EpisodeView =
                serde_json::from_value(doc.body).map_err(|e| ServiceError::Decode(e.to_string()))?;
            for alert in caseload_alerts(&view, now) {
                let mut alert = serde_json::to_value(alert).map_err(|e| ServiceError::Decode(e.to_string()))?;
                if let Some(object) = alert.as_object_mut() {
                    object.insert("client_id".into(), doc.key.clone().into());
                }
                alerts.push(alert);
            }
            client_ids.push(doc.key);
        }
        Ok(Caseload { client_ids, alerts, position: *self.checkpoints.borrow(), next_page_token })
    }

    /// The account's ledger with aging at `today`.
    pub async fn ledger(
        &self,
        account: &str,
        today: NaiveDate,
        min_position: u64,
    ) -> Result<(LedgerView, serde_json::Value, u64), ServiceError> {
        self.wait_for(min_position).await?;
        let key = format!("account-{account}");
        let doc = self
            .models
            .live_doc(RECORDS, DocKind::Ledger, &key)
            .await
            .map_err(projection_failed)?
            .ok_or_else(|| not_found("account", account))?;
        let ledger: LedgerView = serde_json::from_value(doc.body).map_err(|e| ServiceError::Decode(e.to_string()))?;
        let aging = serde_json::to_value(ledger.aging(today)).map_err(|e| ServiceError::Decode(e.to_string()))?;
        Ok((ledger, aging, doc.position))
    }

    /// The client's eligibility for patient-provider dispute resolution as the episode view
    /// computes it across the client's accounts (45 CFR 149.620); a ledger shows it beside its own.
    pub async fn dispute_resolution(&self, client: &str) -> Result<Option<serde_json::Value>, ServiceError> {
        let doc = self.models.live_doc(RECORDS, DocKind::Episode, client).await.map_err(projection_failed)?;
        Ok(doc.and_then(|doc| doc.body.get("billing")?.get("dispute_resolution").cloned()))
    }

    /// Verifies one client's streams, or the whole log.
    pub async fn verify(&self, client: Option<&str>) -> Result<VerifyReport, ServiceError> {
        let scope = match client {
            None => VerifyScope::All,
            Some(client) => {
                let head = self.store.head_position().await?;
                let mut streams: Vec<String> = Vec::new();
                for event in crate::fhir::client_events(self.store.as_ref(), client, head).await? {
                    if !streams.contains(&event.stream.to_string()) {
                        streams.push(event.stream.to_string());
                    }
                }
                if streams.is_empty() {
                    return Err(not_found("client", client));
                }
                VerifyScope::Streams(streams)
            }
        };
        Ok(self.store.verify(&scope, &|_| {}).await?)
    }
}

/// Which clients of a caseload a page covers: those after `after`, in id order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseloadPage {
    pub size: usize,
    pub after: Option<String>,
}

/// One page of a clinician's caseload.
#[derive(Debug, Clone)]
pub struct Caseload {
    pub client_ids: Vec<String>,
    pub alerts: Vec<serde_json::Value>,
    pub position: u64,
    pub next_page_token: String,
}
