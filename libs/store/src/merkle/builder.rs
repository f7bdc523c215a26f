//! The tree builder: follows the log like a projection and commits each batch of leaves with the
//! tree size (its checkpoint) in one transaction. It runs beside the writer, never inside it, so
//! appends take no extra lock and pay no hashing.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;
use tokio::time::Instant;

use super::tree::{MerkleTree, TreeError};
use super::{Frontier, event_leaf};
use crate::{EventStore, LogFilter, OpenedStore, Position, SubscriptionItem};

/// Most leaves committed per transaction.
const BATCH: usize = 2_000;
/// Following a busy log, the tree commits at most this often: every group commit of the log would
/// otherwise be followed by one of the tree, and on SQLite each is a turn on the one write lock
/// that appends wait behind. Proofs wait for the tree up to seconds; this costs them little.
const LIVE_COMMIT_INTERVAL: Duration = Duration::from_millis(50);

#[derive(Debug, Clone)]
pub struct TreeBuilder {
    store: Arc<dyn EventStore>,
    tree: MerkleTree,
}

impl TreeBuilder {
    /// A builder over the log as stored (leaves are stored hashes: opened PHI would be of no use)
    /// and the tree in its database.
    pub fn new(opened: &OpenedStore) -> Self {
        Self { store: Arc::clone(&opened.log), tree: MerkleTree::new(opened.database.clone()) }
    }

    pub fn tree(&self) -> &MerkleTree {
        &self.tree
    }

    /// Follows the log for ever, publishing every committed tree size on `sizes`. Returns only on
    /// an error (or once nobody listens to `sizes` any more); a lost race with another builder
    /// (several services on one PostgreSQL) reloads and carries on.
    pub async fn run(&self, sizes: &watch::Sender<u64>) -> Result<(), TreeError> {
        loop {
            match self.follow(None, sizes).await {
                Err(TreeError::Stale { .. }) => continue,
                other => return other,
            }
        }
    }

    /// Builds the tree up to the log's current head and returns its size.
    pub async fn catch_up(&self) -> Result<u64, TreeError> {
        let head = self.store.head_position().await?.0;
        let (sizes, _) = watch::channel(0);
        loop {
            match self.follow(Some(head), &sizes).await {
                Err(TreeError::Stale { .. }) => continue,
                Err(error) => return Err(error),
                Ok(()) => return Ok(self.tree.head().await?.0),
            }
        }
    }

    async fn follow(&self, until: Option<u64>, sizes: &watch::Sender<u64>) -> Result<(), TreeError> {
        let mut frontier = self.tree.frontier().await?;
        sizes.send_replace(frontier.size());
        if until.is_some_and(|target| frontier.size() >= target) {
            return Ok(());
        }
        let mut subscription = self.store.subscribe(Position(frontier.size()), LogFilter::all());
        let mut committed = frontier.clone();
        let mut nodes = Vec::new();
        let mut last_commit: Option<Instant> = None;
        let mut due: Option<Instant> = None;
        loop {
            let next = match due {
                // `None`: the wait ran out, and what is pending is committed now.
                Some(due) => tokio::time::timeout_at(due, subscription.next()).await.ok(),
                None => Some(subscription.next().await),
            };
            let flush = match next {
                None => true,
                Some(None) => break,
                Some(Some(item)) => match item? {
                    SubscriptionItem::Event(event) => {
                        // Positions are dense, so anything but the next one means rows moved under us.
                        let expected = frontier.size() + 1;
                        if event.position.0 != expected {
                            return Err(TreeError::Gap { built: frontier.size(), found: event.position.0 });
                        }
                        nodes.extend(frontier.push(event_leaf(expected, &event.hash.0)));
                        nodes.len() >= BATCH || until.is_some_and(|target| expected >= target)
                    }
                    SubscriptionItem::CaughtUp(_) => match last_commit {
                        Some(at) if until.is_none() && at.elapsed() < LIVE_COMMIT_INTERVAL => {
                            due = Some(at + LIVE_COMMIT_INTERVAL);
                            false
                        }
                        _ => true,
                    },
                },
            };
            if !flush || frontier.size() == committed.size() {
                continue;
            }
            self.commit(&committed, &frontier, &nodes).await?;
            nodes.clear();
            committed = frontier.clone();
            last_commit = Some(Instant::now());
            due = None;
            if sizes.send(frontier.size()).is_err() && until.is_none() {
                return Ok(());
            }
            if until.is_some_and(|target| frontier.size() >= target) {
                return Ok(());
            }
        }
        Ok(())
    }

    async fn commit(
        &self,
        from: &Frontier,
        to: &Frontier,
        nodes: &[(super::NodeKey, super::Hash)],
    ) -> Result<(), TreeError> {
        if self.tree.tables().commit(from.size(), to.size(), &to.root(), nodes).await? {
            tracing::debug!(size = to.size(), "Merkle tree extended");
            Ok(())
        } else {
            Err(TreeError::Stale { from: from.size() })
        }
    }
}
