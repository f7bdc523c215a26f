//! Proof shapes and their verification (RFC 9162 §2.1.3 and §2.1.4), with no I/O.
//!
//! A proof is planned as a list of leaf ranges whose Merkle tree hashes it carries; [`MerkleTree`]
//! resolves each range from stored perfect subtrees. Verification is the RFC's iterative algorithm,
//! so an offline checker needs nothing but this module and the signed root.
//!
//! [`MerkleTree`]: super::MerkleTree

use std::ops::Range;

use super::{Hash, NodeKey, node_hash};

/// Why a proof was refused. Every variant is a reason a caller can show to an auditor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("tree size 0 has no leaves and proves nothing")]
    EmptyTree,
    #[error("leaf index {index} is not in a tree of size {size}")]
    LeafBeyondSize { index: u64, size: u64 },
    #[error("old size {old} is larger than new size {new}")]
    OldBeyondNew { old: u64, new: u64 },
    #[error("the proof has {found} hashes, a proof for these sizes has {expected}: truncated or for another size")]
    WrongLength { expected: usize, found: usize },
    #[error("the proof does not lead to the expected root")]
    RootMismatch,
    #[error("the proof does not lead to the old root: the log seen then is not a prefix of this one")]
    OldRootMismatch,
}

/// The largest power of two strictly below `n` (n ≥ 2): where RFC 6962 splits a tree.
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The ranges whose hashes prove leaf `index` is in the tree of `size` leaves, leaf to root.
pub fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<Range<u64>>, ProofError> {
    if size == 0 {
        return Err(ProofError::EmptyTree);
    }
    if index >= size {
        return Err(ProofError::LeafBeyondSize { index, size });
    }
    let mut out = Vec::new();
    path(index, 0..size, &mut out);
    Ok(out)
}

fn path(m: u64, range: Range<u64>, out: &mut Vec<Range<u64>>) {
    let n = range.end - range.start;
    if n <= 1 {
        return;
    }
    let mid = range.start + split(n);
    if m < mid {
        path(m, range.start..mid, out);
        out.push(mid..range.end);
    } else {
        path(m, mid..range.end, out);
        out.push(range.start..mid);
    }
}

/// The ranges whose hashes prove the tree of `old` leaves is a prefix of the tree of `new` leaves.
pub fn consistency_ranges(old: u64, new: u64) -> Result<Vec<Range<u64>>, ProofError> {
    if old == 0 {
        return Err(ProofError::EmptyTree);
    }
    if old > new {
        return Err(ProofError::OldBeyondNew { old, new });
    }
    let mut out = Vec::new();
    subproof(old, 0..new, true, &mut out);
    Ok(out)
}

fn subproof(m: u64, range: Range<u64>, whole: bool, out: &mut Vec<Range<u64>>) {
    let n = range.end - range.start;
    if m == n {
        if !whole {
            out.push(range);
        }
        return;
    }
    let k = split(n);
    let mid = range.start + k;
    if m <= k {
        subproof(m, range.start..mid, whole, out);
        out.push(mid..range.end);
    } else {
        subproof(m - k, mid..range.end, false, out);
        out.push(range.start..mid);
    }
}

/// The stored perfect subtrees a range's hash is folded from, in the order [`fold_range`] wants them.
pub fn range_keys(range: Range<u64>, out: &mut Vec<NodeKey>) {
    let n = range.end - range.start;
    if n.is_power_of_two() && range.start.is_multiple_of(n) {
        out.push(NodeKey { level: n.trailing_zeros(), index: range.start >> n.trailing_zeros() });
        return;
    }
    let mid = range.start + split(n);
    range_keys(range.start..mid, out);
    range_keys(mid..range.end, out);
}

/// The Merkle tree hash of a non-empty range, folded exactly as RFC 6962 shapes it, from perfect
/// subtree hashes looked up by key; None if one is missing.
pub fn fold_range(range: Range<u64>, lookup: &impl Fn(NodeKey) -> Option<Hash>) -> Option<Hash> {
    let n = range.end - range.start;
    if n.is_power_of_two() && range.start.is_multiple_of(n) {
        return lookup(NodeKey { level: n.trailing_zeros(), index: range.start >> n.trailing_zeros() });
    }
    let mid = range.start + split(n);
    Some(node_hash(&fold_range(range.start..mid, lookup)?, &fold_range(mid..range.end, lookup)?))
}

/// Checks that `leaf` is leaf `index` of the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    let expected = inclusion_ranges(index, size)?.len();
    if proof.len() != expected {
        return Err(ProofError::WrongLength { expected, found: proof.len() });
    }
    let (mut fnode, mut snode, mut hash) = (index, size - 1, *leaf);
    for sibling in proof {
        if fnode & 1 == 1 || fnode == snode {
            hash = node_hash(sibling, &hash);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            hash = node_hash(&hash, sibling);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 || hash != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Checks that the tree of `old` leaves with root `old_root` is a prefix of the tree of `new`
/// leaves with root `new_root`.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    let expected = consistency_ranges(old, new)?.len();
    if proof.len() != expected {
        return Err(ProofError::WrongLength { expected, found: proof.len() });
    }
    if old == new {
        return if old_root == new_root { Ok(()) } else { Err(ProofError::OldRootMismatch) };
    }
    // A power-of-two old tree is itself a node of the new one, so the RFC leaves it out of the proof.
    let mut nodes: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        nodes.push(*old_root);
    }
    nodes.extend_from_slice(proof);
    let (mut fnode, mut snode) = (old - 1, new - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let Some((seed, rest)) = nodes.split_first() else {
        return Err(ProofError::RootMismatch);
    };
    let (mut first, mut second) = (*seed, *seed);
    for node in rest {
        if snode == 0 {
            return Err(ProofError::RootMismatch);
        }
        if fnode & 1 == 1 || fnode == snode {
            first = node_hash(node, &first);
            second = node_hash(node, &second);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            second = node_hash(&second, node);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if first != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if snode != 0 || second != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}
