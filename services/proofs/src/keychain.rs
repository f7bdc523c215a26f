//! Signing-key changes as signed statements, and which keys they make trusted. Pure: the server,
//! `carelog audit verify-tree` and `carelog audit witness` all decide with this code.
//!
//! A change names the new key, the key it replaces (if the log had one) and the log's size when it
//! took effect. The new key always signs it (it holds the key it announces); a **handover** is also
//! signed by the previous key, which is how a rotation stays verifiable to someone who trusted only
//! the old key. An **introduction** has no signature of the previous key: the operator configured a
//! key without it (a lost key, or a development key), and an auditor must decide to trust it anew.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::checkpoint::key_id;

/// The event type and schema version of a key change in the log (never re-encode version 1).
pub const EVENT_TYPE: &str = "SigningKeyChanged";
pub const SCHEMA_VERSION: u32 = 1;
/// The one stream key changes are appended to.
pub const STREAM: &str = "signingkey-log";
const STATEMENT_HEADER: &str = "carelog signing key change v1";
/// Longest reason an operator may give for an introduction.
pub const MAX_REASON: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The log's first key.
    First,
    /// Signed by the previous key too.
    Handover,
    /// Configured by the operator without the previous key.
    Introduction,
    /// A key made at start for development (`--dev-ephemeral-signing-key`).
    Development,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::First => "first",
            Self::Handover => "handover",
            Self::Introduction => "introduction",
            Self::Development => "development",
        }
    }
}

/// A key change: the data of a `SigningKeyChanged` event, version 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyChange {
    #[serde(with = "hex::serde")]
    pub key: [u8; 32],
    #[serde(default, with = "optional_key", skip_serializing_if = "Option::is_none")]
    pub previous_key: Option<[u8; 32]>,
    /// Events in the log before this change.
    pub log_size: u64,
    pub kind: ChangeKind,
    pub reason: String,
    /// By `key`, over [`KeyChange::statement`].
    #[serde(with = "hex::serde")]
    pub signature: Vec<u8>,
    /// By `previous_key`, over the same statement (handovers only).
    #[serde(default, with = "optional_signature", skip_serializing_if = "Option::is_none")]
    pub previous_signature: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error("the key change to {key} is not signed by that key")]
    NotSignedByNewKey { key: String },
    #[error("the key change to {key} is not signed by the previous key {previous}")]
    NotSignedByPrevious { key: String, previous: String },
    #[error("reason: {0}")]
    BadReason(String),
}

impl KeyChange {
    /// The change to `key` from `previous` at `log_size`, signed by `key` and (for a handover) by
    /// `previous_signer`, which must be the previous key.
    pub fn sign(
        key: &SigningKey,
        previous: Option<[u8; 32]>,
        previous_signer: Option<&SigningKey>,
        log_size: u64,
        kind: ChangeKind,
        reason: &str,
    ) -> Result<Self, ChangeError> {
        check_reason(reason)?;
        let mut change = Self {
            key: key.verifying_key().to_bytes(),
            previous_key: previous,
            log_size,
            kind,
            reason: reason.to_owned(),
            signature: Vec::new(),
            previous_signature: None,
        };
        let statement = change.statement();
        change.signature = key.sign(statement.as_bytes()).to_bytes().to_vec();
        change.previous_signature = previous_signer.map(|signer| signer.sign(statement.as_bytes()).to_bytes().to_vec());
        Ok(change)
    }

    /// The exact text both keys sign.
    pub fn statement(&self) -> String {
        let previous = self.previous_key.map_or_else(|| "none".to_owned(), hex::encode);
        format!(
            "{STATEMENT_HEADER}\nkey {}\nprevious {previous}\nlog_size {}\nkind {}\nreason {}\n",
            hex::encode(self.key),
            self.log_size,
            self.kind.as_str(),
            self.reason
        )
    }

    /// That the new key signed the statement (it holds the key it announces).
    pub fn verify_new_key(&self) -> Result<(), ChangeError> {
        let verified =
            VerifyingKey::from_bytes(&self.key).is_ok_and(|key| signed(&key, &self.statement(), &self.signature));
        if verified { Ok(()) } else { Err(ChangeError::NotSignedByNewKey { key: key_id(&self.key) }) }
    }

    /// That the previous key signed the statement too: a handover.
    pub fn verify_handover(&self) -> Result<(), ChangeError> {
        self.verify_new_key()?;
        let refused = || ChangeError::NotSignedByPrevious {
            key: key_id(&self.key),
            previous: self.previous_key.as_ref().map_or_else(|| "(none)".to_owned(), key_id),
        };
        let (Some(previous), Some(signature)) = (&self.previous_key, &self.previous_signature) else {
            return Err(refused());
        };
        let verified = VerifyingKey::from_bytes(previous).is_ok_and(|key| signed(&key, &self.statement(), signature));
        if verified { Ok(()) } else { Err(refused()) }
    }
}

fn signed(key: &VerifyingKey, statement: &str, signature: &[u8]) -> bool {
    Signature::from_slice(signature).is_ok_and(|signature| key.verify(statement.as_bytes(), &signature).is_ok())
}

/// A reason is one line of printable text, so the statement stays unambiguous.
pub fn check_reason(reason: &str) -> Result<(), ChangeError> {
    if reason.chars().any(char::is_control) {
        return Err(ChangeError::BadReason("must be one line without control characters".into()));
    }
    if reason.len() > MAX_REASON {
        return Err(ChangeError::BadReason(format!("{} bytes, at most {MAX_REASON}", reason.len())));
    }
    Ok(())
}

/// The keys `trusted` vouches for through `changes` (in log order): forward, a key handed over by a
/// trusted key; backward, the previous key a trusted key named in a change it signed. Changes whose
/// own signatures do not verify vouch for nothing.
pub fn trusted_closure(trusted: &[[u8; 32]], changes: &[KeyChange]) -> Vec<[u8; 32]> {
    let mut keys = trusted.to_vec();
    loop {
        let before = keys.len();
        for change in changes.iter().filter(|c| c.verify_new_key().is_ok()) {
            let previous_trusted = change.previous_key.is_some_and(|p| keys.contains(&p));
            if previous_trusted && !keys.contains(&change.key) && change.verify_handover().is_ok() {
                keys.push(change.key);
            }
            if let Some(previous) = change.previous_key
                && keys.contains(&change.key)
                && !keys.contains(&previous)
            {
                keys.push(previous);
            }
        }
        if keys.len() == before {
            return keys;
        }
    }
}

mod optional_key {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(key: &Option<[u8; 32]>, serializer: S) -> Result<S::Ok, S::Error> {
        match key {
            Some(key) => serializer.serialize_str(&hex::encode(key)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<[u8; 32]>, D::Error> {
        let Some(text) = Option::<String>::deserialize(deserializer)? else { return Ok(None) };
        let mut key = [0u8; 32];
        hex::decode_to_slice(&text, &mut key).map_err(serde::de::Error::custom)?;
        Ok(Some(key))
    }
}

mod optional_signature {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(signature: &Option<Vec<u8>>, serializer: S) -> Result<S::Ok, S::Error> {
        match signature {
            Some(signature) => serializer.serialize_str(&hex::encode(signature)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<u8>>, D::Error> {
        let Some(text) = Option::<String>::deserialize(deserializer)? else { return Ok(None) };
        hex::decode(&text).map(Some).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SigningKey {
        SigningKey::from_bytes(&[byte; 32])
    }

    fn public(byte: u8) -> [u8; 32] {
        key(byte).verifying_key().to_bytes()
    }

    /// Version 1 as stored, pinned: a change to the encoding or the statement fails here
    /// (events are forever: a new layout needs a new schema version and an upcaster).
    #[test]
    fn version_1_is_encoded_as_pinned() {
        let change =
            KeyChange::sign(&key(2), Some(public(1)), Some(&key(1)), 7, ChangeKind::Handover, "rotation").unwrap();
        let json = serde_json::to_value(&change).unwrap();
        let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["key", "kind", "log_size", "previous_key", "previous_signature", "reason", "signature"]);
        assert_eq!(json["kind"], "handover");
        assert_eq!(
            change.statement(),
            format!(
                "carelog signing key change v1\nkey {}\nprevious {}\nlog_size 7\nkind handover\nreason rotation\n",
                hex::encode(public(2)),
                hex::encode(public(1))
            )
        );
        let back: KeyChange = serde_json::from_value(json).unwrap();
        assert_eq!(back, change);
        let first = KeyChange::sign(&key(1), None, None, 0, ChangeKind::First, "").unwrap();
        let json = serde_json::to_value(&first).unwrap();
        assert!(json.get("previous_key").is_none() && json.get("previous_signature").is_none(), "{json}");
        assert_eq!(serde_json::from_value::<KeyChange>(json).unwrap(), first);
    }

    #[test]
    fn a_handover_extends_trust_and_an_introduction_does_not() {
        let first = KeyChange::sign(&key(1), None, None, 0, ChangeKind::First, "").unwrap();
        let handover = KeyChange::sign(&key(2), Some(public(1)), Some(&key(1)), 10, ChangeKind::Handover, "").unwrap();
        let intro = KeyChange::sign(&key(3), Some(public(2)), None, 20, ChangeKind::Introduction, "lost").unwrap();
        let changes = [first, handover.clone(), intro];
        assert_eq!(trusted_closure(&[public(1)], &changes), [public(1), public(2)]);
        // Trusting the newest key vouches backward for every key before it.
        assert_eq!(trusted_closure(&[public(3)], &changes), [public(3), public(2), public(1)]);
        // A handover "signed" by a key that is not the previous one extends nothing.
        let mut forged = handover;
        forged.previous_signature = Some(key(9).sign(forged.statement().as_bytes()).to_bytes().to_vec());
        assert!(forged.verify_handover().is_err());
        assert_eq!(trusted_closure(&[public(1)], &[forged]), [public(1)]);
    }

    #[test]
    fn an_altered_change_or_a_multi_line_reason_is_refused() {
        let mut change =
            KeyChange::sign(&key(2), Some(public(1)), Some(&key(1)), 10, ChangeKind::Handover, "").unwrap();
        assert_eq!(change.verify_handover(), Ok(()));
        change.log_size = 11;
        assert!(matches!(change.verify_new_key(), Err(ChangeError::NotSignedByNewKey { .. })));
        let refused = KeyChange::sign(&key(2), None, None, 0, ChangeKind::Introduction, "a\nkey 00");
        assert!(matches!(refused, Err(ChangeError::BadReason(_))));
        let refused = KeyChange::sign(&key(2), None, None, 0, ChangeKind::Introduction, &"x".repeat(501));
        assert!(matches!(refused, Err(ChangeError::BadReason(_))));
    }
}
