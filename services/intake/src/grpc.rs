//! The tonic service: parse, then run. Nothing clinical happens here.

use std::sync::Arc;

use carelog_auth::Gate;
use carelog_domain::intake::IntakeCommand;
use carelog_executor::{CommandMeta, ServiceError};
use carelog_proto::v1 as proto;
use carelog_proto::v1::intake_service_server::IntakeService;
use carelog_runtime::command_context;
use carelog_store::EventStore;
use tonic::{Request, Response, Status};

use crate::convert::{self, ClientCommand};
use crate::handlers;

/// The IntakeService over one event store.
#[derive(Debug, Clone)]
pub struct Intake {
    store: Arc<dyn EventStore>,
    gate: Gate,
    late_entry_after: chrono::Duration,
}

impl Intake {
    /// The service under the practice's late-entry threshold.
    pub fn new(store: Arc<dyn EventStore>, late_entry_after: chrono::Duration) -> Self {
        Self { gate: Gate::new(Arc::clone(&store)), store, late_entry_after }
    }

    async fn handle<R: prost::Message>(
        &self,
        request: Request<R>,
        context: impl Fn(&R) -> Option<&proto::CommandContext>,
        parse: impl Fn(&R, &CommandMeta) -> Result<ClientCommand, ServiceError>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        let pass = self.gate.enter(&request).await?;
        let mut meta = command_context::from_request(&request, context(request.get_ref()), pass.clone())?;
        let body = request.get_ref();
        let (client_id, command) = parse(body, &meta)?;
        // Checked before the decision even for a client with no record yet: to a clinician, an
        // unknown client and another clinician's client look the same.
        meta.client_hint = Some(client_id.as_uuid());
        meta.expects_new_stream = matches!(command, IntakeCommand::RegisterClient { .. });
        if let Some((field, clinician)) = command.signer() {
            self.gate.acting_as(&pass, field, clinician.as_uuid()).await?;
        }
        let committed = handlers::run(self.store.as_ref(), &meta, self.late_entry_after, client_id, command).await?;
        Ok(Response::new(command_context::receipt(committed)))
    }
}

#[tonic::async_trait]
impl IntakeService for Intake {
    async fn place_legal_hold(
        &self,
        request: Request<proto::LegalHoldRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), |r, meta| convert::legal_hold(r, meta, false)).await
    }

    async fn release_legal_hold(
        &self,
        request: Request<proto::LegalHoldRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), |r, meta| convert::legal_hold(r, meta, true)).await
    }

    async fn register_client(
        &self,
        request: Request<proto::RegisterClientRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), convert::register_client).await
    }

    async fn open_episode(
        &self,
        request: Request<proto::OpenEpisodeRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), convert::open_episode).await
    }

    async fn give_consent(
        &self,
        request: Request<proto::GiveConsentRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), convert::give_consent).await
    }

    async fn revoke_consent(
        &self,
        request: Request<proto::RevokeConsentRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), convert::revoke_consent).await
    }

    async fn record_assessment(
        &self,
        request: Request<proto::RecordAssessmentRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), convert::record_assessment).await
    }

    async fn acknowledge_risk_flag(
        &self,
        request: Request<proto::AcknowledgeRiskFlagRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), |r, _| convert::acknowledge_risk_flag(r)).await
    }

    async fn record_diagnosis(
        &self,
        request: Request<proto::RecordDiagnosisRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), |r, _| convert::record_diagnosis(r)).await
    }

    async fn revise_diagnosis(
        &self,
        request: Request<proto::ReviseDiagnosisRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), convert::revise_diagnosis).await
    }

    async fn issue_good_faith_estimate(
        &self,
        request: Request<proto::IssueGoodFaithEstimateRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), convert::issue_good_faith_estimate).await
    }
}
