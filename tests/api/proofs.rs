//! The tamper-evident log over gRPC: inclusion and consistency proofs that verify for every
//! position and size, rejections with a reason, the offline check, and tampering caught.

use carelog_blackbox::{
    Authed, Backend, Caller, CallerHeaders, TestApp, assert_invalid_field, assert_rejected, on_both_backends,
};
use carelog_proofs::checkpoint::{CheckpointError, SignedCheckpoint};
use carelog_proofs::offline::{self, CheckError, Checked, ProofFile};
use carelog_proofs::signed_from_proto;
use carelog_proto::v1 as proto;
use carelog_proto::v1::proof_service_client::ProofServiceClient;
use carelog_store::merkle::{ProofError, event_leaf, verify_consistency, verify_inclusion};
use ed25519_dalek::{SigningKey, VerifyingKey};
use tonic::Code;

/// The proof calls of an auditor.
fn proofs(app: &TestApp) -> ProofServiceClient<Authed> {
    ProofServiceClient::with_interceptor(app.channel(), CallerHeaders::new(Caller::new("auditor")))
}

/// Grows the log by one short intake (five events) through the real services.
async fn grow(app: &TestApp) {
    crate::records::short_intake(app).await;
}

pub(crate) async fn sign_now(app: &TestApp) -> proto::ProofCheckpoint {
    proofs(app).sign_checkpoint(proto::SignCheckpointRequest {}).await.expect("signed").into_inner()
}

fn hash(bytes: &[u8]) -> [u8; 32] {
    bytes.try_into().expect("32 bytes")
}

fn hashes(path: &[Vec<u8>]) -> Vec<[u8; 32]> {
    path.iter().map(|h| hash(h)).collect()
}

async fn inclusion(app: &TestApp, position: u64, tree_size: u64) -> proto::InclusionProofReply {
    let request = proto::ProveInclusionRequest { position, tree_size };
    proofs(app).prove_inclusion(request).await.expect("inclusion proof").into_inner()
}

async fn consistency(
    app: &TestApp,
    old_size: u64,
    new_size: u64,
) -> Result<proto::ConsistencyProofReply, tonic::Status> {
    let request = proto::ProveConsistencyRequest { old_size, new_size };
    proofs(app).prove_consistency(request).await.map(|r| r.into_inner())
}

/// Every position in every size proves its inclusion, every pair of sizes its consistency, and the
/// roots agree with what was signed.
async fn proofs_verify_for_every_position_and_size(app: &TestApp) {
    grow(app).await;
    grow(app).await;
    grow(app).await;
    let signed = sign_now(app).await;
    let n = app.event_count().await;
    assert_eq!(signed.tree_size, n);
    let mut roots = vec![[0u8; 32]];
    for size in 1..=n {
        for position in 1..=size {
            let proof = inclusion(app, position, size).await;
            assert_eq!(proof.leaf_hash, event_leaf(position, &hash(&proof.event_hash)).to_vec());
            let root = hash(&proof.root);
            verify_inclusion(position - 1, size, &hash(&proof.leaf_hash), &hashes(&proof.path), &root)
                .unwrap_or_else(|e| panic!("position {position} in {size}: {e}"));
            if position == 1 {
                roots.push(root);
            }
        }
    }
    assert_eq!(roots[n as usize].to_vec(), signed.root, "the signed root is the tree's root");
    for new in 1..=n {
        for old in 1..=new {
            let proof = consistency(app, old, new).await.expect("consistency proof");
            let (old_root, new_root) = (roots[old as usize], roots[new as usize]);
            assert_eq!((proof.old_root.clone(), proof.new_root.clone()), (old_root.to_vec(), new_root.to_vec()));
            verify_consistency(old, new, &old_root, &new_root, &hashes(&proof.path))
                .unwrap_or_else(|e| panic!("{old} → {new}: {e}"));
        }
    }
}

/// The auditor's workflow: keep yesterday's checkpoint, check today's proof offline. Forgeries fail.
async fn the_offline_check_accepts_good_proofs_and_rejects_forgeries(app: &TestApp) {
    grow(app).await;
    grow(app).await;
    let yesterday = signed_from_proto(&sign_now(app).await).expect("checkpoint");
    let key = VerifyingKey::from_bytes(&yesterday.public_key).expect("key");
    grow(app).await;
    let today = signed_from_proto(&sign_now(app).await).expect("checkpoint");
    let reply = consistency(app, yesterday.tree_size, 0).await.expect("proof to the newest checkpoint");
    let proof = ProofFile::try_from(&reply).expect("proof file");
    let expected = Checked::Extends {
        old_size: yesterday.tree_size,
        new_size: today.tree_size,
        key: carelog_proofs::checkpoint::key_id(&yesterday.public_key),
    };
    assert_eq!(offline::check(&yesterday, &proof, &key), Ok(expected));
    // The files survive being saved and read back.
    let saved: ProofFile = serde_json::from_str(&serde_json::to_string(&proof).unwrap()).unwrap();
    assert!(offline::check(&yesterday, &saved, &key).is_ok());

    // A checkpoint signed by another key, or checked against another key, is refused.
    let other = SigningKey::from_bytes(&[9; 32]);
    let foreign = SignedCheckpoint::sign(&other, yesterday.tree_size, yesterday.root, yesterday.signed_at);
    assert!(matches!(
        offline::check(&foreign, &proof, &key),
        Err(CheckError::Checkpoint(CheckpointError::ForeignKey { .. }))
    ));
    assert!(matches!(
        offline::check(&yesterday, &proof, &other.verifying_key()),
        Err(CheckError::Checkpoint(CheckpointError::ForeignKey { .. }))
    ));
    // An altered checkpoint no longer verifies.
    let mut altered = yesterday.clone();
    altered.root[0] ^= 1;
    assert_eq!(offline::check(&altered, &proof, &key), Err(CheckError::Checkpoint(CheckpointError::BadSignature)));
    // A truncated proof.
    let mut truncated = reply.clone();
    truncated.path.pop();
    let truncated = ProofFile::try_from(&truncated).unwrap();
    assert!(matches!(
        offline::check(&yesterday, &truncated, &key),
        Err(CheckError::Proof(ProofError::WrongLength { .. }))
    ));
    // A proof for another size.
    let other_size = ProofFile::try_from(&consistency(app, 5, today.tree_size).await.unwrap()).unwrap();
    assert_eq!(
        offline::check(&yesterday, &other_size, &key),
        Err(CheckError::SizeMismatch { proof: 5, checkpoint: yesterday.tree_size })
    );
    // A proof whose new checkpoint was swapped for an older one.
    let mut swapped = reply;
    swapped.checkpoint = Some(sign_now(app).await).map(|mut c| {
        c.tree_size = yesterday.tree_size;
        c
    });
    assert!(offline::check(&yesterday, &ProofFile::try_from(&swapped).unwrap(), &key).is_err());

    // Inclusion: good against today's checkpoint, refused against yesterday's size.
    let included = ProofFile::try_from(&inclusion(app, 3, today.tree_size).await).unwrap();
    assert!(matches!(offline::check(&today, &included, &key), Ok(Checked::Included { position: 3, .. })));
    assert_eq!(
        offline::check(&yesterday, &included, &key),
        Err(CheckError::SizeMismatch { proof: today.tree_size, checkpoint: yesterday.tree_size })
    );
}

/// Sizes of 0 or beyond the log, and positions beyond the size, are refused naming the field.
async fn bad_sizes_and_positions_are_rejected_with_a_reason(app: &TestApp) {
    grow(app).await;
    let n = app.event_count().await;
    let mut client = proofs(app);
    let which = Some(proto::get_proof_checkpoint_request::Which::TreeSize(0));
    let status = client.get_checkpoint(proto::GetProofCheckpointRequest { which }).await.unwrap_err();
    assert_invalid_field(&status, "tree_size");
    let which = Some(proto::get_proof_checkpoint_request::Which::TreeSize(3));
    let status = client.get_checkpoint(proto::GetProofCheckpointRequest { which }).await.unwrap_err();
    assert_rejected(&status, Code::NotFound, "CHECKPOINT_NOT_FOUND");
    let prove = |position, tree_size| proto::ProveInclusionRequest { position, tree_size };
    assert_invalid_field(&client.prove_inclusion(prove(0, n)).await.unwrap_err(), "position");
    assert_invalid_field(&client.prove_inclusion(prove(n, n - 1)).await.unwrap_err(), "position");
    assert_invalid_field(&client.prove_inclusion(prove(1, n + 1)).await.unwrap_err(), "tree_size");
    assert_invalid_field(&consistency(app, 0, n).await.unwrap_err(), "old_size");
    assert_invalid_field(&consistency(app, n, n - 1).await.unwrap_err(), "old_size");
    assert_invalid_field(&consistency(app, 1, n + 1).await.unwrap_err(), "new_size");
    let request = proto::ListProofCheckpointsRequest { before_id: 0, limit: 5000 };
    assert_invalid_field(&client.list_checkpoints(request).await.unwrap_err(), "limit");
    // A get changes nothing: the old "sign now" flag of GetCheckpoint is refused by name, and signs nothing.
    #[allow(deprecated)]
    let which = Some(proto::get_proof_checkpoint_request::Which::SignNow(true));
    assert_invalid_field(
        &client.get_checkpoint(proto::GetProofCheckpointRequest { which }).await.unwrap_err(),
        "sign_now",
    );
    let listed = client.list_checkpoints(proto::ListProofCheckpointsRequest::default()).await.unwrap().into_inner();
    assert!(listed.checkpoints.is_empty(), "{listed:?}");
    // With no checkpoint signed yet, "the newest" has nothing to name.
    assert_rejected(&consistency(app, 1, 0).await.unwrap_err(), Code::NotFound, "CHECKPOINT_NOT_FOUND");
    sign_now(app).await;
    sign_now(app).await;
    let listed = client.list_checkpoints(proto::ListProofCheckpointsRequest::default()).await.unwrap().into_inner();
    assert_eq!(listed.checkpoints.len(), 1, "signing an unchanged tree again stores nothing new");
}

/// Yesterday's checkpoint after two intakes, today's after three; then `sql` runs behind the store's back and
/// the next consistency proof from yesterday is refused, naming the altered position.
async fn tampering_fails_the_next_consistency_proof(app: &TestApp, sql: &str, position: u64) {
    grow(app).await;
    grow(app).await;
    let yesterday = sign_now(app).await;
    grow(app).await;
    let today = sign_now(app).await;
    assert!(consistency(app, yesterday.tree_size, today.tree_size).await.is_ok());
    app.tamper(sql).await;
    let status = consistency(app, yesterday.tree_size, today.tree_size).await.unwrap_err();
    assert_rejected(&status, Code::FailedPrecondition, "LOG_TAMPERED");
    assert!(status.message().contains(&format!("position {position}")), "{status:?}");
    let request = proto::ProveInclusionRequest { position: 1, tree_size: today.tree_size };
    assert_rejected(&proofs(app).prove_inclusion(request).await.unwrap_err(), Code::FailedPrecondition, "LOG_TAMPERED");
}

async fn a_changed_row_fails_the_next_consistency_proof(app: &TestApp) {
    tampering_fails_the_next_consistency_proof(
        app,
        r#"UPDATE events SET data = '{"edited":true}' WHERE position = 3"#,
        3,
    )
    .await;
}

async fn a_row_given_another_rows_hash_fails_the_next_consistency_proof(app: &TestApp) {
    let sql = "UPDATE events SET hash = (SELECT hash FROM events WHERE position = 2) WHERE position = 8";
    tampering_fails_the_next_consistency_proof(app, sql, 8).await;
}

async fn a_removed_row_fails_the_next_consistency_proof(app: &TestApp) {
    tampering_fails_the_next_consistency_proof(app, "DELETE FROM events WHERE position = 7", 7).await;
}

async fn reordered_rows_fail_the_next_consistency_proof(app: &TestApp) {
    let sql = "UPDATE events SET position = 1004 WHERE position = 4;
               UPDATE events SET position = 4 WHERE position = 6;
               UPDATE events SET position = 6 WHERE position = 1004;";
    tampering_fails_the_next_consistency_proof(app, sql, 4).await;
}

async fn an_inserted_row_fails_the_next_consistency_proof(app: &TestApp) {
    let new_id = if app.backend == Backend::Sqlite { "randomblob(16)" } else { "gen_random_uuid()" };
    let sql = format!(
        "UPDATE events SET position = position + 1000 WHERE position >= 5;
         UPDATE events SET position = position - 999 WHERE position >= 1005;
         INSERT INTO events (position, event_id, stream, category, revision, event_type, schema_version, data,
                             metadata, client_tag, recorded_at, prev_hash, hash)
         SELECT 5, {new_id}, stream || '-x', category, revision, event_type, schema_version, data, metadata,
                client_tag, recorded_at, prev_hash, hash FROM events WHERE position = 3;"
    );
    tampering_fails_the_next_consistency_proof(app, &sql, 5).await;
}

on_both_backends!(
    proofs_verify_for_every_position_and_size,
    the_offline_check_accepts_good_proofs_and_rejects_forgeries,
    bad_sizes_and_positions_are_rejected_with_a_reason,
    a_changed_row_fails_the_next_consistency_proof,
    a_row_given_another_rows_hash_fails_the_next_consistency_proof,
    a_removed_row_fails_the_next_consistency_proof,
    reordered_rows_fail_the_next_consistency_proof,
    an_inserted_row_fails_the_next_consistency_proof,
);
