//! The tonic service: parse, then run. Nothing clinical happens here.

use std::sync::Arc;

use carelog_auth::Gate;
use carelog_domain::planning::PlanningCommand;
use carelog_executor::{CommandMeta, ServiceError};
use carelog_proto::v1 as proto;
use carelog_proto::v1::treatment_planning_service_server::TreatmentPlanningService;
use carelog_runtime::command_context;
use carelog_store::EventStore;
use tonic::{Request, Response, Status};

use crate::PlanningConfig;
use crate::convert::{self, PlanCommand};
use crate::handlers;

/// The TreatmentPlanningService over one event store.
#[derive(Debug, Clone)]
pub struct Planning {
    store: Arc<dyn EventStore>,
    gate: Gate,
    config: PlanningConfig,
}

impl Planning {
    pub fn new(store: Arc<dyn EventStore>, config: PlanningConfig) -> Self {
        Self { gate: Gate::new(Arc::clone(&store)), store, config }
    }

    async fn handle<R: prost::Message>(
        &self,
        request: Request<R>,
        context: impl Fn(&R) -> Option<&proto::CommandContext>,
        parse: impl Fn(&R, &CommandMeta) -> Result<PlanCommand, ServiceError>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        let pass = self.gate.enter(&request).await?;
        let mut meta = command_context::from_request(&request, context(request.get_ref()), pass.clone())?;
        let body = request.get_ref();
        let (plan_id, command) = parse(body, &meta)?;
        if let PlanningCommand::DraftPlan { client_id, .. } = &command {
            meta.client_hint = Some(client_id.as_uuid());
        }
        if let Some((field, clinician)) = command.signer() {
            self.gate.acting_as(&pass, field, clinician.as_uuid()).await?;
        }
        let committed = handlers::run(&self.store, &meta, self.config.review_rule, plan_id, command).await?;
        Ok(Response::new(command_context::receipt(committed)))
    }
}

#[tonic::async_trait]
impl TreatmentPlanningService for Planning {
    async fn draft_plan(
        &self,
        request: Request<proto::DraftPlanRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), |r, _| convert::draft_plan(r)).await
    }

    async fn set_goal(
        &self,
        request: Request<proto::SetGoalRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), convert::set_goal).await
    }

    async fn add_objective(
        &self,
        request: Request<proto::AddObjectiveRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), |r, _| convert::add_objective(r)).await
    }

    async fn add_intervention(
        &self,
        request: Request<proto::AddInterventionRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), |r, _| convert::add_intervention(r)).await
    }

    async fn sign_plan(
        &self,
        request: Request<proto::SignPlanRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), |r, _| convert::sign_plan(r)).await
    }

    async fn review_plan(
        &self,
        request: Request<proto::ReviewPlanRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), |r, _| convert::review_plan(r)).await
    }

    async fn change_goal_status(
        &self,
        request: Request<proto::ChangeGoalStatusRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), convert::change_goal_status).await
    }

    async fn plan_termination(
        &self,
        request: Request<proto::PlanTerminationRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), convert::plan_termination).await
    }
}
