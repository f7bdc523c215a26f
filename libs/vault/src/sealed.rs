//! `SealedStore`: an [`EventStore`] decorator that seals PHI fields on the way in and opens them
//! on the way out. The inner store only ever sees ciphertext, so its hashes cover the ciphertext
//! and `verify` passes before and after a key is shredded.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use carelog_domain::types::{ClientId, ERASED};
use carelog_store::{
    AppendRequest, AppendResult, AppendWithKeys, EventStore, EventSubscription, ExpectedRevision, LogFilter, LogQuery,
    Metadata, NewEvent, Position, RecordedEvent, StoreError, StreamName, StreamQuery, SubscriptionItem, VerifyProgress,
    VerifyReport, VerifyScope,
};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde_json::Value;
use uuid::Uuid;

use crate::cipher::{self, CipherError};
use crate::keys::{ClientKey, KeyStore};
use crate::phi;
use crate::sealing_keys::NewKeys;

/// The event log with PHI sealed under per-client keys.
#[derive(Debug, Clone)]
pub struct SealedStore {
    inner: Arc<dyn EventStore>,
    keys: KeyStore,
    /// Appends that store new clients' keys in their own commit, where the log's database keeps
    /// the key table (else each new key is stored durably before the append).
    first_keys: Option<Arc<dyn AppendWithKeys>>,
}

impl SealedStore {
    /// The log sealed under keys stored before each append that first uses them.
    pub fn new(inner: Arc<dyn EventStore>, keys: KeyStore) -> Self {
        Self { inner, keys, first_keys: None }
    }

    /// The log sealed under keys stored with the append that first uses them: `first_keys` is
    /// the same log's [`OpenedStore::first_keys`](carelog_store::OpenedStore::first_keys).
    pub fn with_first_keys(mut self, first_keys: Option<Arc<dyn AppendWithKeys>>) -> Self {
        self.first_keys = first_keys;
        self
    }

    pub fn keys(&self) -> &KeyStore {
        &self.keys
    }

    /// The undecorated store: ciphertext as stored.
    pub fn inner(&self) -> &Arc<dyn EventStore> {
        &self.inner
    }

    pub(crate) fn seal(event: &mut NewEvent, keys: &HashMap<String, ClientKey>) -> Result<(), StoreError> {
        if phi::is_erasure_record(&event.event_type) {
            return Ok(());
        }
        let Some(client) = event.metadata.tags.client.clone() else {
            if carries_phi(&event.event_type, &mut event.data) {
                return Err(StoreError::Database(format!(
                    "event {} ({}) carries PHI but names no client in metadata.tags.client; it would be stored \
                     unsealed and could never be erased",
                    event.event_id, event.event_type
                )));
            }
            return Ok(());
        };
        let key = match keys.get(&client).ok_or_else(|| missing_key(&client))? {
            ClientKey::Key(key) => key,
            ClientKey::Shredded => {
                if carries_phi(&event.event_type, &mut event.data) {
                    return Err(StoreError::Database(format!(
                        "client {client} was erased: event {} ({}) carries PHI that could not be erased again",
                        event.event_id, event.event_type
                    )));
                }
                // Nothing of an erased client's is kept readable, not even a reason or fingerprint.
                event.metadata.reason = None;
                event.metadata.command = None;
                return Ok(());
            }
        };
        let id = event.event_id;
        let mut seal = |path: &str, value: &Value| Ok::<_, StoreError>(Value::from(cipher::seal(key, id, path, value)));
        phi::rewrite_sealed(&event.event_type, &mut event.data, &mut seal)?;
        rewrite_metadata(&mut event.metadata, &mut seal)
    }

    async fn open(&self, mut event: RecordedEvent) -> Result<RecordedEvent, StoreError> {
        let Some(client) = event.metadata.tags.client.clone() else { return Ok(event) };
        if phi::is_erasure_record(&event.event_type) || !is_sealed_anywhere(&mut event) {
            return Ok(event);
        }
        let position = event.position;
        let corrupt = |e: CipherError| StoreError::Corrupt { position, reason: e.to_string() };
        let key = match self.keys.key_for_reading(&client).await.map_err(|e| e.into_store_error(position))? {
            Some(ClientKey::Key(key)) => Some(key),
            Some(ClientKey::Shredded) => None,
            None => {
                return Err(StoreError::Corrupt {
                    position,
                    reason: format!("sealed PHI of client {client} but no key for them in the key store"),
                });
            }
        };
        let id = event.event_id;
        let mut open = |path: &str, value: &Value| -> Result<Value, StoreError> {
            match (value.as_str().filter(|_| cipher::is_sealed(value)), &key) {
                (Some(sealed), Some(key)) => cipher::open(key, id, path, sealed).map_err(corrupt),
                (Some(_), None) => Ok(Value::from(ERASED)),
                (None, _) => Ok(value.clone()),
            }
        };
        phi::rewrite_strings(&mut event.data, &mut open)?;
        rewrite_metadata(&mut event.metadata, &mut open)?;
        Ok(event)
    }

    async fn open_all(&self, events: Vec<RecordedEvent>) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut opened = Vec::with_capacity(events.len());
        for event in events {
            opened.push(self.open(event).await?);
        }
        Ok(opened)
    }
}

fn missing_key(client: &str) -> StoreError {
    StoreError::Database(format!("no data key was looked up for client {client}"))
}

fn carries_phi(event_type: &str, data: &mut Value) -> bool {
    let mut found = false;
    let _ = phi::rewrite_sealed(event_type, data, &mut |_: &str, v: &Value| {
        found = true;
        Ok::<_, ()>(v.clone())
    });
    found
}

fn is_sealed_anywhere(event: &mut RecordedEvent) -> bool {
    let mut found = event.metadata.reason.as_deref().is_some_and(|r| r.starts_with(cipher::SEALED_PREFIX));
    let _ = phi::rewrite_strings(&mut event.data, &mut |_: &str, v: &Value| {
        found |= cipher::is_sealed(v);
        Ok::<_, ()>(v.clone())
    });
    found || event.metadata.command.as_ref().is_some_and(|c| c.fingerprint.starts_with(cipher::SEALED_PREFIX))
}

/// The metadata fields of [`phi::METADATA_PATHS`], each with the path its ciphertext is bound to.
fn sealed_metadata(metadata: &mut Metadata) -> [(&'static str, Option<&mut String>); 2] {
    [
        ("metadata.reason", metadata.reason.as_mut()),
        ("metadata.command.fingerprint", metadata.command.as_mut().map(|c| &mut c.fingerprint)),
    ]
}

/// Seals or opens the metadata's PHI in place (a JSON round trip of the whole metadata per event
/// cost more than the cipher).
fn rewrite_metadata(
    metadata: &mut Metadata,
    rewrite: &mut impl FnMut(&str, &Value) -> Result<Value, StoreError>,
) -> Result<(), StoreError> {
    for (path, field) in sealed_metadata(metadata) {
        let Some(text) = field else { continue };
        match rewrite(path, &Value::from(text.as_str()))? {
            Value::String(rewritten) => *text = rewritten,
            other => return Err(StoreError::Database(format!("{path}: sealed text opened to {other}, not text"))),
        }
    }
    Ok(())
}

#[async_trait]
impl EventStore for SealedStore {
    fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }

    async fn append(&self, request: AppendRequest) -> Result<AppendResult, StoreError> {
        match &self.first_keys {
            Some(first_keys) => self.append_with_new_keys(first_keys.as_ref(), request).await,
            None => {
                let keys = self.writing_keys(&request, NewKeys::First).await?;
                self.seal_and_append(request, &keys).await
            }
        }
    }

    async fn read_stream(&self, stream: &StreamName, query: StreamQuery) -> Result<Vec<RecordedEvent>, StoreError> {
        let events = self.inner.read_stream(stream, query).await?;
        self.open_all(events).await
    }

    async fn read_all(&self, query: &LogQuery) -> Result<Vec<RecordedEvent>, StoreError> {
        let events = self.inner.read_all(query).await?;
        self.open_all(events).await
    }

    async fn read_client(&self, client: &str, query: &LogQuery) -> Result<Vec<RecordedEvent>, StoreError> {
        let events = self.inner.read_client(client, query).await?;
        self.open_all(events).await
    }

    async fn position_at(&self, time: DateTime<Utc>) -> Result<Position, StoreError> {
        self.inner.position_at(time).await
    }

    async fn stream_revision(&self, stream: &StreamName) -> Result<Option<u64>, StoreError> {
        self.inner.stream_revision(stream).await
    }

    async fn head_position(&self) -> Result<Position, StoreError> {
        self.inner.head_position().await
    }

    async fn event_by_id(&self, event_id: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
        match self.inner.event_by_id(event_id).await? {
            Some(event) => Ok(Some(self.open(event).await?)),
            None => Ok(None),
        }
    }

    fn subscribe(&self, after: Position, filter: LogFilter) -> EventSubscription {
        let this = self.clone();
        self.inner
            .subscribe(after, filter)
            .then(move |item| {
                let this = this.clone();
                async move {
                    match item? {
                        SubscriptionItem::Event(event) => {
                            Ok(SubscriptionItem::Event(Box::new(this.open(*event).await?)))
                        }
                        caught_up => Ok(caught_up),
                    }
                }
            })
            .boxed()
    }

    /// Hashes cover the stored ciphertext: verification needs no key and survives shredding.
    async fn verify(
        &self,
        scope: &VerifyScope,
        progress: &(dyn Fn(VerifyProgress) + Send + Sync),
    ) -> Result<VerifyReport, StoreError> {
        self.inner.verify(scope, progress).await
    }
}

/// Whether `request` creates the stream of `client` itself (the client's registration): the one
/// append where the client almost surely has no key yet.
pub(crate) fn starts_own_stream(request: &AppendRequest, client: &str) -> bool {
    request.expected == ExpectedRevision::NoStream
        && ClientId::from_stream_name(request.stream.as_str()).is_ok_and(|id| id.to_string() == client)
}

#[cfg(test)]
mod tests {
    use carelog_store::{Actor, CommandRef};
    use chrono::Utc;

    use super::*;

    #[test]
    fn the_sealed_metadata_fields_are_the_listed_phi_paths() {
        let mut metadata = Metadata::by(Actor::new("a", "intake"), Utc::now());
        metadata.reason = Some("r".into());
        metadata.command = Some(CommandRef { id: Uuid::nil(), fingerprint: "f".into() });
        let fields = sealed_metadata(&mut metadata);
        let paths: Vec<_> = fields.iter().map(|(path, field)| (*path, field.is_some())).collect();
        let listed: Vec<_> = phi::METADATA_PATHS.iter().map(|p| (format!("metadata.{p}"), true)).collect();
        assert_eq!(paths.iter().map(|(p, s)| (p.to_string(), *s)).collect::<Vec<_>>(), listed);
    }
}
