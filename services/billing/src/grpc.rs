//! The tonic service: parse, then run. Nothing about billing is decided here.

use std::sync::Arc;

use carelog_auth::Gate;
use carelog_executor::{CommandMeta, ServiceError};
use carelog_proto::v1 as proto;
use carelog_proto::v1::billing_service_server::BillingService;
use carelog_runtime::command_context;
use carelog_store::EventStore;
use tonic::{Request, Response, Status};

use crate::config::BillingConfig;
use crate::convert::{self, AccountRequest};
use crate::handlers;

/// The BillingService over one event store and one practice's billing configuration.
#[derive(Debug, Clone)]
pub struct Billing {
    store: Arc<dyn EventStore>,
    gate: Gate,
    config: Arc<BillingConfig>,
}

impl Billing {
    pub fn new(store: Arc<dyn EventStore>, config: BillingConfig) -> Self {
        Self { gate: Gate::new(Arc::clone(&store)), store, config: Arc::new(config) }
    }

    async fn handle<R: prost::Message>(
        &self,
        request: Request<R>,
        context: impl Fn(&R) -> Option<&proto::CommandContext>,
        parse: impl Fn(&R, &CommandMeta) -> Result<AccountRequest, ServiceError>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        let pass = self.gate.enter(&request).await?;
        let meta = command_context::from_request(&request, context(request.get_ref()), pass)?;
        let body = request.get_ref();
        let parsed = parse(body, &meta)?;
        let committed = handlers::run(&self.store, &self.config, &meta, parsed).await?;
        Ok(Response::new(command_context::receipt(committed)))
    }
}

#[tonic::async_trait]
impl BillingService for Billing {
    async fn open_account(
        &self,
        request: Request<proto::OpenAccountRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), convert::open_account).await
    }

    async fn create_charge(
        &self,
        request: Request<proto::CreateChargeRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), convert::create_charge).await
    }

    async fn submit_claim(
        &self,
        request: Request<proto::SubmitClaimRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), convert::submit_claim).await
    }

    async fn reject_claim(
        &self,
        request: Request<proto::RejectClaimRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), convert::reject_claim).await
    }

    async fn post_remittance(
        &self,
        request: Request<proto::PostRemittanceRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), convert::post_remittance).await
    }

    async fn reverse_remittance(
        &self,
        request: Request<proto::ReverseRemittanceRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), convert::reverse_remittance).await
    }

    async fn recoup_payment(
        &self,
        request: Request<proto::RecoupPaymentRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), convert::recoup_payment).await
    }

    async fn receive_payment(
        &self,
        request: Request<proto::ReceivePaymentRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), convert::receive_payment).await
    }

    async fn write_off(
        &self,
        request: Request<proto::WriteOffRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), convert::write_off).await
    }

    async fn issue_superbill(
        &self,
        request: Request<proto::IssueSuperbillRequest>,
    ) -> Result<Response<proto::AppendReceipt>, Status> {
        self.handle(request, |r| r.context.as_ref(), convert::issue_superbill).await
    }
}
