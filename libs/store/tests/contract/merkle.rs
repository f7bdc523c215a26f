//! The Merkle tree's storage on every backend: nodes and root committed as the log grows, proofs
//! answered from them, checkpoints kept, and rows edited after building found.

use carelog_store::merkle::{
    Frontier, StoredCheckpoint, TreeBuilder, TreeError, event_leaf, verify_consistency, verify_inclusion,
};
use carelog_store::{AppendRequest, ExpectedRevision, LogQuery, Position};
use chrono::{DateTime, Utc};

use crate::support::{Harness, events, stream};

/// `rounds` appends of three events each to one stream.
async fn grow(h: &Harness, rounds: u64) {
    for _ in 0..rounds {
        h.store.append(AppendRequest::new(stream("client-m"), ExpectedRevision::Any, events(3))).await.unwrap();
    }
}

/// The root of the log's first `size` events, computed from the events themselves.
async fn root_of_log(h: &Harness, size: u64) -> [u8; 32] {
    let mut frontier = Frontier::new();
    for e in h.store.read_all(&LogQuery::from(Position(1), 1_000)).await.unwrap().iter().take(size as usize) {
        frontier.push(event_leaf(e.position.0, &e.hash.0));
    }
    frontier.root()
}

pub async fn the_tree_follows_the_log_and_proves_from_its_stored_nodes(h: &Harness) {
    grow(h, 3).await;
    let builder = TreeBuilder::new(&h.opened());
    assert_eq!(builder.catch_up().await.unwrap(), 9);
    grow(h, 2).await;
    // A second builder (another service on the same database) carries on from the stored tree.
    let tree = TreeBuilder::new(&h.opened());
    assert_eq!(tree.catch_up().await.unwrap(), 15);
    let tree = tree.tree();
    let (size, root) = tree.head().await.unwrap();
    assert_eq!((size, root), (15, root_of_log(h, 15).await));
    let old_root = tree.root_at(9).await.unwrap();
    assert_eq!(old_root, root_of_log(h, 9).await);

    let (leaf, path) = tree.inclusion(10, 15).await.unwrap();
    verify_inclusion(10, 15, &leaf, &path, &root).unwrap();
    let proof = tree.consistency(9, 15).await.unwrap();
    verify_consistency(9, 15, &old_root, &root, &proof).unwrap();
    assert!(matches!(tree.root_at(16).await, Err(TreeError::NotBuilt { size: 16, built: 15 })));
    assert!(tree.check_rows(15, &[9]).await.unwrap().roots.contains(&(9, old_root)));
}

pub async fn builders_racing_on_one_database_build_one_tree(h: &Harness) {
    grow(h, 4).await;
    let (a, b) = (TreeBuilder::new(&h.opened()), TreeBuilder::new(&h.opened()));
    let (built_a, built_b) = tokio::join!(a.catch_up(), b.catch_up());
    assert_eq!((built_a.unwrap(), built_b.unwrap()), (12, 12));
    assert_eq!(a.tree().head().await.unwrap(), (12, root_of_log(h, 12).await));
    a.tree().check_rows(12, &[]).await.unwrap();
}

fn checkpoint(tree_size: u64, root: [u8; 32], micros: i64) -> StoredCheckpoint {
    StoredCheckpoint {
        id: 0,
        tree_size,
        root,
        signed_at: DateTime::<Utc>::from_timestamp_micros(micros).unwrap(),
        public_key: vec![7; 32],
        signature: vec![size_byte(tree_size); 64],
    }
}

fn size_byte(size: u64) -> u8 {
    u8::try_from(size).unwrap()
}

pub async fn checkpoints_are_kept_exactly_and_listed_newest_first(h: &Harness) {
    grow(h, 2).await;
    let builder = TreeBuilder::new(&h.opened());
    builder.catch_up().await.unwrap();
    let tree = builder.tree();
    assert_eq!(tree.checkpoint(None).await.unwrap(), None);
    let mut stored = Vec::new();
    for (size, micros) in [(3, 1_700_000_000_000_001), (6, 1_700_000_000_000_002), (6, 1_700_000_000_000_003)] {
        stored.push(tree.add_checkpoint(checkpoint(size, tree.root_at(size).await.unwrap(), micros)).await.unwrap());
    }
    assert!(stored.windows(2).all(|w| w[0].id < w[1].id), "ids grow");
    assert_eq!(tree.checkpoint(None).await.unwrap().as_ref(), Some(&stored[2]));
    assert_eq!(tree.checkpoint(Some(3)).await.unwrap().as_ref(), Some(&stored[0]));
    assert_eq!(tree.checkpoint(Some(4)).await.unwrap(), None);
    assert_eq!(tree.checkpoints(0, 2).await.unwrap(), vec![stored[2].clone(), stored[1].clone()]);
    assert_eq!(tree.checkpoints(stored[1].id, 10).await.unwrap(), vec![stored[0].clone()]);
    assert_eq!(tree.signed_up_to(5).await.unwrap(), vec![stored[0].clone()]);
}

pub async fn a_row_edited_after_building_is_named_by_the_row_check(h: &Harness) {
    grow(h, 2).await;
    let builder = TreeBuilder::new(&h.opened());
    builder.catch_up().await.unwrap();
    builder.tree().check_rows(6, &[]).await.unwrap();
    h.tamper("UPDATE events SET data = '{\"n\":999}' WHERE position = 5").await;
    match builder.tree().check_rows(6, &[]).await {
        Err(TreeError::Tampered { position, .. }) => assert_eq!(position, 5),
        other => panic!("expected position 5 reported as tampered, got {other:?}"),
    }
}
