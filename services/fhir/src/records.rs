//! Where FHIR resources come from: a client's events replayed and mapped by `carelog-fhir` (the
//! same loader as `ExportEpisodeFhir` and the NDJSON export, so every channel agrees), and a small
//! index from a resource's id to the client whose record holds it.
//!
//! Why an index and not a table: a resource id (a consent, a session, a derived Condition id)
//! names no client, and `GET /Consent/{id}` must find one to check assignment and to log the
//! read against. The index follows the log lazily: on a miss it reads the events appended since
//! its last position, re-maps only the clients they touched, and looks again. Ids never change
//! owner, so nothing is ever evicted. It lives in memory; a restart rebuilds it on the first miss
//! (the cost of one bulk export). The Patient resources it keeps serve `Patient?name=…` searches.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use carelog_domain::types::ClientId;
use carelog_executor::ServiceError;
use carelog_fhir::{EpisodeRecord, RefStyle, Resource};
use carelog_store::{EventStore, LogQuery, Position};
use serde_json::Value;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::outcome::FhirError;

const PAGE: usize = 1000;

/// The records the FHIR server reads.
#[derive(Debug)]
pub struct Records {
    store: Arc<dyn EventStore>,
    index: Mutex<Index>,
}

#[derive(Debug, Default)]
struct Index {
    /// The last log position looked at.
    position: Position,
    /// The records holding each resource: one, except for a Practitioner, whom every record
    /// naming them holds.
    owners: HashMap<(String, String), BTreeSet<Uuid>>,
    /// Each client's Patient resource as of the last refresh, for patient searches.
    patients: BTreeMap<Uuid, Value>,
}

impl Records {
    pub fn new(store: Arc<dyn EventStore>) -> Self {
        Self { store, index: Mutex::new(Index::default()) }
    }

    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// The client's record at the log's head.
    pub async fn record(&self, client: Uuid) -> Result<EpisodeRecord, FhirError> {
        let head = self.store.head_position().await?;
        self.record_at(client, head).await
    }

    /// The client's record as it stood at `position`.
    pub async fn record_at(&self, client: Uuid, position: Position) -> Result<EpisodeRecord, FhirError> {
        let id = ClientId::parse(&client.to_string()).map_err(|_| not_found("Patient", &client.to_string()))?;
        carelog_records::fhir::episode_record(self.store.as_ref(), id, position).await.map_err(|e| match e {
            ServiceError::NotFound { .. } => not_found("Patient", &client.to_string()),
            other => other.into(),
        })
    }

    /// The client's record at the head and its resources, with relative references.
    pub async fn resources(&self, client: Uuid) -> Result<(EpisodeRecord, Vec<Resource>), FhirError> {
        let record = self.record(client).await?;
        let resources = carelog_fhir::resources(&record, RefStyle::Relative);
        Ok((record, resources))
    }

    /// Every version of `resource_type/id` in the client's record, oldest first.
    pub async fn versions(
        &self,
        client: Uuid,
        resource_type: &'static str,
        id: &str,
    ) -> Result<Vec<Resource>, FhirError> {
        let head = self.store.head_position().await?;
        let events = self.events(client, head).await?;
        let client_id = ClientId::parse(&client.to_string()).map_err(|_| not_found("Patient", &client.to_string()))?;
        carelog_fhir::history::versions(client_id, &events, resource_type, id, RefStyle::Relative).map_err(
            |e| match e {
                carelog_fhir::FhirError::Fold(e) => FhirError::Internal(e.to_string()),
                _ => not_found(resource_type, id),
            },
        )
    }

    /// The client's record now and every version of its `resource_type` resources (one read,
    /// one fold), for type-level history.
    pub async fn type_versions(
        &self,
        client: Uuid,
        resource_type: &'static str,
    ) -> Result<(EpisodeRecord, Vec<Resource>), FhirError> {
        let head = self.store.head_position().await?;
        let events = self.events(client, head).await?;
        let id = ClientId::parse(&client.to_string()).map_err(|_| not_found("Patient", &client.to_string()))?;
        let fold = |e: carelog_fhir::FhirError| match e {
            carelog_fhir::FhirError::Fold(e) => FhirError::Internal(e.to_string()),
            _ => not_found("Patient", &client.to_string()),
        };
        let record = EpisodeRecord::from_events(id, &events).map_err(fold)?;
        let versions =
            carelog_fhir::history::versions_of_type(id, &events, resource_type, RefStyle::Relative).map_err(fold)?;
        Ok((record, versions))
    }

    /// Every event about `client` up to `up_to`, in log order.
    async fn events(&self, client: Uuid, up_to: Position) -> Result<Vec<carelog_store::RecordedEvent>, FhirError> {
        Ok(carelog_records::fhir::client_events(self.store.as_ref(), &client.to_string(), up_to).await?)
    }

    /// The clients whose records hold `resource_type/id` (empty: none).
    pub async fn owners(&self, resource_type: &str, id: &str) -> Result<Vec<Uuid>, FhirError> {
        if resource_type == "Patient" {
            return Ok(Uuid::parse_str(id).ok().into_iter().collect());
        }
        let key = (resource_type.to_owned(), id.to_owned());
        let mut index = self.index.lock().await;
        if let Some(owners) = index.owners.get(&key) {
            return Ok(owners.iter().copied().collect());
        }
        self.refresh(&mut index).await?;
        Ok(index.owners.get(&key).map(|o| o.iter().copied().collect()).unwrap_or_default())
    }

    /// Every client's Patient resource, current as of now.
    pub async fn patients(&self) -> Result<Vec<(Uuid, Value)>, FhirError> {
        let mut index = self.index.lock().await;
        self.refresh(&mut index).await?;
        Ok(index.patients.iter().map(|(id, patient)| (*id, patient.clone())).collect())
    }

    /// Registered client ids, in id order (UUIDv7: registration order).
    pub async fn clients(&self) -> Result<Vec<Uuid>, FhirError> {
        let mut index = self.index.lock().await;
        self.refresh(&mut index).await?;
        Ok(index.patients.keys().copied().collect())
    }

    /// Reads the events since the index's position and re-maps the clients they touched.
    async fn refresh(&self, index: &mut Index) -> Result<(), FhirError> {
        let head = self.store.head_position().await?;
        let mut touched = BTreeSet::new();
        let mut from = index.position.next();
        while from <= head {
            let query = LogQuery { from, up_to: Some(head), filter: Default::default(), limit: PAGE };
            let page = self.store.read_all(&query).await?;
            let Some(last) = page.last() else { break };
            from = last.position.next();
            touched.extend(page.iter().filter_map(|e| e.metadata.tags.client.as_deref()?.parse::<Uuid>().ok()));
        }
        for client in touched {
            match self.record_at(client, head).await {
                Ok(record) => {
                    for resource in carelog_fhir::resources(&record, RefStyle::Relative) {
                        if resource.resource_type == "Patient" {
                            index.patients.insert(client, resource.body.clone());
                        }
                        index
                            .owners
                            .entry((resource.resource_type.to_owned(), resource.id))
                            .or_default()
                            .insert(client);
                    }
                }
                // Events about a client that is not (yet) registered: nothing to serve.
                Err(FhirError::NotFound(_)) => {}
                Err(other) => return Err(other),
            }
        }
        index.position = head;
        Ok(())
    }
}

pub fn not_found(resource_type: &str, id: &str) -> FhirError {
    FhirError::NotFound(format!("{resource_type}/{id} is not known"))
}
