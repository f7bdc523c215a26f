//! A client's first data key, committed with the append sealed under it.
//!
//! The vault keeps clients' data keys in a table beside the log ([`crate::Database`]). A new
//! client's key must be durable wherever the events sealed with it are, or they are unreadable
//! for good; stored in a commit of its own it cost every registration a second durable commit
//! (and on PostgreSQL a second fsync and standby round trip), which at 8 callers took a fifth of
//! the throughput. Backends that keep the key table in the log's own database commit the key in
//! the append's transaction instead: this port, which [`crate::OpenedStore::first_keys`] hands the
//! vault (implemented beside each backend's writer). The [`crate::EventStore`] port knows nothing of keys; a backend without this (KurrentDB)
//! has its keys stored first, durably, by the vault.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::StoreError;
use crate::model::{AppendRequest, AppendResult};

/// A new client's data key, wrapped by the master key, for the vault's `client_keys` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClientKey {
    pub client: String,
    pub wrapped: Vec<u8>,
}

/// Appends that carry their clients' first keys.
#[async_trait]
pub trait AppendWithKeys: Send + Sync + std::fmt::Debug {
    /// Appends `request` (as [`crate::EventStore::append`]) and stores `keys` in the same commit.
    /// A key is stored only if its client has none and was never erased; if any key of the
    /// request is not stored, neither is the request: it fails with
    /// [`StoreError::ClientKeyTaken`] (seal again with the stored key and retry). A request
    /// refused for any other reason stores no key.
    async fn append_with_keys(
        &self,
        request: AppendRequest,
        keys: Vec<NewClientKey>,
    ) -> Result<AppendResult, StoreError>;
}

/// The port for a store, as [`crate::OpenedStore`] carries it.
pub(crate) fn of(store: impl AppendWithKeys + 'static) -> Option<Arc<dyn AppendWithKeys>> {
    Some(Arc::new(store))
}
