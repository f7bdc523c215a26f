//! The cryptography, without I/O: data keys, key wrapping and deterministic field sealing.
//!
//! A field is sealed with AES-256-GCM under the client's data key. The nonce is derived (HMAC-SHA256
//! of event id, field path and plaintext under the data key, truncated to 96 bits), so sealing the
//! same value of the same event twice gives the same ciphertext: a retried append still matches the
//! stored one. A nonce repeats only for an identical (key, event, path, plaintext), where the
//! ciphertext repeats too, which reveals nothing new (the SIV construction's argument).

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

/// What a sealed value starts with in the stored JSON.
pub const SEALED_PREFIX: &str = "enc:v1:";
const NONCE_LEN: usize = 12;

/// Why a value could not be unsealed or a key unwrapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    #[error("{0} is not a sealed value (enc:v1:<base64>)")]
    Malformed(String),
    #[error("{0} fails authentication: the ciphertext was altered or sealed under another key")]
    Forged(String),
    #[error("the master key must be 32 bytes (base64 of 32 bytes), got {0} bytes")]
    MasterKeyLength(usize),
}

/// A 256-bit key. Debug never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    pub fn generate() -> Self {
        Self(rand::random())
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CipherError> {
        <[u8; 32]>::try_from(bytes).map(Self).map_err(|_| CipherError::MasterKeyLength(bytes.len()))
    }

    /// Parses base64 of 32 bytes (surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, CipherError> {
        let bytes = B64.decode(text.trim()).map_err(|_| CipherError::Malformed("the master key".into()))?;
        Self::from_bytes(&bytes)
    }

    pub fn to_base64(&self) -> String {
        B64.encode(self.0)
    }

    fn aead(&self) -> Aes256Gcm {
        Aes256Gcm::new(&Key::<Aes256Gcm>::from(self.0))
    }

    /// A key for another purpose derived from this one (HMAC-SHA256 of a purpose label), so one
    /// master key serves several uses without any two sharing key material.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac = self.mac();
        mac.update(b"carelog key derivation\0");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes keys of any length")
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// Wraps a client's data key under the master key; the client id is bound as associated data so a
/// wrapped key copied to another client's row does not unwrap.
pub fn wrap(master: &SecretKey, client: &str, key: &SecretKey) -> Vec<u8> {
    let nonce: [u8; NONCE_LEN] = rand::random();
    let sealed = master
        .aead()
        .encrypt(&Nonce::from(nonce), Payload { msg: &key.0, aad: client.as_bytes() })
        .expect("AES-GCM encryption of 32 bytes cannot fail");
    [nonce.as_slice(), &sealed].concat()
}

pub fn unwrap(master: &SecretKey, client: &str, wrapped: &[u8]) -> Result<SecretKey, CipherError> {
    let what = || format!("the data key of client {client}");
    if wrapped.len() <= NONCE_LEN {
        return Err(CipherError::Malformed(what()));
    }
    let (nonce, sealed) = wrapped.split_at(NONCE_LEN);
    let plain = master
        .aead()
        .decrypt(&nonce_of(nonce), Payload { msg: sealed, aad: client.as_bytes() })
        .map_err(|_| CipherError::Forged(what()))?;
    SecretKey::from_bytes(&plain).map_err(|_| CipherError::Malformed(what()))
}

/// Seals one JSON value of event `event_id` at `path` into `enc:v1:<base64(nonce ‖ ciphertext)>`.
pub fn seal(key: &SecretKey, event_id: Uuid, path: &str, value: &serde_json::Value) -> String {
    let plain = serde_json::to_vec(value).expect("a JSON value serializes");
    let aad = associated_data(event_id, path);
    let mut mac = key.mac();
    mac.update(b"carelog-field-nonce-v1");
    mac.update(&aad);
    mac.update(&plain);
    let digest = mac.finalize().into_bytes();
    let nonce = &digest[..NONCE_LEN];
    let sealed = key
        .aead()
        .encrypt(&nonce_of(nonce), Payload { msg: &plain, aad: &aad })
        .expect("AES-GCM encryption cannot fail for field-sized input");
    format!("{SEALED_PREFIX}{}", B64.encode([nonce, &sealed].concat()))
}

/// Opens a value sealed by [`seal`] for the same event and path.
pub fn open(key: &SecretKey, event_id: Uuid, path: &str, sealed: &str) -> Result<serde_json::Value, CipherError> {
    let bytes = sealed
        .strip_prefix(SEALED_PREFIX)
        .and_then(|b| B64.decode(b).ok())
        .filter(|b| b.len() > NONCE_LEN)
        .ok_or_else(|| CipherError::Malformed(path.to_owned()))?;
    let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
    let aad = associated_data(event_id, path);
    let plain = key
        .aead()
        .decrypt(&nonce_of(nonce), Payload { msg: ciphertext, aad: &aad })
        .map_err(|_| CipherError::Forged(path.to_owned()))?;
    serde_json::from_slice(&plain).map_err(|_| CipherError::Malformed(path.to_owned()))
}

/// The nonce from the first 12 bytes of `bytes` (callers check the length).
fn nonce_of(bytes: &[u8]) -> Nonce<aes_gcm::aead::consts::U12> {
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&bytes[..NONCE_LEN]);
    Nonce::from(nonce)
}

/// Whether a stored JSON value is sealed.
pub fn is_sealed(value: &serde_json::Value) -> bool {
    value.as_str().is_some_and(|s| s.starts_with(SEALED_PREFIX))
}

/// Binds a ciphertext to its event and field: moved elsewhere, it fails authentication.
fn associated_data(event_id: Uuid, path: &str) -> Vec<u8> {
    [event_id.as_bytes().as_slice(), path.as_bytes()].concat()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sealing_is_deterministic_per_event_path_and_value_and_round_trips() {
        let key = SecretKey::generate();
        let id = Uuid::now_v7();
        let a = seal(&key, id, "legal_name", &json!("Zephyrine Quillfeather"));
        assert_eq!(a, seal(&key, id, "legal_name", &json!("Zephyrine Quillfeather")));
        assert_ne!(a, seal(&key, Uuid::now_v7(), "legal_name", &json!("Zephyrine Quillfeather")));
        assert_ne!(a, seal(&key, id, "preferred_name", &json!("Zephyrine Quillfeather")));
        assert!(!a.contains("Zephyrine") && a.starts_with(SEALED_PREFIX));
        assert_eq!(open(&key, id, "legal_name", &a).unwrap(), json!("Zephyrine Quillfeather"));
    }

    #[test]
    fn a_tampered_moved_or_foreign_ciphertext_is_refused_not_a_panic() {
        let key = SecretKey::generate();
        let id = Uuid::now_v7();
        let sealed = seal(&key, id, "text", &json!("note"));
        let mut bytes = B64.decode(&sealed[SEALED_PREFIX.len()..]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("{SEALED_PREFIX}{}", B64.encode(&bytes));
        assert_eq!(open(&key, id, "text", &tampered), Err(CipherError::Forged("text".into())));
        assert_eq!(open(&key, id, "reason", &sealed), Err(CipherError::Forged("reason".into())));
        assert_eq!(open(&SecretKey::generate(), id, "text", &sealed), Err(CipherError::Forged("text".into())));
        assert_eq!(open(&key, id, "text", "enc:v1:!!"), Err(CipherError::Malformed("text".into())));
    }

    #[test]
    fn a_wrapped_key_unwraps_only_under_its_master_key_and_client() {
        let (master, key) = (SecretKey::generate(), SecretKey::generate());
        let wrapped = wrap(&master, "client-a", &key);
        assert_eq!(unwrap(&master, "client-a", &wrapped).unwrap(), key);
        assert!(matches!(unwrap(&master, "client-b", &wrapped), Err(CipherError::Forged(_))));
        assert!(matches!(unwrap(&SecretKey::generate(), "client-a", &wrapped), Err(CipherError::Forged(_))));
        assert!(format!("{key:?}").contains(".."));
    }

    #[test]
    fn master_keys_are_base64_of_32_bytes() {
        let key = SecretKey::generate();
        assert_eq!(SecretKey::from_base64(&format!(" {}\n", key.to_base64())).unwrap(), key);
        assert_eq!(SecretKey::from_base64(&B64.encode([0u8; 16])), Err(CipherError::MasterKeyLength(16)));
    }
}
