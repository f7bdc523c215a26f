//! A tamper-evident view of the whole log: an RFC 6962 (RFC 9162 §2.1) Merkle tree over events in
//! global order, kept beside the log by a background builder and never on the append path.
//!
//! Leaf `i` is the event at position `i + 1` (positions are dense and commit-ordered, ADR 0001, so
//! the tree only ever grows at its right edge). Its leaf data is the position (8 bytes, big-endian)
//! followed by the event's stored 32-byte chain hash: the chain hash already covers the canonical
//! envelope (ciphertext once PHI is encrypted, so shredding a key changes no leaf), and the explicit
//! position makes a row moved to another position a different leaf even if its bytes are intact.
//!
//! [`proof`] and [`frontier`] are pure math; [`tree`] keeps the perfect-subtree hashes in the
//! database and answers roots and proofs for any size up to the built one from O(log n) rows.

mod adapters;
pub mod builder;
pub mod frontier;
mod port;
mod postgres;
pub mod proof;
mod rows;
mod sqlite;
mod tables;
pub mod tree;

#[cfg(test)]
mod proof_tests;

use sha2::{Digest, Sha256};

pub use builder::TreeBuilder;
pub use frontier::Frontier;
pub use proof::{ProofError, consistency_ranges, inclusion_ranges, verify_consistency, verify_inclusion};
pub use tables::StoredCheckpoint;
pub use tree::{MerkleTree, RowCheck, TreeError};

/// A SHA-256 digest: a leaf, an inner node or a root.
pub type Hash = [u8; 32];

/// Where a perfect subtree sits: it covers leaves `[index << level, (index + 1) << level)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeKey {
    pub level: u32,
    pub index: u64,
}

/// The root of the empty tree: SHA-256 of nothing (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// RFC 6962 leaf hash: SHA-256(0x00 || data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    hasher.finalize().into()
}

/// RFC 6962 interior node: SHA-256(0x01 || left || right). The prefixes keep a leaf from ever
/// being passed off as a node (second-preimage attacks on the tree shape).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The leaf of the event at `position` (1-based) whose stored chain hash is `event_hash`.
pub fn event_leaf(position: u64, event_hash: &Hash) -> Hash {
    let mut data = [0u8; 40];
    data[..8].copy_from_slice(&position.to_be_bytes());
    data[8..].copy_from_slice(event_hash);
    leaf_hash(&data)
}
