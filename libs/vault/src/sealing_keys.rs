//! The keys one append seals with, and the append of a client's first events with their new key.

use std::collections::HashMap;

use carelog_store::{AppendRequest, AppendResult, AppendWithKeys, NewClientKey, Position, StoreError};

use crate::cipher::SecretKey;
use crate::keys::ClientKey;
use crate::phi;
use crate::sealed::{SealedStore, starts_own_stream};

/// How many times an append is sealed again after another first append stored its client's key
/// first: each retry uses the key that was stored, so one is enough unless keys are being
/// created and erased for the client at the same moment.
const KEY_RACES: usize = 3;

/// What a client without a key gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NewKeys {
    /// A fresh key, stored with the append ([`AppendWithKeys`]).
    WithTheAppend,
    /// A key stored (durably) before the append: for a log whose database has no key table.
    First,
}

/// The keys of every client the request's events name, by client, and which of them are new.
#[derive(Debug, Default)]
pub(crate) struct WritingKeys {
    pub by_client: HashMap<String, ClientKey>,
    /// Keys created for this append, to store with it.
    pub new: Vec<(NewClientKey, SecretKey)>,
}

impl SealedStore {
    /// A client's key is the cached one, else the stored one, else a new one: created and stored
    /// with the append (`WithTheAppend`), or stored first (get or create, through the key rows:
    /// concurrent first commands for one client all get the one key stored).
    ///
    /// A client whose own stream this request starts (their registration) almost surely has no
    /// key yet: no lookup goes first; the store refuses a new key when one is stored after all
    /// ([`StoreError::ClientKeyTaken`]), or get-or-create returns the stored key or the tombstone.
    pub(crate) async fn writing_keys(
        &self,
        request: &AppendRequest,
        new_keys: NewKeys,
    ) -> Result<WritingKeys, StoreError> {
        let mut keys = WritingKeys::default();
        for event in &request.events {
            let Some(client) = event.metadata.tags.client.as_deref() else { continue };
            if phi::is_erasure_record(&event.event_type) || keys.by_client.contains_key(client) {
                continue;
            }
            let store_error = |e: crate::error::VaultError| e.into_store_error(Position::START);
            let known = match self.keys().cached(client) {
                Some(key) => Some(key),
                None if starts_own_stream(request, client) => None,
                None => self.keys().load(client).await.map_err(store_error)?,
            };
            let key = match (known, new_keys) {
                (Some(key), _) => key,
                (None, NewKeys::First) => self.keys().key_for_writing(client).await.map_err(store_error)?,
                (None, NewKeys::WithTheAppend) => {
                    let (key, wrapped) = self.keys().fresh_key(client);
                    keys.new.push((NewClientKey { client: client.to_owned(), wrapped }, key.clone()));
                    ClientKey::Key(key)
                }
            };
            keys.by_client.insert(client.to_owned(), key);
        }
        Ok(keys)
    }

    /// Seals and appends `request`, storing its clients' new keys in the same commit. When
    /// another first append stored a client's key first, the append is sealed again with that key.
    pub(crate) async fn append_with_new_keys(
        &self,
        first_keys: &dyn AppendWithKeys,
        request: AppendRequest,
    ) -> Result<AppendResult, StoreError> {
        let mut races = 0;
        loop {
            let keys = self.writing_keys(&request, NewKeys::WithTheAppend).await?;
            if keys.new.is_empty() {
                return self.seal_and_append(request, &keys).await;
            }
            let sealed = Self::sealed(request.clone(), &keys)?;
            let rows = keys.new.iter().map(|(row, _)| row.clone()).collect();
            match first_keys.append_with_keys(sealed, rows).await {
                Ok(result) => {
                    for (row, key) in keys.new {
                        self.keys().remember_stored(&row.client, key);
                    }
                    return Ok(result);
                }
                Err(StoreError::ClientKeyTaken { client }) if races < KEY_RACES => {
                    races += 1;
                    // The stored key or tombstone, cached: the next round seals with it.
                    self.keys().load(&client).await.map_err(|e| e.into_store_error(Position::START))?;
                }
                Err(error) => return Err(error),
            }
        }
    }

    pub(crate) async fn seal_and_append(
        &self,
        request: AppendRequest,
        keys: &WritingKeys,
    ) -> Result<AppendResult, StoreError> {
        self.inner().append(Self::sealed(request, keys)?).await
    }

    fn sealed(mut request: AppendRequest, keys: &WritingKeys) -> Result<AppendRequest, StoreError> {
        for event in &mut request.events {
            Self::seal(event, &keys.by_client)?;
        }
        Ok(request)
    }
}
