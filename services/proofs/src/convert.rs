//! Service types ⇄ protobuf messages. Proofs going out are plain bytes; nothing coming in but sizes.

use carelog_proto::v1 as proto;
use carelog_runtime::parse::to_timestamp;

use crate::keychain::{ChangeKind, KeyChange};
use crate::keylog::LoggedChange;
use crate::offline::{HexHash, PROOF_FORMAT, ProofFile};
use crate::prover::{Consistency, Inclusion, Listed};

#[cfg(test)]
mod fuzz;

impl From<Listed> for proto::ProofCheckpoint {
    fn from(listed: Listed) -> Self {
        let note = listed.signed.note();
        let signed = listed.signed;
        Self {
            tree_size: signed.tree_size,
            root: signed.root.to_vec(),
            signed_at: Some(to_timestamp(signed.signed_at)),
            public_key: signed.public_key.to_vec(),
            signature: signed.signature,
            note,
            id: listed.id,
        }
    }
}

impl From<LoggedChange> for proto::SigningKeyChange {
    fn from(logged: LoggedChange) -> Self {
        let statement = logged.change.statement();
        let change = logged.change;
        Self {
            position: logged.position,
            key: change.key.to_vec(),
            previous_key: change.previous_key.map(|k| k.to_vec()).unwrap_or_default(),
            log_size: change.log_size,
            kind: change.kind.as_str().to_owned(),
            reason: change.reason,
            statement,
            signature: change.signature,
            previous_signature: change.previous_signature.unwrap_or_default(),
        }
    }
}

/// A key change received over the wire, back into the form [`crate::keychain`] checks; `None`
/// for one that cannot be a change (wrong lengths, unknown kind), which vouches for nothing.
pub fn change_from_proto(change: &proto::SigningKeyChange) -> Option<KeyChange> {
    let kind = match change.kind.as_str() {
        "first" => ChangeKind::First,
        "handover" => ChangeKind::Handover,
        "introduction" => ChangeKind::Introduction,
        "development" => ChangeKind::Development,
        _ => return None,
    };
    let previous_key = match change.previous_key.as_slice() {
        [] => None,
        bytes => Some(<[u8; 32]>::try_from(bytes).ok()?),
    };
    Some(KeyChange {
        key: <[u8; 32]>::try_from(change.key.as_slice()).ok()?,
        previous_key,
        log_size: change.log_size,
        kind,
        reason: change.reason.clone(),
        signature: change.signature.clone(),
        previous_signature: (!change.previous_signature.is_empty()).then(|| change.previous_signature.clone()),
    })
}

impl From<Inclusion> for proto::InclusionProofReply {
    fn from(proof: Inclusion) -> Self {
        Self {
            position: proof.position,
            tree_size: proof.tree_size,
            event_hash: proof.event_hash.to_vec(),
            leaf_hash: proof.leaf_hash.to_vec(),
            path: proof.path.iter().map(|h| h.to_vec()).collect(),
            root: proof.root.to_vec(),
            checkpoint: proof.checkpoint.map(Into::into),
        }
    }
}

impl From<Consistency> for proto::ConsistencyProofReply {
    fn from(proof: Consistency) -> Self {
        Self {
            old_size: proof.old_size,
            new_size: proof.new_size,
            old_root: proof.old_root.to_vec(),
            new_root: proof.new_root.to_vec(),
            path: proof.path.iter().map(|h| h.to_vec()).collect(),
            checkpoint: proof.checkpoint.map(Into::into),
        }
    }
}

/// A checkpoint received over the wire, back into the form the offline checker verifies.
/// Fields of the wrong length are an error naming the field, never a silent truncation.
pub fn signed_from_proto(
    checkpoint: &proto::ProofCheckpoint,
) -> Result<crate::checkpoint::SignedCheckpoint, crate::checkpoint::CheckpointError> {
    use crate::checkpoint::{CHECKPOINT_FORMAT, CheckpointError, SignedCheckpoint};
    let malformed = |field: &'static str, reason: String| CheckpointError::Malformed { field, reason };
    let root = <[u8; 32]>::try_from(checkpoint.root.as_slice())
        .map_err(|_| malformed("root", format!("{} bytes, a root is 32", checkpoint.root.len())))?;
    let public_key = <[u8; 32]>::try_from(checkpoint.public_key.as_slice())
        .map_err(|_| malformed("public_key", format!("{} bytes, a key is 32", checkpoint.public_key.len())))?;
    // The API's one reading of a Timestamp: nanos past 999,999,999 are refused, not taken as a leap second.
    let signed_at = carelog_runtime::parse::timestamp("signed_at", checkpoint.signed_at.as_ref())
        .map_err(|violation| malformed("signed_at", violation.description))?;
    Ok(SignedCheckpoint {
        format: CHECKPOINT_FORMAT.to_owned(),
        tree_size: checkpoint.tree_size,
        root,
        signed_at,
        public_key,
        signature: checkpoint.signature.clone(),
    })
}

/// Why a reply from the server could not be turned into a proof file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// `field` is the reply's proto field (`event_hash`, `leaf_hash`, `path`).
    #[error("the server's {field} has {len} bytes, not 32")]
    HashLength { field: &'static str, len: usize },
    #[error("the server's checkpoint: {0}")]
    Checkpoint(#[from] crate::checkpoint::CheckpointError),
}

fn hash(bytes: &[u8], field: &'static str) -> Result<[u8; 32], ReplyError> {
    <[u8; 32]>::try_from(bytes).map_err(|_| ReplyError::HashLength { field, len: bytes.len() })
}

fn path(hashes: &[Vec<u8>]) -> Result<Vec<HexHash>, ReplyError> {
    hashes.iter().map(|h| hash(h, "path").map(HexHash)).collect()
}

impl TryFrom<&proto::InclusionProofReply> for ProofFile {
    type Error = ReplyError;
    fn try_from(reply: &proto::InclusionProofReply) -> Result<Self, Self::Error> {
        Ok(ProofFile::Inclusion {
            format: PROOF_FORMAT.to_owned(),
            position: reply.position,
            tree_size: reply.tree_size,
            event_hash: hash(&reply.event_hash, "event_hash")?,
            leaf_hash: hash(&reply.leaf_hash, "leaf_hash")?,
            path: path(&reply.path)?,
            checkpoint: reply.checkpoint.as_ref().map(signed_from_proto).transpose()?,
        })
    }
}

impl TryFrom<&proto::ConsistencyProofReply> for ProofFile {
    type Error = ReplyError;
    fn try_from(reply: &proto::ConsistencyProofReply) -> Result<Self, Self::Error> {
        Ok(ProofFile::Consistency {
            format: PROOF_FORMAT.to_owned(),
            old_size: reply.old_size,
            new_size: reply.new_size,
            path: path(&reply.path)?,
            checkpoint: reply.checkpoint.as_ref().map(signed_from_proto).transpose()?,
        })
    }
}
