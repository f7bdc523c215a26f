//! `carelog audit witness`: an auditor's own checkpoint log, kept in a directory only they write.
//! Each run pulls the log's newest signed checkpoint, verifies its signature under the keys the
//! auditor trusts (following handovers the old key signed), proves it consistent with the last
//! checkpoint kept, and only then keeps it. A rewritten history cannot pass: the kept root pins it.
//!
//! The directory holds `checkpoints.jsonl` (every checkpoint kept, oldest first), `keys.txt` (the
//! trusted public keys and how each came to be trusted) and `latest.note` (the newest checkpoint as
//! a C2SP signed note, for standard transparency-log witnesses to cosign).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use carelog_proofs::checkpoint::{SignedCheckpoint, key_id};
use carelog_proofs::keychain::{KeyChange, trusted_closure};
use carelog_proofs::{change_from_proto, signed_from_proto};
use carelog_proto::v1 as proto;
use carelog_proto::v1::proof_service_client::ProofServiceClient;
use carelog_store::merkle::verify_consistency;
use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// The ProofService as any caller reaches it (the CLI's token, a test's headers).
pub type Proofs<I> = ProofServiceClient<InterceptedService<Channel, I>>;

const CHECKPOINTS: &str = "checkpoints.jsonl";
const KEYS: &str = "keys.txt";
const LATEST_NOTE: &str = "latest.note";
/// The exit code of a detected inconsistency (1 is left to errors such as an unreachable server).
pub const DIVERGED_EXIT: u8 = 2;

/// One line of `checkpoints.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Kept {
    witnessed_at: DateTime<Utc>,
    checkpoint: SignedCheckpoint,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signed_note: Option<String>,
}

/// Why a run refuses to keep the server's checkpoint; printed with [`WHAT_TO_DO`].
struct Diverged(String);

/// What a run found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The checkpoint verified and was kept (or the log had not grown): what was established.
    Kept(String),
    /// Something diverged; nothing was kept: what diverged.
    Diverged(String),
}

pub const WHAT_TO_DO: &str = "Keep this directory unchanged: it is the evidence of what was signed before. Tell the \
    practice's security officer, have the database checked with `carelog verify` and `carelog audit verify-tree \
    --public-key …`, and compare with other witnesses. Do not accept new checkpoints until it is explained.";

/// One witnessing run against `client`, keeping state in `dir`; `given_keys` are public key files
/// to trust in addition to those kept; `sign_now` asks the server to sign the current tree first.
pub async fn witness<I: Interceptor>(
    client: &mut Proofs<I>,
    dir: &Path,
    given_keys: &[PathBuf],
    sign_now: bool,
) -> anyhow::Result<Outcome> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut trusted = read_keys(dir)?;
    for path in given_keys {
        let key = carelog_proofs::keys::read_public_key(path)?.to_bytes();
        if !trusted.contains(&key) {
            append_line(dir, KEYS, &format!("{} given by the auditor ({})", hex::encode(key), path.display()))?;
            trusted.push(key);
        }
    }
    anyhow::ensure!(
        !trusted.is_empty(),
        "no trusted key: on the first run give the log's public key with --public-key FILE.pub (from the practice, \
         over a channel you trust)"
    );
    let last = read_kept(dir)?.pop();
    Ok(match check(client, dir, &mut trusted, last.as_ref(), sign_now).await? {
        Ok(message) => Outcome::Kept(message),
        Err(Diverged(message)) => Outcome::Diverged(message),
    })
}

pub fn status_error(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{:?}: {}", status.code(), status.message())
}

async fn check<I: Interceptor>(
    client: &mut Proofs<I>,
    dir: &Path,
    trusted: &mut Vec<[u8; 32]>,
    last: Option<&Kept>,
    sign_now: bool,
) -> anyhow::Result<Result<String, Diverged>> {
    let reply = if sign_now {
        client.sign_checkpoint(proto::SignCheckpointRequest {}).await
    } else {
        client.get_checkpoint(proto::GetProofCheckpointRequest { which: None }).await
    };
    let reply = match reply {
        Ok(reply) => reply.into_inner(),
        Err(status) if status.code() == tonic::Code::FailedPrecondition => {
            return Ok(Err(Diverged(format!("the server refuses its own newest checkpoint: {}", status.message()))));
        }
        Err(status) => return Err(status_error(status)),
    };
    let new = signed_from_proto(&reply)?;
    let handed_over = match trust_signer(client, trusted, &new).await? {
        Ok(keys) => keys,
        Err(refused) => return Ok(Err(refused)),
    };
    let signed_note = signed_note(client, &new).await?;
    let also: String = handed_over
        .iter()
        .map(|(key, at)| format!("; now trusting key {} through the key change at log position {at}", key_id(key)))
        .collect();
    let Some(last) = last else {
        keep(dir, &new, signed_note, &handed_over)?;
        return Ok(Ok(format!(
            "OK: kept the first checkpoint: {} events, root {}, signed by key {}{also}",
            new.tree_size,
            hex::encode(new.root),
            key_id(&new.public_key)
        )));
    };
    let old = &last.checkpoint;
    let kept_on = last.witnessed_at.format("%Y-%m-%d %H:%M UTC");
    if new.tree_size < old.tree_size {
        return Ok(Err(Diverged(format!(
            "the log's newest checkpoint covers {} events, fewer than the {} you kept on {kept_on}: events or \
             checkpoints were removed",
            new.tree_size, old.tree_size
        ))));
    }
    if new.tree_size == old.tree_size {
        if new.root != old.root {
            return Ok(Err(Diverged(format!(
                "two different roots signed for the log of {} events: {} kept on {kept_on}, {} now: the history was \
                 rewritten",
                new.tree_size,
                hex::encode(old.root),
                hex::encode(new.root)
            ))));
        }
        return Ok(Ok(format!("OK: the log has not grown since {kept_on} ({} events, same root)", new.tree_size)));
    }
    let request = proto::ProveConsistencyRequest { old_size: old.tree_size, new_size: new.tree_size };
    let proof = match client.prove_consistency(request).await {
        Ok(proof) => proof.into_inner(),
        Err(status) if status.code() == tonic::Code::FailedPrecondition => {
            return Ok(Err(Diverged(format!(
                "the server cannot prove the log of {} events extends the {} you kept on {kept_on}: {}",
                new.tree_size,
                old.tree_size,
                status.message()
            ))));
        }
        Err(status) => return Err(status_error(status)),
    };
    let path: Option<Vec<[u8; 32]>> = proof.path.iter().map(|h| <[u8; 32]>::try_from(h.as_slice()).ok()).collect();
    let path = path.context("the server's consistency proof has a hash that is not 32 bytes")?;
    if let Err(error) = verify_consistency(old.tree_size, new.tree_size, &old.root, &new.root, &path) {
        let server_old = if proof.old_root == old.root {
            String::new()
        } else {
            format!(" The server's log now gives root {} at that size.", hex::encode(&proof.old_root))
        };
        return Ok(Err(Diverged(format!(
            "the log of {} events (root {}) does not extend the log of {} events (root {}) you kept on {kept_on}: \
             the history up to position {} was rewritten ({error}).{server_old}",
            new.tree_size,
            hex::encode(new.root),
            old.tree_size,
            hex::encode(old.root),
            old.tree_size
        ))));
    }
    keep(dir, &new, signed_note, &handed_over)?;
    Ok(Ok(format!(
        "OK: the log of {} events (root {}, signed by key {}) extends the {} events you kept on {kept_on}{also}",
        new.tree_size,
        hex::encode(new.root),
        key_id(&new.public_key),
        old.tree_size
    )))
}

/// The checkpoint's signature must verify under a trusted key; a key not yet trusted is accepted
/// only through the log's key changes from a trusted key (a handover it signed). Returns the keys
/// newly trusted, with the log position of their change, for `keys.txt` once the checkpoint is kept.
async fn trust_signer<I: Interceptor>(
    client: &mut Proofs<I>,
    trusted: &mut Vec<[u8; 32]>,
    checkpoint: &SignedCheckpoint,
) -> anyhow::Result<Result<Vec<([u8; 32], u64)>, Diverged>> {
    let verifies = |keys: &[[u8; 32]]| {
        keys.iter().filter_map(|k| VerifyingKey::from_bytes(k).ok()).any(|key| checkpoint.verify(&key).is_ok())
    };
    if verifies(trusted) {
        return Ok(Ok(Vec::new()));
    }
    let signer = key_id(&checkpoint.public_key);
    let listed = client.list_signing_keys(proto::ListSigningKeysRequest {}).await.map_err(status_error)?;
    let changes: Vec<(u64, KeyChange)> = listed
        .into_inner()
        .changes
        .iter()
        .filter_map(|c| change_from_proto(c).map(|change| (c.position, change)))
        .collect();
    let all: Vec<KeyChange> = changes.iter().map(|(_, c)| c.clone()).collect();
    let extended = trusted_closure(trusted, &all);
    if !verifies(&extended) {
        let introduced = changes.iter().rev().find(|(_, c)| c.key == checkpoint.public_key);
        let how = match introduced {
            Some((position, change)) => format!(
                " The log introduces that key at position {position} (kind {}, reason {:?}) without a signature \
                 of a key you trust. If the practice confirms the key over a channel you trust, run again with \
                 --public-key set to it.",
                change.kind.as_str(),
                change.reason
            ),
            None => " The log records no change to that key.".to_owned(),
        };
        return Ok(Err(Diverged(format!(
            "the newest checkpoint ({} events) is signed by key {signer}, which you do not trust and no key you \
             trust handed over to.{how}",
            checkpoint.tree_size
        ))));
    }
    let newly = extended
        .iter()
        .filter(|k| !trusted.contains(k))
        .map(|key| {
            (*key, changes.iter().find(|(_, c)| c.key == *key || c.previous_key == Some(*key)).map_or(0, |(p, _)| *p))
        })
        .collect();
    *trusted = extended;
    Ok(Ok(newly))
}

/// The checkpoint's C2SP form (none for one signed by an earlier key), which must say the same
/// and verify under the same key.
async fn signed_note<I: Interceptor>(
    client: &mut Proofs<I>,
    checkpoint: &SignedCheckpoint,
) -> anyhow::Result<Option<String>> {
    let request = proto::GetSignedNoteRequest { tree_size: checkpoint.tree_size };
    let reply = match client.get_signed_note(request).await {
        Ok(reply) => reply.into_inner(),
        Err(status) if status.code() == tonic::Code::NotFound => return Ok(None),
        Err(status) => return Err(status_error(status)),
    };
    let key = VerifyingKey::from_bytes(&checkpoint.public_key)?;
    let note = reply.note;
    let read = carelog_proofs::note::verify(&note, &reply.origin, &key).context("the checkpoint's signed note")?;
    anyhow::ensure!(
        read.tree_size == checkpoint.tree_size && read.root == checkpoint.root,
        "the checkpoint's signed note names another size or root than the checkpoint"
    );
    Ok(Some(note))
}

fn keep(
    dir: &Path,
    checkpoint: &SignedCheckpoint,
    signed_note: Option<String>,
    handed_over: &[([u8; 32], u64)],
) -> anyhow::Result<()> {
    for (key, position) in handed_over {
        let line = format!("{} trusted through the key change at log position {position}", hex::encode(key));
        append_line(dir, KEYS, &line)?;
    }
    if let Some(note) = &signed_note {
        let path = dir.join(LATEST_NOTE);
        std::fs::write(&path, note).with_context(|| format!("writing {}", path.display()))?;
    }
    let kept = Kept { witnessed_at: Utc::now(), checkpoint: checkpoint.clone(), signed_note };
    append_line(dir, CHECKPOINTS, &serde_json::to_string(&kept)?)
}

fn append_line(dir: &Path, file: &str, line: &str) -> anyhow::Result<()> {
    let path = dir.join(file);
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(out, "{line}").and_then(|()| out.sync_all()).with_context(|| format!("writing {}", path.display()))
}

fn read_kept(dir: &Path) -> anyhow::Result<Vec<Kept>> {
    let path = dir.join(CHECKPOINTS);
    let Ok(text) = std::fs::read_to_string(&path) else { return Ok(Vec::new()) };
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line)
                .with_context(|| format!("{} line {}: not a kept checkpoint", path.display(), n + 1))
        })
        .collect()
}

/// `keys.txt`: a hex public key first on each line, then how it came to be trusted.
fn read_keys(dir: &Path) -> anyhow::Result<Vec<[u8; 32]>> {
    let path = dir.join(KEYS);
    let Ok(text) = std::fs::read_to_string(&path) else { return Ok(Vec::new()) };
    let mut keys = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let hex_key = line.split_whitespace().next().unwrap_or_default();
        let mut key = [0u8; 32];
        hex::decode_to_slice(hex_key, &mut key)
            .with_context(|| format!("{} line {}: not a hex public key", path.display(), n + 1))?;
        keys.push(key);
    }
    Ok(keys)
}
