//! What the ProofService does: validates sizes against the log, waits briefly for the builder,
//! rechecks the log's rows against the tree and every signed checkpoint against the trusted keys,
//! then answers from the stored nodes; and signs checkpoints (recording a key change first).

use std::sync::Arc;
use std::time::Duration;

use carelog_store::merkle::{Hash, MerkleTree, StoredCheckpoint, event_leaf};
use carelog_store::{EventStore, LogQuery, Position};
use chrono::Utc;
use ed25519_dalek::{SigningKey, VerifyingKey};
use tokio::sync::{Mutex, watch};

use crate::checkpoint::{CHECKPOINT_FORMAT, SignedCheckpoint, key_id};
use crate::error::ProofServiceError;
use crate::keychain::trusted_closure;
use crate::keylog::{self, LoggedChange, Pending};

/// How long a request for a size the builder has not reached yet waits before giving up.
const BUILD_WAIT: Duration = Duration::from_secs(5);

type Result<T> = std::result::Result<T, ProofServiceError>;

/// A checkpoint as the service lists it: its store id, the signed statement, and (when signed by
/// this server's key) the same checkpoint as a C2SP signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub id: i64,
    pub signed: SignedCheckpoint,
    pub signed_note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inclusion {
    pub position: u64,
    pub tree_size: u64,
    pub event_hash: Hash,
    pub leaf_hash: Hash,
    pub path: Vec<Hash>,
    pub root: Hash,
    pub checkpoint: Option<Listed>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consistency {
    pub old_size: u64,
    pub new_size: u64,
    pub old_root: Hash,
    pub new_root: Hash,
    pub path: Vec<Hash>,
    pub checkpoint: Option<Listed>,
}

#[derive(Debug)]
pub struct Prover {
    store: Arc<dyn EventStore>,
    tree: MerkleTree,
    key: SigningKey,
    /// The C2SP origin (and signed-note key name) of this log.
    origin: String,
    sizes: watch::Receiver<u64>,
    /// One signer at a time, so "sign now" twice in a row stores one checkpoint; holds the key
    /// change to record before the first checkpoint signed with this key.
    signing: Mutex<Option<Pending>>,
}

/// A stored checkpoint as the signed note it claims to be (a malformed stored key becomes all
/// zeros, which verifies nothing).
pub fn signed_from_stored(stored: StoredCheckpoint) -> SignedCheckpoint {
    let mut public_key = [0u8; 32];
    if stored.public_key.len() == 32 {
        public_key.copy_from_slice(&stored.public_key);
    }
    SignedCheckpoint {
        format: CHECKPOINT_FORMAT.to_owned(),
        tree_size: stored.tree_size,
        root: stored.root,
        signed_at: stored.signed_at,
        public_key,
        signature: stored.signature,
    }
}

impl Prover {
    /// `pending`: the key change to record before signing (from [`keylog::plan`]).
    pub fn new(
        store: Arc<dyn EventStore>,
        tree: MerkleTree,
        key: SigningKey,
        origin: String,
        pending: Option<Pending>,
        sizes: watch::Receiver<u64>,
    ) -> Self {
        Self { store, tree, key, origin, sizes, signing: Mutex::new(pending) }
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The stored checkpoint as listed, with its C2SP form if this server's key signed it: the
    /// note re-expresses only what already verifies under this key (Ed25519 signing is
    /// deterministic, so the same checkpoint always gives the same note).
    fn listed(&self, stored: StoredCheckpoint) -> Listed {
        let id = stored.id;
        let signed = signed_from_stored(stored);
        let own = self.key.verifying_key();
        let signed_note = (signed.public_key == own.to_bytes() && signed.verify(&own).is_ok())
            .then(|| crate::note::sign(&self.origin, &self.key, signed.tree_size, &signed.root).ok())
            .flatten();
        Listed { id, signed, signed_note }
    }

    /// The C2SP origin of this log's signed notes.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Every key change the log records, oldest first.
    pub async fn key_changes(&self) -> Result<Vec<LoggedChange>> {
        Ok(keylog::changes(self.store.as_ref()).await?)
    }

    /// The keys this server trusts: its own, and those its own vouches for through the log's key
    /// changes. A key an attacker wrote into the database is not among them.
    async fn trusted_keys(&self) -> Result<Vec<VerifyingKey>> {
        let changes: Vec<_> = self.key_changes().await?.into_iter().map(|c| c.change).collect();
        let keys = trusted_closure(&[self.public_key()], &changes);
        Ok(keys.iter().filter_map(|k| VerifyingKey::from_bytes(k).ok()).collect())
    }

    /// Refuses if any of `checkpoints` does not verify under a trusted key.
    async fn require_trusted(&self, checkpoints: &[&StoredCheckpoint]) -> Result<()> {
        if checkpoints.is_empty() {
            return Ok(());
        }
        let trusted = self.trusted_keys().await?;
        for stored in checkpoints {
            let signed = signed_from_stored((*stored).clone());
            if !trusted.iter().any(|key| signed.verify(key).is_ok()) {
                return Err(ProofServiceError::Untrusted {
                    id: stored.id,
                    size: stored.tree_size,
                    key: key_id(&signed.public_key),
                });
            }
        }
        Ok(())
    }

    /// A stored checkpoint, refused unless a trusted key signed it.
    async fn trusted(&self, stored: StoredCheckpoint) -> Result<Listed> {
        self.require_trusted(&[&stored]).await?;
        Ok(self.listed(stored))
    }

    /// Signs the tree over every event committed before the call (waiting briefly for the builder),
    /// unless this key already signed that size. A key change not yet in the log is appended first,
    /// so the first checkpoint under a new key covers the event that introduced it.
    pub async fn sign_now(&self) -> Result<Listed> {
        let mut pending = self.signing.lock().await;
        // Another replica with the same key may have recorded the change already.
        if pending.is_some() && keylog::current_key(self.store.as_ref(), &self.tree).await? == Some(self.public_key()) {
            *pending = None;
        }
        if let Some(change) = pending.as_ref() {
            let log_size = self.store.head_position().await?.0;
            let change =
                change.sign(&self.key, log_size).map_err(|e| ProofServiceError::invalid("key", e.to_string()))?;
            let position = keylog::append(self.store.as_ref(), &change).await?;
            tracing::warn!(
                position,
                key = %key_id(&change.key),
                previous = ?change.previous_key.as_ref().map(key_id),
                kind = change.kind.as_str(),
                "recorded a signing-key change in the log"
            );
            *pending = None;
        }
        let head = self.store.head_position().await?.0;
        self.wait_for_tree(head).await;
        let (size, root) = self.tree.head().await?;
        if let Some(last) = self.tree.checkpoint(Some(size)).await?
            && last.root == root
            && last.public_key == self.public_key()
        {
            return Ok(self.listed(last));
        }
        let signed = SignedCheckpoint::sign(&self.key, size, root, Utc::now());
        let stored = StoredCheckpoint {
            id: 0,
            tree_size: size,
            root,
            signed_at: signed.signed_at,
            public_key: signed.public_key.to_vec(),
            signature: signed.signature.clone(),
        };
        let stored = self.tree.add_checkpoint(stored).await?;
        tracing::info!(tree_size = size, root = %hex::encode(root), "signed a checkpoint");
        Ok(self.listed(stored))
    }

    /// Signs if the tree grew since the newest checkpoint: the interval signer's tick.
    pub async fn sign_if_grown(&self) -> Result<Option<Listed>> {
        let (size, _) = self.tree.head().await?;
        let last = self.tree.checkpoint(None).await?.map_or(0, |c| c.tree_size);
        if size == 0 || size == last {
            return Ok(None);
        }
        self.sign_now().await.map(Some)
    }

    /// The newest checkpoint, or the newest at exactly `size`; refused if no trusted key signed it.
    pub async fn checkpoint(&self, size: Option<u64>) -> Result<Listed> {
        let found = self.tree.checkpoint(size).await?.ok_or(ProofServiceError::NoCheckpoint { size })?;
        self.trusted(found).await
    }

    /// Stored checkpoints as they are, trusted or not (a listing, not a check: callers verify).
    pub async fn list(&self, before: i64, limit: u32) -> Result<Vec<Listed>> {
        Ok(self.tree.checkpoints(before, limit).await?.into_iter().map(|c| self.listed(c)).collect())
    }

    /// The checkpoint signed at `size`, if any, after checking every checkpoint up to it.
    async fn checked_checkpoint_at(&self, size: u64) -> Result<Option<Listed>> {
        let signed = self.tree.signed_up_to(size).await?;
        self.require_trusted(&signed.iter().collect::<Vec<_>>()).await?;
        Ok(self.tree.checkpoint(Some(size)).await?.map(|c| self.listed(c)))
    }

    /// `requested`, or with 0 the newest checkpoint's size.
    async fn size_or_latest(&self, requested: u64) -> Result<u64> {
        if requested > 0 {
            return Ok(requested);
        }
        Ok(self.checkpoint(None).await?.signed.tree_size)
    }

    /// Refuses sizes beyond the log; waits a little for the builder to reach `size`.
    async fn built(&self, field: &'static str, size: u64) -> Result<()> {
        let head = self.store.head_position().await?.0;
        if size > head {
            return Err(ProofServiceError::invalid(field, format!("tree size {size} is beyond the log (head {head})")));
        }
        if !self.wait_for_tree(size).await {
            let built = self.tree.head().await?.0;
            if built < size {
                return Err(ProofServiceError::NotBuilt { size, built });
            }
        }
        Ok(())
    }

    /// Waits up to [`BUILD_WAIT`] for the builder to reach `size`; false if it did not.
    async fn wait_for_tree(&self, size: u64) -> bool {
        let mut sizes = self.sizes.clone();
        // The guard `wait_for` returns is not Send: drop it inside the timed future.
        let waited = async { sizes.wait_for(|built| *built >= size).await.is_ok() };
        tokio::time::timeout(BUILD_WAIT, waited).await.unwrap_or(false)
    }

    pub async fn inclusion(&self, position: u64, tree_size: u64) -> Result<Inclusion> {
        if position == 0 {
            return Err(ProofServiceError::invalid("position", "positions start at 1"));
        }
        let size = self.size_or_latest(tree_size).await?;
        if position > size {
            return Err(ProofServiceError::invalid("position", format!("{position} is beyond tree size {size}")));
        }
        self.built("tree_size", size).await?;
        // The gate: a proof is only given while every row still gives the leaf that was committed.
        let check = self.tree.check_rows(size, &[]).await?;
        let root = check.roots.last().map(|(_, root)| *root).ok_or(ProofServiceError::NotBuilt { size, built: 0 })?;
        let (leaf_hash, path) = self.tree.inclusion(position - 1, size).await?;
        let event = self.store.read_all(&LogQuery::from(Position(position), 1)).await?;
        let event_hash = event.first().map(|e| e.hash.0).ok_or(ProofServiceError::NotBuilt { size, built: 0 })?;
        if event_leaf(position, &event_hash) != leaf_hash {
            let reason = "the row no longer gives the leaf committed to the tree".to_owned();
            return Err(carelog_store::merkle::TreeError::Tampered { position, reason }.into());
        }
        let checkpoint = self.checked_checkpoint_at(size).await?;
        Ok(Inclusion { position, tree_size: size, event_hash, leaf_hash, path, root, checkpoint })
    }

    pub async fn consistency(&self, old_size: u64, new_size: u64) -> Result<Consistency> {
        if old_size == 0 {
            return Err(ProofServiceError::invalid("old_size", "must be at least 1: the empty log proves nothing"));
        }
        let new_size = self.size_or_latest(new_size).await?;
        if old_size > new_size {
            return Err(ProofServiceError::invalid(
                "old_size",
                format!("{old_size} is larger than new size {new_size}"),
            ));
        }
        self.built("new_size", new_size).await?;
        let check = self.tree.check_rows(new_size, &[old_size]).await?;
        let root_at = |size: u64| check.roots.iter().find(|(s, _)| *s == size).map(|(_, root)| *root);
        let (Some(old_root), Some(new_root)) = (root_at(old_size), root_at(new_size)) else {
            return Err(ProofServiceError::NotBuilt { size: new_size, built: 0 });
        };
        let path = self.tree.consistency(old_size, new_size).await?;
        let checkpoint = self.checked_checkpoint_at(new_size).await?;
        Ok(Consistency { old_size, new_size, old_root, new_root, path, checkpoint })
    }
}
