//! The stored tree: roots and proofs for any size up to the built one from O(log n) stored nodes,
//! and the check that the rows of the log still produce what was committed.

use std::ops::Range;
use std::sync::Arc;

use super::port::MerkleTables;
use super::proof::{ProofError, fold_range, range_keys};
use super::rows::LeafRow;
use super::tables::{StoredCheckpoint, to_hash};
use super::{Frontier, Hash, NodeKey, consistency_ranges, empty_root, event_leaf, inclusion_ranges};
use crate::Database;
use crate::error::StoreError;

/// Rows read per query while rechecking the log.
const PAGE: u64 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Proof(#[from] ProofError),
    #[error("tree size {size} is beyond the log (head {head})")]
    BeyondLog { size: u64, head: u64 },
    #[error("the tree is built up to {built} events; size {size} is not built yet")]
    NotBuilt { size: u64, built: u64 },
    #[error("position {position}: {reason}; the log was altered after it was added to the tree")]
    Tampered { position: u64, reason: String },
    #[error(
        "the stored tree gives root {stored} at size {size}, the log's rows give {rows}: the tree table was altered"
    )]
    RootMismatch { size: u64, stored: String, rows: String },
    #[error("the stored tree's root at size {size} differs from the root signed in checkpoint {checkpoint}")]
    CheckpointMismatch { size: u64, checkpoint: i64 },
    #[error("the tree holds {built} leaves but the next event the log delivered is at position {found}")]
    Gap { built: u64, found: u64 },
    #[error("another builder moved the tree from {from}")]
    Stale { from: u64 },
}

/// What a recheck of the rows found: the root they produce at each size asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowCheck {
    pub roots: Vec<(u64, Hash)>,
}

/// The Merkle tree kept in the log's database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct MerkleTree {
    tables: Arc<dyn MerkleTables>,
}

impl MerkleTree {
    /// The tree in the log's database (its tables come with the store's migrations).
    pub fn new(database: Database) -> Self {
        Self { tables: super::adapters::tables(database) }
    }

    pub(crate) fn tables(&self) -> &dyn MerkleTables {
        self.tables.as_ref()
    }

    /// How many leaves are built, and the root over them.
    pub async fn head(&self) -> Result<(u64, Hash), TreeError> {
        Ok(self.tables.tree_head().await?)
    }

    /// The built size, failing if it is below `size`.
    async fn require_built(&self, size: u64) -> Result<(), TreeError> {
        let (built, _) = self.head().await?;
        if size > built {
            return Err(TreeError::NotBuilt { size, built });
        }
        Ok(())
    }

    async fn resolve(&self, ranges: &[Range<u64>]) -> Result<Vec<Hash>, TreeError> {
        let mut keys = Vec::new();
        for range in ranges {
            range_keys(range.clone(), &mut keys);
        }
        let found: std::collections::HashMap<NodeKey, Hash> = self.tables.nodes(&keys).await?.into_iter().collect();
        ranges
            .iter()
            .map(|range| {
                fold_range(range.clone(), &|key| found.get(&key).copied())
                    .ok_or_else(|| StoreError::Database("Merkle tree node missing".into()).into())
            })
            .collect()
    }

    async fn resolve_one(&self, range: Range<u64>) -> Result<Hash, TreeError> {
        let resolved = self.resolve(std::slice::from_ref(&range)).await?;
        resolved.into_iter().next().ok_or_else(|| StoreError::Database("Merkle tree node missing".into()).into())
    }

    /// The root of the first `size` leaves (the empty root for 0).
    pub async fn root_at(&self, size: u64) -> Result<Hash, TreeError> {
        if size == 0 {
            return Ok(empty_root());
        }
        self.require_built(size).await?;
        self.resolve_one(0..size).await
    }

    /// The stored leaf `index` and the path proving it is in the tree of `size` leaves.
    pub async fn inclusion(&self, index: u64, size: u64) -> Result<(Hash, Vec<Hash>), TreeError> {
        let ranges = inclusion_ranges(index, size)?;
        self.require_built(size).await?;
        let leaf = self.resolve_one(index..index + 1).await?;
        Ok((leaf, self.resolve(&ranges).await?))
    }

    /// The path proving the tree of `old` leaves is a prefix of the tree of `new` leaves.
    pub async fn consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>, TreeError> {
        let ranges = consistency_ranges(old, new)?;
        self.require_built(new).await?;
        self.resolve(&ranges).await
    }

    /// The stored tree's frontier at its built size, checked against the stored root.
    pub(crate) async fn frontier(&self) -> Result<Frontier, TreeError> {
        let (size, root) = self.head().await?;
        let nodes = self.tables.nodes(&Frontier::keys(size)).await?;
        let frontier = Frontier::from_nodes(size, nodes)
            .ok_or_else(|| StoreError::Database("Merkle frontier does not match its keys".into()))?;
        if frontier.root() != root {
            let stored = hex::encode(root);
            return Err(TreeError::RootMismatch { size, stored, rows: hex::encode(frontier.root()) });
        }
        Ok(frontier)
    }

    /// Recomputes the tree from the log's rows up to `size` and checks that they still produce the
    /// stored tree's root at `size` and at every size in `also`, and every signed checkpoint's root
    /// up to `size`. The first row that no longer matches its committed leaf is named.
    pub async fn check_rows(&self, size: u64, also: &[u64]) -> Result<RowCheck, TreeError> {
        self.require_built(size).await?;
        let checkpoints = self.signed_up_to(size).await?;
        let mut wanted: Vec<u64> = also.iter().copied().chain(checkpoints.iter().map(|c| c.tree_size)).collect();
        wanted.push(size);
        wanted.retain(|s| *s > 0 && *s <= size);
        wanted.sort_unstable();
        wanted.dedup();
        let mut frontier = Frontier::new();
        let mut roots = Vec::new();
        let mut targets = wanted.iter().peekable();
        while frontier.size() < size {
            let rows = self.tables.leaf_rows(frontier.size(), size, PAGE).await?;
            if rows.is_empty() {
                let position = frontier.size() + 1;
                return Err(TreeError::Tampered { position, reason: "the event is missing".into() });
            }
            for LeafRow { position, hash, content_matches } in rows {
                let expected = frontier.size() + 1;
                if position != crate::row::to_i64(expected) {
                    let reason = format!("the event is missing (next row is at position {position})");
                    return Err(TreeError::Tampered { position: expected, reason });
                }
                if !content_matches {
                    let reason = "the row's content no longer gives its stored hash".into();
                    return Err(TreeError::Tampered { position: expected, reason });
                }
                let hash = to_hash(&hash).map_err(|_| TreeError::Tampered {
                    position: expected,
                    reason: "the stored hash is not 32 bytes".into(),
                })?;
                frontier.push(event_leaf(expected, &hash));
                if targets.next_if_eq(&&frontier.size()).is_some() {
                    roots.push((frontier.size(), frontier.root()));
                }
            }
        }
        for (at, rows_root) in &roots {
            let stored = self.root_at(*at).await?;
            if stored != *rows_root {
                return Err(self.locate(*at, stored, *rows_root).await?);
            }
            if let Some(signed) = checkpoints.iter().find(|c| c.tree_size == *at && c.root != stored) {
                return Err(TreeError::CheckpointMismatch { size: *at, checkpoint: signed.id });
            }
        }
        Ok(RowCheck { roots })
    }

    /// Finds the first leaf below `size` whose row no longer gives its stored leaf hash.
    async fn locate(&self, size: u64, stored: Hash, rows: Hash) -> Result<TreeError, TreeError> {
        let mut from = 0;
        while from < size {
            let leaves = self.tables.stored_leaves(from, PAGE.min(size - from)).await?;
            let events = self.tables.event_hashes(from, size, PAGE).await?;
            for ((index, leaf), (position, hash)) in leaves.iter().zip(&events) {
                let matches = *position == crate::row::to_i64(index + 1)
                    && to_hash(hash).is_ok_and(|hash| event_leaf(index + 1, &hash) == *leaf);
                if !matches {
                    let reason = "the row no longer gives the leaf committed to the tree".into();
                    return Ok(TreeError::Tampered { position: index + 1, reason });
                }
            }
            from += leaves.len().max(1) as u64;
        }
        Ok(TreeError::RootMismatch { size, stored: hex::encode(stored), rows: hex::encode(rows) })
    }

    /// Signed checkpoints up to `size`, oldest first.
    pub async fn signed_up_to(&self, size: u64) -> Result<Vec<StoredCheckpoint>, TreeError> {
        let mut all = Vec::new();
        let mut before = 0;
        loop {
            let page = self.tables.list_checkpoints(before, 1000).await?;
            let Some(last) = page.last() else { break };
            before = last.id;
            all.extend(page.into_iter().filter(|c| c.tree_size <= size));
        }
        all.reverse();
        Ok(all)
    }

    /// Stores a signed checkpoint and returns it with its id.
    pub async fn add_checkpoint(&self, mut checkpoint: StoredCheckpoint) -> Result<StoredCheckpoint, TreeError> {
        checkpoint.id = self.tables.insert_checkpoint(&checkpoint).await?;
        Ok(checkpoint)
    }

    /// The newest checkpoint, or the newest at exactly `size`.
    pub async fn checkpoint(&self, size: Option<u64>) -> Result<Option<StoredCheckpoint>, TreeError> {
        Ok(self.tables.latest_checkpoint(size).await?)
    }

    /// Checkpoints older than id `before` (0: from the newest), newest first.
    pub async fn checkpoints(&self, before: i64, limit: u32) -> Result<Vec<StoredCheckpoint>, TreeError> {
        Ok(self.tables.list_checkpoints(before, limit).await?)
    }
}
