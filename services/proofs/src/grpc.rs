//! The tonic ProofService: thin. Proofs reveal hashes and positions, never event data; the policy
//! gives them to the roles that audit or follow the log (auditor, connector, admin).

use std::sync::Arc;

use carelog_auth::Gate;
use carelog_proto::v1 as proto;
use carelog_proto::v1::proof_service_server::ProofService;
use tonic::{Request, Response, Status};

use crate::error::ProofServiceError;
use crate::prover::Prover;

/// Default and largest page of ListCheckpoints.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 1000;

#[derive(Debug, Clone)]
pub struct Proofs {
    prover: Arc<Prover>,
    gate: Gate,
}

impl Proofs {
    pub fn new(prover: Arc<Prover>, gate: Gate) -> Self {
        Self { prover, gate }
    }
}

#[tonic::async_trait]
impl ProofService for Proofs {
    // `sign_now` is deprecated in the proto: read here only to refuse it by name.
    #[allow(deprecated)]
    #[tracing::instrument(skip_all, err(level = "info"))]
    async fn get_checkpoint(
        &self,
        request: Request<proto::GetProofCheckpointRequest>,
    ) -> Result<Response<proto::ProofCheckpoint>, Status> {
        use proto::get_proof_checkpoint_request::Which;
        self.gate.enter(&request).await?;
        let listed = match request.into_inner().which {
            // A get changes nothing: signing is its own call.
            Some(Which::SignNow(true)) => {
                Err(ProofServiceError::invalid("sign_now", "GetCheckpoint no longer signs; call SignCheckpoint"))
            }
            Some(Which::TreeSize(0)) => {
                Err(ProofServiceError::invalid("tree_size", "must be at least 1; leave it unset for the newest"))
            }
            Some(Which::TreeSize(size)) => self.prover.checkpoint(Some(size)).await,
            Some(Which::SignNow(false)) | None => self.prover.checkpoint(None).await,
        }?;
        Ok(Response::new(listed.into()))
    }

    #[tracing::instrument(skip_all, err(level = "info"))]
    async fn sign_checkpoint(
        &self,
        request: Request<proto::SignCheckpointRequest>,
    ) -> Result<Response<proto::ProofCheckpoint>, Status> {
        self.gate.enter(&request).await?;
        Ok(Response::new(self.prover.sign_now().await?.into()))
    }

    #[tracing::instrument(skip_all, err(level = "info"))]
    async fn get_signed_note(
        &self,
        request: Request<proto::GetSignedNoteRequest>,
    ) -> Result<Response<proto::SignedNote>, Status> {
        self.gate.enter(&request).await?;
        let size = request.into_inner().tree_size;
        let listed = self.prover.checkpoint((size > 0).then_some(size)).await?;
        let tree_size = listed.signed.tree_size;
        let note = listed.signed_note.ok_or(ProofServiceError::NoSignedNote { size: tree_size })?;
        Ok(Response::new(proto::SignedNote { tree_size, origin: self.prover.origin().to_owned(), note }))
    }

    #[tracing::instrument(skip_all, err(level = "info"))]
    async fn list_signing_keys(
        &self,
        request: Request<proto::ListSigningKeysRequest>,
    ) -> Result<Response<proto::ListSigningKeysReply>, Status> {
        self.gate.enter(&request).await?;
        let changes = self.prover.key_changes().await?;
        Ok(Response::new(proto::ListSigningKeysReply { changes: changes.into_iter().map(Into::into).collect() }))
    }

    #[tracing::instrument(skip_all, err(level = "info"))]
    async fn list_checkpoints(
        &self,
        request: Request<proto::ListProofCheckpointsRequest>,
    ) -> Result<Response<proto::ListProofCheckpointsReply>, Status> {
        self.gate.enter(&request).await?;
        let request = request.into_inner();
        if request.limit > MAX_PAGE {
            let reason = format!("{} is more than {MAX_PAGE}", request.limit);
            return Err(ProofServiceError::invalid("limit", reason).into());
        }
        let limit = if request.limit == 0 { DEFAULT_PAGE } else { request.limit };
        let listed = self.prover.list(request.before_id, limit).await?;
        Ok(Response::new(proto::ListProofCheckpointsReply {
            checkpoints: listed.into_iter().map(Into::into).collect(),
        }))
    }

    #[tracing::instrument(skip_all, err(level = "info"), fields(position = request.get_ref().position, size = request.get_ref().tree_size))]
    async fn prove_inclusion(
        &self,
        request: Request<proto::ProveInclusionRequest>,
    ) -> Result<Response<proto::InclusionProofReply>, Status> {
        self.gate.enter(&request).await?;
        let request = request.into_inner();
        let proof = self.prover.inclusion(request.position, request.tree_size).await?;
        Ok(Response::new(proof.into()))
    }

    #[tracing::instrument(skip_all, err(level = "info"), fields(old = request.get_ref().old_size, new = request.get_ref().new_size))]
    async fn prove_consistency(
        &self,
        request: Request<proto::ProveConsistencyRequest>,
    ) -> Result<Response<proto::ConsistencyProofReply>, Status> {
        self.gate.enter(&request).await?;
        let request = request.into_inner();
        let proof = self.prover.consistency(request.old_size, request.new_size).await?;
        Ok(Response::new(proof.into()))
    }
}
