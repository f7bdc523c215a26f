//! The compact right edge of a growing tree: one perfect-subtree hash per set bit of the size.
//! Appending a leaf merges equal-sized subtrees, so each append yields the new nodes to store
//! in amortised O(1), and the root is a fold of at most 64 hashes.

use super::proof::range_keys;
use super::{Hash, NodeKey, empty_root, node_hash};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    /// Perfect subtrees covering `[0, size)`, largest (leftmost) first.
    stack: Vec<(NodeKey, Hash)>,
}

impl Frontier {
    pub fn new() -> Self {
        Self::default()
    }

    /// The keys a frontier of `size` leaves is made of: load them and pass them to [`Frontier::from_nodes`].
    pub fn keys(size: u64) -> Vec<NodeKey> {
        let mut keys = Vec::new();
        let mut start = 0;
        // The binary decomposition of `size`, highest bit first: each is an aligned perfect subtree.
        for level in (0..64).rev() {
            if size & (1 << level) != 0 {
                range_keys(start..start + (1 << level), &mut keys);
                start += 1 << level;
            }
        }
        keys
    }

    /// Rebuilds the frontier from stored nodes; they must be exactly those [`Frontier::keys`] names.
    pub fn from_nodes(size: u64, nodes: Vec<(NodeKey, Hash)>) -> Option<Self> {
        let keys = Self::keys(size);
        if keys.len() != nodes.len() || keys.iter().zip(&nodes).any(|(key, (got, _))| key != got) {
            return None;
        }
        Some(Self { size, stack: nodes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash and returns every node it completes (the leaf itself first).
    pub fn push(&mut self, leaf: Hash) -> Vec<(NodeKey, Hash)> {
        let mut created = vec![(NodeKey { level: 0, index: self.size }, leaf)];
        let mut top = (NodeKey { level: 0, index: self.size }, leaf);
        while let Some(&(left_key, left)) = self.stack.last() {
            if left_key.level != top.0.level {
                break;
            }
            self.stack.pop();
            let key = NodeKey { level: left_key.level + 1, index: left_key.index >> 1 };
            top = (key, node_hash(&left, &top.1));
            created.push(top);
        }
        self.stack.push(top);
        self.size += 1;
        created
    }

    /// The root of the tree of `size` leaves.
    pub fn root(&self) -> Hash {
        let mut nodes = self.stack.iter().rev();
        let Some(&(_, mut root)) = nodes.next() else {
            return empty_root();
        };
        for (_, left) in nodes {
            root = node_hash(left, &root);
        }
        root
    }
}
