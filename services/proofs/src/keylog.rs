//! Key changes in the log: read from and appended to the `signingkey-log` stream, so each one is
//! covered by the hash chain and the Merkle tree like any event; and what a starting server must
//! record before it signs with its key.

use carelog_store::merkle::MerkleTree;
use carelog_store::{
    Actor, AppendRequest, EventStore, ExpectedRevision, Metadata, NewEvent, StoreError, StreamName, StreamQuery,
};
use ed25519_dalek::SigningKey;

use crate::checkpoint::key_id;
use crate::keychain::{self, ChangeKind, KeyChange};

/// A key change and where the log holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedChange {
    pub position: u64,
    pub change: KeyChange,
}

fn stream() -> StreamName {
    StreamName::new(keychain::STREAM).expect("a valid stream name")
}

/// Every key change in the log, oldest first. An event that does not decode (written by no
/// Carelog) is skipped with a warning: it vouches for nothing.
pub async fn changes(store: &dyn EventStore) -> Result<Vec<LoggedChange>, StoreError> {
    let events = store.read_stream(&stream(), StreamQuery::all()).await?;
    let mut changes = Vec::with_capacity(events.len());
    for event in events {
        let decoded = (event.event_type == keychain::EVENT_TYPE && event.schema_version == keychain::SCHEMA_VERSION)
            .then(|| serde_json::from_value::<KeyChange>(event.data.clone()).ok())
            .flatten();
        match decoded {
            Some(change) => changes.push(LoggedChange { position: event.position.0, change }),
            None => tracing::warn!(position = event.position.0, "an undecodable key change in the log is ignored"),
        }
    }
    Ok(changes)
}

/// Appends `change` to the log; returns its position.
pub async fn append(store: &dyn EventStore, change: &KeyChange) -> Result<u64, StoreError> {
    let actor = Actor::new("carelog-proofs", "admin");
    let event = NewEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: keychain::EVENT_TYPE.into(),
        schema_version: keychain::SCHEMA_VERSION,
        data: serde_json::to_value(change).map_err(|e| StoreError::Database(e.to_string()))?,
        metadata: Metadata::by(actor, chrono::Utc::now()),
    };
    let appended = store.append(AppendRequest::new(stream(), ExpectedRevision::Any, vec![event])).await?;
    Ok(appended.last_position.0)
}

/// The key the log last named: its newest key change, else (a log from before key changes were
/// recorded) the key of its newest checkpoint.
pub async fn current_key(store: &dyn EventStore, tree: &MerkleTree) -> Result<Option<[u8; 32]>, StoreError> {
    if let Some(last) = changes(store).await?.pop() {
        return Ok(Some(last.change.key));
    }
    let newest = tree.checkpoint(None).await.map_err(|e| StoreError::Database(e.to_string()))?;
    Ok(newest.and_then(|c| <[u8; 32]>::try_from(c.public_key.as_slice()).ok()))
}

/// What the operator configured for a key change.
#[derive(Debug, Clone, Default)]
pub struct ChangeConfig {
    /// The key being replaced: it signs the handover.
    pub previous: Option<SigningKey>,
    /// Why a key is introduced without the previous one.
    pub introduction: Option<String>,
    pub dev_ephemeral: bool,
}

/// A change to record before the first checkpoint signed with the new key.
#[derive(Debug, Clone)]
pub struct Pending {
    previous: Option<[u8; 32]>,
    previous_signer: Option<SigningKey>,
    kind: ChangeKind,
    reason: String,
}

impl Pending {
    /// The change, signed, at the log's current size.
    pub fn sign(&self, key: &SigningKey, log_size: u64) -> Result<KeyChange, keychain::ChangeError> {
        KeyChange::sign(key, self.previous, self.previous_signer.as_ref(), log_size, self.kind, &self.reason)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(
        "the log's checkpoints are signed by key {log}, this server's key is {own}: a key change must be recorded. \
         Give the previous key ({PREVIOUS_ENV}) so it signs the handover, or, if it is lost, set \
         {INTRODUCTION_ENV}=<reason> to record a new key that auditors must trust anew"
    )]
    Unexplained { log: String, own: String },
    #[error("{PREVIOUS_ENV}: it is key {given}, but the log's key is {log}")]
    WrongPrevious { given: String, log: String },
    #[error("{INTRODUCTION_ENV}: {0}")]
    BadReason(keychain::ChangeError),
}

pub const PREVIOUS_ENV: &str = "CARELOG_PREVIOUS_SIGNING_KEY_FILE";
pub const INTRODUCTION_ENV: &str = "CARELOG_SIGNING_KEY_INTRODUCTION";

/// Decides what a server with `own` key must record, given the log's current key: nothing when
/// they are the same (an ordinary restart), the first key of a new log, a handover signed by the
/// configured previous key, or an introduction the operator asked for. Anything else is refused,
/// so a changed key never goes unrecorded.
pub fn plan(log_key: Option<[u8; 32]>, own: &SigningKey, config: &ChangeConfig) -> Result<Option<Pending>, PlanError> {
    let own_public = own.verifying_key().to_bytes();
    let pending = |previous, previous_signer, kind, reason: &str| {
        keychain::check_reason(reason).map_err(PlanError::BadReason)?;
        Ok(Some(Pending { previous, previous_signer, kind, reason: reason.to_owned() }))
    };
    let Some(log_key) = log_key else {
        let kind = if config.dev_ephemeral { ChangeKind::Development } else { ChangeKind::First };
        return pending(None, None, kind, config.introduction.as_deref().unwrap_or(""));
    };
    if log_key == own_public {
        return Ok(None);
    }
    if let Some(previous) = &config.previous {
        let given = previous.verifying_key().to_bytes();
        if given != log_key {
            return Err(PlanError::WrongPrevious { given: key_id(&given), log: key_id(&log_key) });
        }
        return pending(Some(log_key), Some(previous.clone()), ChangeKind::Handover, "");
    }
    if let Some(reason) = &config.introduction {
        return pending(Some(log_key), None, ChangeKind::Introduction, reason);
    }
    if config.dev_ephemeral {
        return pending(Some(log_key), None, ChangeKind::Development, "development key made at start");
    }
    Err(PlanError::Unexplained { log: key_id(&log_key), own: key_id(&own_public) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SigningKey {
        SigningKey::from_bytes(&[byte; 32])
    }

    #[test]
    fn a_restart_with_the_same_key_records_nothing_and_a_silent_change_is_refused() {
        let own = key(2);
        let same = Some(own.verifying_key().to_bytes());
        assert!(plan(same, &own, &ChangeConfig::default()).unwrap().is_none());
        let old = Some(key(1).verifying_key().to_bytes());
        assert!(matches!(plan(old, &own, &ChangeConfig::default()), Err(PlanError::Unexplained { .. })));
        let wrong = ChangeConfig { previous: Some(key(3)), ..Default::default() };
        assert!(matches!(plan(old, &own, &wrong), Err(PlanError::WrongPrevious { .. })));
    }

    #[test]
    fn a_handover_is_signed_by_both_keys_and_an_introduction_by_the_new_one_only() {
        let own = key(2);
        let old = Some(key(1).verifying_key().to_bytes());
        let handover = ChangeConfig { previous: Some(key(1)), ..Default::default() };
        let change = plan(old, &own, &handover).unwrap().unwrap().sign(&own, 9).unwrap();
        assert_eq!((change.kind, change.log_size), (ChangeKind::Handover, 9));
        assert_eq!(change.verify_handover(), Ok(()));
        let intro = ChangeConfig { introduction: Some("key lost with the old server".into()), ..Default::default() };
        let change = plan(old, &own, &intro).unwrap().unwrap().sign(&own, 9).unwrap();
        assert_eq!(change.kind, ChangeKind::Introduction);
        assert!(change.verify_new_key().is_ok() && change.verify_handover().is_err());
        let first = plan(None, &own, &ChangeConfig::default()).unwrap().unwrap().sign(&own, 0).unwrap();
        assert_eq!((first.kind, first.previous_key), (ChangeKind::First, None));
        let bad = ChangeConfig { introduction: Some("two\nlines".into()), ..Default::default() };
        assert!(matches!(plan(old, &own, &bad), Err(PlanError::BadReason(_))));
    }
}
