//! The proofs against a straightforward reference: RFC 6962's recursive definitions over a slice
//! of leaves, with no frontier, no stored nodes and no iterative verification.

use std::collections::HashMap;

use proptest::prelude::*;

use super::proof::{fold_range, range_keys};
use super::*;

fn leaves(n: u64) -> Vec<Hash> {
    (1..=n).map(|position| event_leaf(position, &[position as u8; 32])).collect()
}

/// MTH(D[n]) exactly as RFC 6962 §2.1 defines it.
fn reference_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = reference_split(n);
            node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
        }
    }
}

fn reference_split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// PATH(m, D[n]) from RFC 6962 §2.1.1.
fn reference_path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    if leaves.len() <= 1 {
        return vec![];
    }
    let k = reference_split(leaves.len());
    if m < k {
        let mut path = reference_path(m, &leaves[..k]);
        path.push(reference_root(&leaves[k..]));
        path
    } else {
        let mut path = reference_path(m - k, &leaves[k..]);
        path.push(reference_root(&leaves[..k]));
        path
    }
}

/// SUBPROOF(m, D[n], b) from RFC 6962 §2.1.2.
fn reference_subproof(m: usize, leaves: &[Hash], whole: bool) -> Vec<Hash> {
    if m == leaves.len() {
        return if whole { vec![] } else { vec![reference_root(leaves)] };
    }
    let k = reference_split(leaves.len());
    if m <= k {
        let mut proof = reference_subproof(m, &leaves[..k], whole);
        proof.push(reference_root(&leaves[k..]));
        proof
    } else {
        let mut proof = reference_subproof(m - k, &leaves[k..], false);
        proof.push(reference_root(&leaves[..k]));
        proof
    }
}

/// Every node a frontier emitted while growing to `n` leaves, as the tree table would hold them.
fn stored_nodes(n: u64) -> (Frontier, HashMap<NodeKey, Hash>) {
    let mut frontier = Frontier::new();
    let mut nodes = HashMap::new();
    for leaf in leaves(n) {
        nodes.extend(frontier.push(leaf));
    }
    (frontier, nodes)
}

fn resolve(ranges: &[std::ops::Range<u64>], nodes: &HashMap<NodeKey, Hash>) -> Vec<Hash> {
    ranges.iter().map(|r| fold_range(r.clone(), &|key| nodes.get(&key).copied()).expect("node stored")).collect()
}

#[test]
fn reference_root_matches_the_rfc_split() {
    for n in 0..40 {
        let all = leaves(n);
        if n >= 2 {
            let k = reference_split(all.len());
            assert_eq!(reference_root(&all), node_hash(&reference_root(&all[..k]), &reference_root(&all[k..])));
        }
    }
}

#[test]
fn known_vectors_fix_the_leaf_and_node_encoding() {
    // RFC 6962 leaf of the empty string and the empty tree: e3b0… is SHA-256("").
    assert_eq!(hex::encode(empty_root()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_eq!(hex::encode(leaf_hash(b"")), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn frontier_and_stored_nodes_give_the_reference_root(n in 0u64..300) {
        let (frontier, nodes) = stored_nodes(n);
        let expected = reference_root(&leaves(n));
        prop_assert_eq!(frontier.root(), expected);
        if n > 0 {
            prop_assert_eq!(fold_range(0..n, &|key| nodes.get(&key).copied()), Some(expected));
            let mut keys = Vec::new();
            range_keys(0..n, &mut keys);
            prop_assert_eq!(&keys, &Frontier::keys(n));
            let loaded = keys.iter().map(|k| (*k, nodes[k])).collect::<Vec<_>>();
            let rebuilt = Frontier::from_nodes(n, loaded);
            prop_assert_eq!(rebuilt.map(|f| f.root()), Some(expected));
        }
    }

    #[test]
    fn inclusion_proofs_match_the_reference_and_verify(n in 1u64..300, seed in any::<u64>()) {
        let index = seed % n;
        let all = leaves(n);
        let (_, nodes) = stored_nodes(n);
        let proof = resolve(&inclusion_ranges(index, n).expect("in range"), &nodes);
        prop_assert_eq!(&proof, &reference_path(index as usize, &all));
        let root = reference_root(&all);
        prop_assert_eq!(verify_inclusion(index, n, &all[index as usize], &proof, &root), Ok(()));
        // Any other leaf, or a proof cut short, is refused.
        // (A bit flipped in the real leaf: a fixed stand-in could equal the real leaf for some index.)
        let mut other = all[index as usize];
        other[0] ^= 1;
        prop_assert!(verify_inclusion(index, n, &other, &proof, &root).is_err());
        if !proof.is_empty() {
            prop_assert!(verify_inclusion(index, n, &all[index as usize], &proof[1..], &root).is_err());
        }
    }

    #[test]
    fn consistency_proofs_match_the_reference_and_verify(new in 1u64..300, seed in any::<u64>()) {
        let old = seed % new + 1;
        let all = leaves(new);
        let (_, nodes) = stored_nodes(new);
        let proof = resolve(&consistency_ranges(old, new).expect("old ≤ new"), &nodes);
        prop_assert_eq!(&proof, &reference_subproof(old as usize, &all, true));
        let (old_root, new_root) = (reference_root(&all[..old as usize]), reference_root(&all));
        prop_assert_eq!(verify_consistency(old, new, &old_root, &new_root, &proof), Ok(()));
        // A rewritten history (one old leaf changed) never passes as an extension.
        let mut forged = all.clone();
        forged[(seed % old) as usize] = event_leaf(0, &[0xee; 32]);
        let forged_root = reference_root(&forged[..old as usize]);
        prop_assert!(verify_consistency(old, new, &forged_root, &new_root, &proof).is_err());
        if !proof.is_empty() {
            prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof[..proof.len() - 1]).is_err());
        }
    }
}

#[test]
fn bad_sizes_are_named() {
    assert_eq!(inclusion_ranges(0, 0), Err(ProofError::EmptyTree));
    assert_eq!(inclusion_ranges(5, 5), Err(ProofError::LeafBeyondSize { index: 5, size: 5 }));
    assert_eq!(consistency_ranges(0, 3), Err(ProofError::EmptyTree));
    assert_eq!(consistency_ranges(4, 3), Err(ProofError::OldBeyondNew { old: 4, new: 3 }));
}
