//! Proof files and the offline check: everything an auditor needs besides the log's public key and
//! a checkpoint they kept. No database, no network.

use carelog_store::merkle::{Hash, ProofError, event_leaf, verify_consistency, verify_inclusion};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{CheckpointError, SignedCheckpoint, key_id};

pub const PROOF_FORMAT: &str = "carelog.proof.v1";

/// A proof as saved by `carelog audit prove …`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProofFile {
    Inclusion {
        format: String,
        position: u64,
        tree_size: u64,
        #[serde(with = "hex::serde")]
        event_hash: Hash,
        #[serde(with = "hex::serde")]
        leaf_hash: Hash,
        path: Vec<HexHash>,
        /// The checkpoint signed at `tree_size`, when the server had one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        checkpoint: Option<SignedCheckpoint>,
    },
    Consistency {
        format: String,
        old_size: u64,
        new_size: u64,
        path: Vec<HexHash>,
        /// The checkpoint signed at `new_size`: the new root the proof leads to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        checkpoint: Option<SignedCheckpoint>,
    },
}

/// A hash written as 64 hex characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HexHash(#[serde(with = "hex::serde")] pub Hash);

/// Why the offline check refused: every reason names what an auditor should look at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    #[error("the proof file's format is {found:?}, expected {PROOF_FORMAT:?}")]
    Format { found: String },
    #[error("checkpoint: {0}")]
    Checkpoint(#[source] CheckpointError),
    #[error("the proof's new checkpoint: {0}")]
    NewCheckpoint(#[source] CheckpointError),
    #[error("the proof is for tree size {proof}, the checkpoint is for tree size {checkpoint}")]
    SizeMismatch { proof: u64, checkpoint: u64 },
    #[error("the proof carries no signed checkpoint for its new size {new_size}")]
    MissingNewCheckpoint { new_size: u64 },
    #[error("the leaf hash does not match position {position} and its event hash")]
    LeafMismatch { position: u64 },
    #[error("position {position} is not in a tree of size {size}")]
    PositionBeyondSize { position: u64, size: u64 },
    #[error("proof: {0}")]
    Proof(#[from] ProofError),
}

/// What a successful check established, for the auditor's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    Included { position: u64, tree_size: u64, key: String },
    Extends { old_size: u64, new_size: u64, key: String },
}

impl std::fmt::Display for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Checked::Included { position, tree_size, key } => write!(
                f,
                "OK: the event at position {position} is in the log of {tree_size} events signed by key {key}"
            ),
            Checked::Extends { old_size, new_size, key } => write!(
                f,
                "OK: the log of {new_size} events extends the log of {old_size} events unchanged (both signed by key {key})"
            ),
        }
    }
}

/// Verifies `proof` against a checkpoint the auditor kept, under the log's public key.
pub fn check(checkpoint: &SignedCheckpoint, proof: &ProofFile, key: &VerifyingKey) -> Result<Checked, CheckError> {
    checkpoint.verify(key).map_err(CheckError::Checkpoint)?;
    let hashes = |path: &[HexHash]| path.iter().map(|h| h.0).collect::<Vec<_>>();
    let kid = key_id(&key.to_bytes());
    match proof {
        ProofFile::Inclusion { format, position, tree_size, event_hash, leaf_hash, path, .. } => {
            require_format(format)?;
            if *tree_size != checkpoint.tree_size {
                return Err(CheckError::SizeMismatch { proof: *tree_size, checkpoint: checkpoint.tree_size });
            }
            if *position == 0 || *position > *tree_size {
                return Err(CheckError::PositionBeyondSize { position: *position, size: *tree_size });
            }
            if event_leaf(*position, event_hash) != *leaf_hash {
                return Err(CheckError::LeafMismatch { position: *position });
            }
            verify_inclusion(position - 1, *tree_size, leaf_hash, &hashes(path), &checkpoint.root)?;
            Ok(Checked::Included { position: *position, tree_size: *tree_size, key: kid })
        }
        ProofFile::Consistency { format, old_size, new_size, path, checkpoint: new } => {
            require_format(format)?;
            if *old_size != checkpoint.tree_size {
                return Err(CheckError::SizeMismatch { proof: *old_size, checkpoint: checkpoint.tree_size });
            }
            let new = new.as_ref().ok_or(CheckError::MissingNewCheckpoint { new_size: *new_size })?;
            new.verify(key).map_err(CheckError::NewCheckpoint)?;
            if new.tree_size != *new_size {
                return Err(CheckError::SizeMismatch { proof: *new_size, checkpoint: new.tree_size });
            }
            verify_consistency(*old_size, *new_size, &checkpoint.root, &new.root, &hashes(path))?;
            Ok(Checked::Extends { old_size: *old_size, new_size: *new_size, key: kid })
        }
    }
}

fn require_format(format: &str) -> Result<(), CheckError> {
    if format == PROOF_FORMAT { Ok(()) } else { Err(CheckError::Format { found: format.to_owned() }) }
}
