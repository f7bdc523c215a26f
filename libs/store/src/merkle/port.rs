//! The Merkle tree's storage port: perfect-subtree nodes, the built size and root, signed
//! checkpoints, and the log's rows as the tree reads them. One adapter per backend
//! (`sqlite.rs`, `postgres.rs`), chosen once in `adapters.rs`.

use async_trait::async_trait;

use super::rows::LeafRow;
use super::tables::StoredCheckpoint;
use super::{Hash, NodeKey};
use crate::error::StoreError;

#[async_trait]
pub(crate) trait MerkleTables: Send + Sync + std::fmt::Debug {
    /// The built size and its root.
    async fn tree_head(&self) -> Result<(u64, Hash), StoreError>;
    /// The stored nodes among `keys`, in the order asked; a missing one is an error.
    async fn nodes(&self, keys: &[NodeKey]) -> Result<Vec<(NodeKey, Hash)>, StoreError>;
    /// Level-0 nodes (leaf hashes) for leaf indexes `[from, from + limit)`.
    async fn stored_leaves(&self, from: u64, limit: u64) -> Result<Vec<(u64, Hash)>, StoreError>;
    /// `(position, stored chain hash)` of events after `after`, up to `until`, at most `limit`.
    async fn event_hashes(&self, after: u64, until: u64, limit: u64) -> Result<Vec<(i64, Vec<u8>)>, StoreError>;
    /// The log's rows after `after` up to `until`, at most `limit`, in position order, each with
    /// whether its content still gives its stored hash.
    async fn leaf_rows(&self, after: u64, until: u64, limit: u64) -> Result<Vec<LeafRow>, StoreError>;
    /// Moves the tree from `from` to `to` leaves with the nodes that completes, in one
    /// transaction, only if nobody else moved it first; false (writing nothing) if someone did.
    async fn commit(&self, from: u64, to: u64, root: &Hash, nodes: &[(NodeKey, Hash)]) -> Result<bool, StoreError>;
    async fn insert_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<i64, StoreError>;
    /// The newest checkpoint, or the newest at exactly `size`.
    async fn latest_checkpoint(&self, size: Option<u64>) -> Result<Option<StoredCheckpoint>, StoreError>;
    /// Checkpoints with an id below `before` (0: from the newest), newest first.
    async fn list_checkpoints(&self, before: i64, limit: u32) -> Result<Vec<StoredCheckpoint>, StoreError>;
}
