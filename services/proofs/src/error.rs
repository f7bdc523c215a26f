//! One mapping from what a proof request can fail with to a `tonic::Status` a caller can act on.

use std::collections::HashMap;

use carelog_runtime::ERROR_DOMAIN;
use carelog_store::StoreError;
use carelog_store::merkle::{ProofError, TreeError};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

#[derive(Debug, thiserror::Error)]
pub enum ProofServiceError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("the tree is built up to {built} events; size {size} is not built yet, retry shortly")]
    NotBuilt { size: u64, built: u64 },
    #[error("no checkpoint has been signed{}", .size.map(|s| format!(" at tree size {s}")).unwrap_or_default())]
    NoCheckpoint { size: Option<u64> },
    #[error(
        "the checkpoint at tree size {size} was signed by an earlier key: it has no signed note of this server's key"
    )]
    NoSignedNote { size: u64 },
    #[error(
        "signed checkpoint #{id} (tree size {size}) is signed by key {key}, which this log's key does not vouch \
         for: the checkpoint was forged or re-signed in the database"
    )]
    Untrusted { id: i64, size: u64, key: String },
    #[error("{0}")]
    Tree(#[from] TreeError),
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl ProofServiceError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid { field, reason: reason.into() }
    }
}

impl From<ProofServiceError> for Status {
    fn from(error: ProofServiceError) -> Self {
        let message = error.to_string();
        match error {
            ProofServiceError::Invalid { field, reason } => bad_request(&message, field, &reason),
            ProofServiceError::NotBuilt { .. } => reason(Code::FailedPrecondition, &message, "TREE_NOT_BUILT"),
            ProofServiceError::NoCheckpoint { .. } | ProofServiceError::NoSignedNote { .. } => {
                reason(Code::NotFound, &message, "CHECKPOINT_NOT_FOUND")
            }
            ProofServiceError::Untrusted { .. } => {
                tracing::error!(%message, "a stored checkpoint does not verify under a trusted key");
                reason(Code::FailedPrecondition, &message, "CHECKPOINT_UNTRUSTED")
            }
            ProofServiceError::Tree(tree) => tree_status(&message, tree),
            ProofServiceError::Store(store) => store_status(&message, store),
        }
    }
}

fn tree_status(message: &str, error: TreeError) -> Status {
    match error {
        TreeError::Store(store) => store_status(message, store),
        TreeError::Proof(proof) => {
            let field = match proof {
                ProofError::LeafBeyondSize { .. } => "position",
                ProofError::OldBeyondNew { .. } => "old_size",
                _ => "tree_size",
            };
            bad_request(message, field, &proof.to_string())
        }
        TreeError::BeyondLog { .. } => bad_request(message, "tree_size", message),
        TreeError::NotBuilt { .. } => reason(Code::FailedPrecondition, message, "TREE_NOT_BUILT"),
        TreeError::Tampered { .. } | TreeError::Gap { .. } => {
            tracing::error!(%message, "the log no longer matches its Merkle tree");
            reason(Code::FailedPrecondition, message, "LOG_TAMPERED")
        }
        TreeError::RootMismatch { .. } | TreeError::CheckpointMismatch { .. } => {
            tracing::error!(%message, "the Merkle tree no longer matches what was signed");
            reason(Code::FailedPrecondition, message, "TREE_TAMPERED")
        }
        TreeError::Stale { .. } => reason(Code::Aborted, message, "TREE_MOVED"),
    }
}

fn store_status(message: &str, error: StoreError) -> Status {
    match error {
        StoreError::Unavailable(_) => reason(Code::Unavailable, message, "STORE_UNAVAILABLE"),
        _ => {
            tracing::error!(%message, "store failure while proving");
            reason(Code::Internal, "event store failure; see the server log", "STORE_FAILURE")
        }
    }
}

fn bad_request(message: &str, field: &str, description: &str) -> Status {
    let mut details = ErrorDetails::new();
    details.add_bad_request_violation(field, description);
    Status::with_error_details(Code::InvalidArgument, message, details)
}

fn reason(code: Code, message: &str, reason: &str) -> Status {
    Status::with_error_details(code, message, ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::new()))
}
