//! Witnessed checkpoints, as an attacker with the database and an auditor with a checkpoint log
//! would find them: a history rewritten with every hash recomputed and the tree rebuilt is caught by
//! `carelog audit witness` against a checkpoint kept before; a checkpoint re-signed with another key
//! is refused by the server's own checks; an ordinary restart, and a key handover, are not.

mod attack;

use std::path::{Path, PathBuf};

use carelog::witness::{Outcome, witness};
use carelog_blackbox::{Backend, Caller, TestApp, assert_rejected, on_both_backends_mut};
use carelog_proofs::checkpoint::SignedCheckpoint;
use carelog_proofs::{KeySource, ProofsConfig};
use carelog_proto::v1 as proto;
use carelog_store::VerifyScope;
use ed25519_dalek::SigningKey;
use tonic::Code;

type Proofs = carelog::witness::Proofs<carelog_blackbox::CallerHeaders>;

fn auditor(app: &TestApp) -> Proofs {
    app.proofs(&Caller::new("auditor"))
}

/// Writes `key`'s public half where an auditor keeps it.
fn public_key_file(dir: &Path, key: &SigningKey) -> PathBuf {
    let path = dir.join(format!("log-{}.pub", hex::encode(&key.verifying_key().to_bytes()[..4])));
    std::fs::write(&path, format!("{}\n", hex::encode(key.verifying_key().to_bytes()))).unwrap();
    path
}

/// One `carelog audit witness` run that signs the current tree first.
async fn witness_now(app: &TestApp, dir: &Path, keys: &[PathBuf]) -> Outcome {
    witness(&mut auditor(app), dir, keys, true).await.expect("a witness run")
}

fn kept_lines(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("checkpoints.jsonl")).map_or(0, |t| t.lines().count())
}

#[track_caller]
fn assert_kept(outcome: &Outcome) {
    assert!(matches!(outcome, Outcome::Kept(m) if m.starts_with("OK")), "{outcome:?}");
}

#[track_caller]
fn assert_diverged(outcome: &Outcome, says: &str) {
    assert!(matches!(outcome, Outcome::Diverged(m) if m.contains(says)), "expected {says:?} in {outcome:?}");
}

/// The whole attack of issue 23 against a witness that kept two checkpoints before it.
async fn a_rewritten_history_is_caught_by_a_witness_kept_before(app: &mut TestApp) {
    app.run_demo().await;
    let auditor_dir = tempfile::tempdir().unwrap();
    let dir = auditor_dir.path().join("witness");
    let key = public_key_file(auditor_dir.path(), &app.signing_key);
    assert_kept(&witness_now(app, &dir, &[key]).await);
    crate::records::short_intake(app).await;
    assert_kept(&witness_now(app, &dir, &[]).await);
    // The C2SP form was kept too, signed by the log's key under its origin.
    let note = std::fs::read_to_string(dir.join("latest.note")).unwrap();
    let read = carelog_proofs::note::verify(&note, "carelog.local/log", &app.signing_key.verifying_key()).unwrap();
    assert_eq!(read.tree_size, app.event_count().await);

    // The attacker: the server stopped (as for maintenance), a session's minutes and a signed
    // note's text changed, the chains recomputed, the tree and its checkpoints deleted; started
    // again, the server rebuilds the tree over the rewritten rows and signs it with its own key.
    app.stop_server().await;
    attack::rewrite_history(app).await;
    app.restart_server(None).await;
    let report = app.store.verify(&VerifyScope::All, &|_| {}).await.unwrap();
    assert!(report.is_intact(), "the attacker recomputed every chain hash: {report:?}");
    let before = kept_lines(&dir);
    // Signed again at the size the witness kept: two roots for one size.
    let outcome = witness_now(app, &dir, &[]).await;
    assert_diverged(&outcome, "two different roots signed for the log of");
    // Grown since: no consistency proof leads from the kept root to the new one.
    crate::records::short_intake(app).await;
    let outcome = witness_now(app, &dir, &[]).await;
    assert_diverged(&outcome, "does not extend the log of");
    assert_diverged(&outcome, "was rewritten");
    assert_eq!(kept_lines(&dir), before, "nothing is kept from a diverged log");

    // Then a checkpoint re-signed with a key of the attacker's own: the server's checks refuse
    // it, and so does the witness.
    let signed = auditor(app).sign_checkpoint(proto::SignCheckpointRequest {}).await.unwrap().into_inner();
    let attacker = SigningKey::from_bytes(&[66; 32]);
    let root = signed.root.try_into().unwrap();
    let forged = SignedCheckpoint::sign(&attacker, signed.tree_size, root, chrono::Utc::now());
    attack::insert_checkpoint(app, &forged).await;
    let status = auditor(app).get_checkpoint(proto::GetProofCheckpointRequest { which: None }).await.unwrap_err();
    assert_rejected(&status, Code::FailedPrecondition, "CHECKPOINT_UNTRUSTED");
    let request = proto::ProveConsistencyRequest { old_size: 1, new_size: signed.tree_size };
    let status = auditor(app).prove_consistency(request).await.unwrap_err();
    assert_rejected(&status, Code::FailedPrecondition, "CHECKPOINT_UNTRUSTED");
    let outcome = witness(&mut auditor(app), &dir, &[], false).await.unwrap();
    assert_diverged(&outcome, "forged or re-signed");
    assert_eq!(kept_lines(&dir), before);
}

/// An ordinary restart with the configured key records no key change and is no inconsistency.
async fn an_ordinary_restart_is_not_an_inconsistency(app: &mut TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let key = public_key_file(dir.path(), &app.signing_key);
    let log = dir.path().join("witness");
    crate::records::short_intake(app).await;
    assert_kept(&witness_now(app, &log, &[key]).await);
    app.restart_server(None).await;
    crate::records::short_intake(app).await;
    let outcome = witness_now(app, &log, &[]).await;
    assert!(matches!(&outcome, Outcome::Kept(m) if m.contains("extends")), "{outcome:?}");
    let changes = auditor(app).list_signing_keys(proto::ListSigningKeysRequest {}).await.unwrap().into_inner();
    let kinds: Vec<&str> = changes.changes.iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(kinds, ["first"], "a restart with the same key records nothing");
}

/// A rotation whose handover the old key signed is followed by the witness; a key introduced
/// without it is refused until the auditor trusts it; an unexplained key does not start at all.
async fn a_handover_is_followed_and_an_introduced_key_needs_the_auditor(app: &mut TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("witness");
    let first = app.signing_key.clone();
    assert_kept(&witness_now(app, &log, &[public_key_file(dir.path(), &first)]).await);
    let first_size = app.event_count().await;

    let second = SigningKey::from_bytes(&[2; 32]);
    let previous = dir.path().join("previous.key");
    carelog_proofs::keys::write_key_pair(&first, &previous).unwrap();
    let handover = ProofsConfig { previous_key: Some(previous), ..ProofsConfig::with_key(second.clone()) };
    app.restart_server(Some(handover)).await;
    crate::records::short_intake(app).await;
    let outcome = witness_now(app, &log, &[]).await;
    assert!(matches!(&outcome, Outcome::Kept(m) if m.contains("now trusting key")), "{outcome:?}");
    // The first key's checkpoint keeps verifying, but only the current key's have a C2SP note.
    let request = proto::GetSignedNoteRequest { tree_size: first_size };
    assert_rejected(&auditor(app).get_signed_note(request).await.unwrap_err(), Code::NotFound, "CHECKPOINT_NOT_FOUND");
    let newest = auditor(app).get_signed_note(proto::GetSignedNoteRequest { tree_size: 0 }).await.unwrap().into_inner();
    carelog_proofs::note::verify(&newest.note, &newest.origin, &second.verifying_key()).expect("the newest note");
    let keys = std::fs::read_to_string(log.join("keys.txt")).unwrap();
    assert!(
        keys.contains(&hex::encode(second.verifying_key().to_bytes()))
            && keys.contains("trusted through the key change"),
        "{keys}"
    );

    let third = SigningKey::from_bytes(&[3; 32]);
    let reason = Some("key lost with the old host".to_owned());
    let introduced = ProofsConfig { introduction: reason, ..ProofsConfig::with_key(third.clone()) };
    app.restart_server(Some(introduced)).await;
    crate::records::short_intake(app).await;
    assert_diverged(&witness_now(app, &log, &[]).await, "key lost with the old host");
    let trusted = [public_key_file(dir.path(), &third)];
    assert_kept(&witness(&mut auditor(app), &log, &trusted, false).await.unwrap());

    // A fourth key with neither the previous key nor an introduction: the server refuses to start.
    let silent = ProofsConfig::with_key(SigningKey::from_bytes(&[4; 32]));
    let config = carelog::app::AppConfig { proofs: Some(silent), ..Default::default() };
    let refused = carelog::app::start_with(app.app_store(), "127.0.0.1:0".parse().unwrap(), config).await;
    let error = format!("{:#}", refused.expect_err("an unexplained key change is refused"));
    assert!(error.contains("a key change must be recorded"), "{error}");
}

/// PostgreSQL has no default key: without one (or the development flag) the server does not start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refuses_to_start_without_a_signing_key() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let config = |dev_ephemeral| carelog::app::AppConfig {
        proofs: Some(ProofsConfig { key: KeySource::Auto, dev_ephemeral, ..ProofsConfig::default() }),
        ..Default::default()
    };
    let refused = carelog::app::start_with(app.app_store(), "127.0.0.1:0".parse().unwrap(), config(false)).await;
    let error = format!("{:#}", refused.expect_err("no key, no start"));
    assert!(error.contains("no checkpoint signing key") && error.contains("--dev-ephemeral-signing-key"), "{error}");
    let dev = carelog::app::start_with(app.app_store(), "127.0.0.1:0".parse().unwrap(), config(true)).await;
    dev.expect("the development flag starts it").stop().await.unwrap();
    app.stop().await;
}

on_both_backends_mut!(
    a_rewritten_history_is_caught_by_a_witness_kept_before,
    an_ordinary_restart_is_not_an_inconsistency,
    a_handover_is_followed_and_an_introduced_key_needs_the_auditor,
);
