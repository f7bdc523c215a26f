//! Signed checkpoints: the canonical note an Ed25519 key signs, and the JSON form an auditor keeps.
//! Pure: no database, so the offline checker uses exactly this code.

use carelog_store::merkle::Hash;
use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

/// The first line of every note and the `format` of every saved checkpoint file.
pub const NOTE_HEADER: &str = "carelog checkpoint v1";
pub const CHECKPOINT_FORMAT: &str = "carelog.checkpoint.v1";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("{field}: {reason}")]
    Malformed { field: &'static str, reason: String },
    #[error("the checkpoint is signed by key {signed_by}, not by the trusted key {trusted}")]
    ForeignKey { signed_by: String, trusted: String },
    #[error("the checkpoint's signature does not verify: it was altered or forged")]
    BadSignature,
}

/// A checkpoint with its signature, as stored, served and saved to a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCheckpoint {
    pub format: String,
    pub tree_size: u64,
    #[serde(with = "hex::serde")]
    pub root: Hash,
    pub signed_at: DateTime<Utc>,
    #[serde(with = "hex::serde")]
    pub public_key: [u8; 32],
    #[serde(with = "hex::serde")]
    pub signature: Vec<u8>,
}

/// The exact text signed: one field per line, so any Ed25519 tool can check it.
pub fn note(tree_size: u64, root: &Hash, signed_at: DateTime<Utc>) -> String {
    format!(
        "{NOTE_HEADER}\ntree_size {tree_size}\nroot {}\nsigned_at {}\n",
        hex::encode(root),
        signed_at.to_rfc3339_opts(SecondsFormat::Micros, true)
    )
}

/// A short name for a public key in messages: its first 8 bytes in hex (the full key is always
/// what gets compared).
pub fn key_id(public_key: &[u8; 32]) -> String {
    hex::encode(&public_key[..8])
}

impl SignedCheckpoint {
    /// Signs (size, root, time) with `key`. Times are kept to the microsecond, as stored.
    pub fn sign(key: &SigningKey, tree_size: u64, root: Hash, signed_at: DateTime<Utc>) -> Self {
        let signed_at = DateTime::from_timestamp_micros(signed_at.timestamp_micros()).unwrap_or(signed_at);
        let signature = key.sign(note(tree_size, &root, signed_at).as_bytes());
        Self {
            format: CHECKPOINT_FORMAT.to_owned(),
            tree_size,
            root,
            signed_at,
            public_key: key.verifying_key().to_bytes(),
            signature: signature.to_bytes().to_vec(),
        }
    }

    pub fn note(&self) -> String {
        note(self.tree_size, &self.root, self.signed_at)
    }

    /// Checks the signature under `trusted` (the auditor's copy of the log's public key).
    pub fn verify(&self, trusted: &VerifyingKey) -> Result<(), CheckpointError> {
        if self.format != CHECKPOINT_FORMAT {
            let reason = format!("{:?} is not {CHECKPOINT_FORMAT:?}", self.format);
            return Err(CheckpointError::Malformed { field: "format", reason });
        }
        if self.public_key != trusted.to_bytes() {
            return Err(CheckpointError::ForeignKey {
                signed_by: key_id(&self.public_key),
                trusted: key_id(&trusted.to_bytes()),
            });
        }
        let signature = Signature::from_slice(&self.signature).map_err(|_| CheckpointError::Malformed {
            field: "signature",
            reason: format!("{} bytes, an Ed25519 signature is 64", self.signature.len()),
        })?;
        trusted.verify(self.note().as_bytes(), &signature).map_err(|_| CheckpointError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SigningKey {
        SigningKey::from_bytes(&[byte; 32])
    }

    #[test]
    fn a_signed_checkpoint_verifies_and_survives_a_json_round_trip() {
        let signed = SignedCheckpoint::sign(&key(1), 42, [7; 32], Utc::now());
        let json = serde_json::to_string(&signed).expect("serialise");
        let back: SignedCheckpoint = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, signed);
        assert_eq!(back.verify(&key(1).verifying_key()), Ok(()));
    }

    #[test]
    fn another_key_or_an_altered_field_is_refused() {
        let signed = SignedCheckpoint::sign(&key(1), 42, [7; 32], Utc::now());
        assert!(matches!(signed.verify(&key(2).verifying_key()), Err(CheckpointError::ForeignKey { .. })));
        let mut grown = signed.clone();
        grown.tree_size = 43;
        assert_eq!(grown.verify(&key(1).verifying_key()), Err(CheckpointError::BadSignature));
        let mut rerooted = signed;
        rerooted.root[0] ^= 1;
        assert_eq!(rerooted.verify(&key(1).verifying_key()), Err(CheckpointError::BadSignature));
    }
}
