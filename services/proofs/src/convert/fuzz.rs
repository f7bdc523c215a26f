//! Replies from a server (or anyone posing as one) into the forms the offline checker verifies:
//! converted, or refused naming the reply's field; never a panic.

use carelog_executor::ServiceError;
use carelog_runtime::testing::fuzz;
use proptest::prelude::*;

use super::*;
use crate::checkpoint::CheckpointError;

/// The refusal as the field violation it amounts to, so the shared check of field paths applies.
fn violation(error: ReplyError) -> ServiceError {
    let field = match &error {
        ReplyError::HashLength { field, .. } => (*field).to_owned(),
        ReplyError::Checkpoint(CheckpointError::Malformed { field, .. }) => format!("checkpoint.{field}"),
        other => format!("not a field: {other:?}"),
    };
    ServiceError::invalid(field, error.to_string())
}

fn same_checkpoint(
    raw: &proto::ProofCheckpoint,
    signed: &crate::checkpoint::SignedCheckpoint,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(signed.tree_size, raw.tree_size);
    prop_assert_eq!(&signed.root[..], &raw.root[..]);
    prop_assert_eq!(&signed.public_key[..], &raw.public_key[..]);
    prop_assert_eq!(&signed.signature, &raw.signature);
    prop_assert_eq!(Some(to_timestamp(signed.signed_at)), raw.signed_at, "signed_at must round-trip");
    prop_assert!(raw.signed_at.is_some_and(|t| (0..1_000_000_000).contains(&t.nanos)), "{:?}", raw.signed_at);
    Ok(())
}

#[test]
fn a_checkpoint_never_panics() {
    let convert = |r: &proto::ProofCheckpoint| signed_from_proto(r).map_err(|e| violation(ReplyError::Checkpoint(e)));
    // The checkpoint is the whole message here: drop the `checkpoint.` its replies would add.
    let convert = |r: &proto::ProofCheckpoint| {
        convert(r).map_err(|e| match e {
            ServiceError::Invalid(mut v) => {
                v[0].field = v[0].field.trim_start_matches("checkpoint.").to_owned();
                ServiceError::Invalid(v)
            }
            other => other,
        })
    };
    fuzz("ProofCheckpoint", convert, same_checkpoint);
}

#[test]
fn an_inclusion_proof_never_panics() {
    let convert = |r: &proto::InclusionProofReply| ProofFile::try_from(r).map_err(violation);
    fuzz("InclusionProofReply", convert, |r, file| {
        let ProofFile::Inclusion { position, path, checkpoint, .. } = file else {
            return Err(TestCaseError::fail("not an inclusion proof"));
        };
        prop_assert_eq!(*position, r.position);
        prop_assert_eq!(path.len(), r.path.len());
        match (checkpoint, &r.checkpoint) {
            (Some(signed), Some(raw)) => same_checkpoint(raw, signed),
            (None, None) => Ok(()),
            _ => Err(TestCaseError::fail("the checkpoint was dropped or invented")),
        }
    });
}

#[test]
fn a_consistency_proof_never_panics() {
    let convert = |r: &proto::ConsistencyProofReply| ProofFile::try_from(r).map_err(violation);
    fuzz("ConsistencyProofReply", convert, |r, file| {
        let ProofFile::Consistency { old_size, new_size, path, .. } = file else {
            return Err(TestCaseError::fail("not a consistency proof"));
        };
        prop_assert_eq!((*old_size, *new_size, path.len()), (r.old_size, r.new_size, r.path.len()));
        Ok(())
    });
}

/// Found by `a_checkpoint_never_panics` once it checked nanos: chrono took them as a leap second.
#[test]
fn a_checkpoint_signed_at_a_leap_second_is_refused() {
    let checkpoint = proto::ProofCheckpoint {
        root: vec![0; 32],
        public_key: vec![0; 32],
        signed_at: Some(prost_types::Timestamp { seconds: 59, nanos: 1_000_000_000 }),
        ..Default::default()
    };
    let refused = signed_from_proto(&checkpoint).expect_err("nanos of a whole second");
    assert!(matches!(refused, CheckpointError::Malformed { field: "signed_at", .. }), "{refused:?}");
}
