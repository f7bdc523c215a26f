//! Checkpoints in the C2SP formats standard transparency-log witnesses read: a signed note
//! (c2sp.org/signed-note) whose text is a tlog checkpoint (c2sp.org/tlog-checkpoint):
//!
//! ```text
//! <origin>
//! <tree size>
//! <base64 root hash>
//!
//! — <key name> <base64(4-byte key id ‖ 64-byte Ed25519 signature)>
//! ```
//!
//! The key name is the origin; the key id is the first four bytes of
//! SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key). The Carelog leaf and node hashes are RFC 6962's, so a
//! witness checks consistency proofs of this log with its ordinary code. Pure: no database.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use carelog_store::merkle::Hash;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

/// The origin when the operator names none (`CARELOG_LOG_ORIGIN`): set a unique one per log, such
/// as the practice's domain and a path (`records.example-practice.org/carelog`).
pub const DEFAULT_ORIGIN: &str = "carelog.local/log";

/// The signed-note signature type byte of Ed25519.
const ED25519: u8 = 0x01;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("the origin {0:?} is not usable: it must be non-empty, with no spaces, '+' or control characters")]
    BadOrigin(String),
    #[error("not a signed checkpoint note: {0}")]
    Malformed(String),
    #[error("the note is for origin {found:?}, expected {expected:?}")]
    OtherOrigin { found: String, expected: String },
    #[error("the note has no signature by {name} (key id {key_id})")]
    Unsigned { name: String, key_id: String },
    #[error("the note's signature by {name} does not verify: it was altered or forged")]
    BadSignature { name: String },
}

/// A checkpoint as read back from a signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteCheckpoint {
    pub origin: String,
    pub tree_size: u64,
    pub root: Hash,
}

/// Refuses an origin a note cannot carry (it is also the key name of the signature line).
pub fn check_origin(origin: &str) -> Result<(), NoteError> {
    let bad = origin.is_empty()
        || origin.len() > 256
        || origin.chars().any(|c| c.is_whitespace() || c.is_control() || c == '+' || c == '\u{2014}');
    if bad { Err(NoteError::BadOrigin(origin.to_owned())) } else { Ok(()) }
}

/// The signed-note key id of an Ed25519 key named `name`.
pub fn key_id(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([b'\n', ED25519]);
    hasher.update(public_key);
    let digest = hasher.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// The note text (what is signed): origin, size and root, each on its own line.
pub fn checkpoint_text(origin: &str, tree_size: u64, root: &Hash) -> String {
    format!("{origin}\n{tree_size}\n{}\n", BASE64.encode(root))
}

/// The whole signed note: text, blank line, one signature line by `key` under the name `origin`.
pub fn sign(origin: &str, key: &SigningKey, tree_size: u64, root: &Hash) -> Result<String, NoteError> {
    check_origin(origin)?;
    let text = checkpoint_text(origin, tree_size, root);
    let signature = key.sign(text.as_bytes());
    let mut blob = key_id(origin, &key.verifying_key().to_bytes()).to_vec();
    blob.extend_from_slice(&signature.to_bytes());
    Ok(format!("{text}\n\u{2014} {origin} {}\n", BASE64.encode(blob)))
}

/// Reads a signed checkpoint note for `origin` and checks it carries a valid signature by `key`
/// (named `origin`); other signature lines, such as witnesses' cosignatures, are ignored.
pub fn verify(note: &str, origin: &str, key: &VerifyingKey) -> Result<NoteCheckpoint, NoteError> {
    let malformed = |reason: &str| NoteError::Malformed(reason.to_owned());
    if note.chars().any(|c| c.is_control() && c != '\n') {
        return Err(malformed("a control character other than newline"));
    }
    let (text, signatures) = note.split_once("\n\n").ok_or_else(|| malformed("no blank line before the signatures"))?;
    let text = format!("{text}\n");
    let checkpoint = parse_text(&text)?;
    if checkpoint.origin != origin {
        return Err(NoteError::OtherOrigin { found: checkpoint.origin, expected: origin.to_owned() });
    }
    let wanted = key_id(origin, &key.to_bytes());
    let mut found = None;
    for line in signatures.lines() {
        let rest = line.strip_prefix("\u{2014} ").ok_or_else(|| malformed("a signature line without '— '"))?;
        let (name, blob) = rest.split_once(' ').ok_or_else(|| malformed("a signature line without a signature"))?;
        let blob = BASE64.decode(blob).map_err(|_| malformed("a signature that is not base64"))?;
        if name == origin && blob.len() == 68 && blob[..4] == wanted {
            found = Some(blob);
        }
    }
    let unsigned = || NoteError::Unsigned { name: origin.to_owned(), key_id: hex::encode(wanted) };
    let blob = found.ok_or_else(unsigned)?;
    let signature = Signature::from_slice(&blob[4..]).map_err(|_| malformed("a signature of the wrong length"))?;
    key.verify(text.as_bytes(), &signature).map_err(|_| NoteError::BadSignature { name: origin.to_owned() })?;
    Ok(checkpoint)
}

fn parse_text(text: &str) -> Result<NoteCheckpoint, NoteError> {
    let malformed = |reason: String| NoteError::Malformed(reason);
    let mut lines = text.lines();
    let origin = lines.next().filter(|l| !l.is_empty()).ok_or_else(|| malformed("no origin line".into()))?;
    let size = lines.next().ok_or_else(|| malformed("no tree size line".into()))?;
    let canonical = size == "0" || (!size.starts_with('0') && size.bytes().all(|b| b.is_ascii_digit()));
    let tree_size: u64 =
        size.parse().ok().filter(|_| canonical).ok_or_else(|| malformed(format!("tree size {size:?}")))?;
    let root = lines.next().ok_or_else(|| malformed("no root hash line".into()))?;
    let root = BASE64.decode(root).ok().and_then(|r| Hash::try_from(r.as_slice()).ok());
    let root = root.ok_or_else(|| malformed("the root hash is not 32 bytes of base64".into()))?;
    Ok(NoteCheckpoint { origin: origin.to_owned(), tree_size, root })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SigningKey {
        SigningKey::from_bytes(&[byte; 32])
    }

    /// The key id of the Go reference implementation's documented example key
    /// (golang.org/x/mod/sumdb/note: `PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW`).
    #[test]
    fn the_key_id_is_the_one_the_reference_implementation_gives() {
        let encoded = BASE64.decode("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").unwrap();
        assert_eq!(encoded[0], ED25519);
        let public: [u8; 32] = encoded[1..].try_into().unwrap();
        assert_eq!(hex::encode(key_id("PeterNeumann", &public)), "c74f20a3");
    }

    #[test]
    fn a_signed_note_has_the_c2sp_layout_and_verifies() {
        let note = sign("example.org/log", &key(1), 42, &[7; 32]).unwrap();
        let lines: Vec<&str> = note.lines().collect();
        assert_eq!(&lines[..4], ["example.org/log", "42", &BASE64.encode([7u8; 32]), ""]);
        assert!(lines[4].starts_with("\u{2014} example.org/log ") && lines.len() == 5, "{note}");
        let checked = verify(&note, "example.org/log", &key(1).verifying_key()).unwrap();
        assert_eq!(checked, NoteCheckpoint { origin: "example.org/log".into(), tree_size: 42, root: [7; 32] });
        // A witness's cosignature appended after it is ignored, not an error.
        let cosigned = format!("{note}\u{2014} witness.example/w AAAAAAAA\n");
        assert!(verify(&cosigned, "example.org/log", &key(1).verifying_key()).is_ok());
    }

    #[test]
    fn another_key_an_altered_body_or_another_origin_is_refused() {
        let note = sign("example.org/log", &key(1), 42, &[7; 32]).unwrap();
        let other = key(2).verifying_key();
        assert!(matches!(verify(&note, "example.org/log", &other), Err(NoteError::Unsigned { .. })));
        let grown = note.replacen("\n42\n", "\n43\n", 1);
        let refused = verify(&grown, "example.org/log", &key(1).verifying_key());
        assert!(matches!(refused, Err(NoteError::BadSignature { .. })), "{refused:?}");
        let refused = verify(&note, "example.org/other", &key(1).verifying_key());
        assert!(matches!(refused, Err(NoteError::OtherOrigin { .. })));
        for origin in ["", "has space", "a+b", "line\nbreak"] {
            assert!(sign(origin, &key(1), 1, &[0; 32]).is_err(), "{origin:?}");
        }
        let padded = note.replacen("\n42\n", "\n042\n", 1);
        assert!(matches!(verify(&padded, "example.org/log", &key(1).verifying_key()), Err(NoteError::Malformed(_))));
    }
}
