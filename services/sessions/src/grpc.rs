//! The tonic service: parse, then run. Nothing clinical happens here.

use std::sync::Arc;

use carelog_auth::{Gate, Pass};
use carelog_domain::sessions::{SessionCommand, SessionSettings};
use carelog_domain::types::ClinicianId;
use carelog_executor::{CommandMeta, ServiceError};
use carelog_proto::v1 as proto;
use carelog_proto::v1::session_service_server::SessionService;
use carelog_runtime::command_context;
use carelog_store::EventStore;
use tonic::{Request, Response, Status};

use crate::convert::{self, SessionRequest};
use crate::{episode, handlers};

type Reply = Result<Response<proto::AppendReceipt>, Status>;

/// The SessionService over one event store.
#[derive(Debug, Clone)]
pub struct Sessions {
    store: Arc<dyn EventStore>,
    gate: Gate,
    settings: SessionSettings,
}

impl Sessions {
    /// The service under the practice's settings.
    pub fn new(store: Arc<dyn EventStore>, settings: SessionSettings) -> Self {
        Self { gate: Gate::new(Arc::clone(&store)), store, settings }
    }

    async fn meta<R: prost::Message>(
        &self,
        request: &Request<R>,
        context: Option<&proto::CommandContext>,
    ) -> Result<(CommandMeta, Pass), ServiceError> {
        let pass = self.gate.enter(request).await?;
        Ok((command_context::from_request(request, context, pass.clone())?, pass))
    }

    /// Only the clinician a command names as its signer or author may send it.
    async fn check_signer(&self, pass: &Pass, signer: Option<(&str, ClinicianId)>) -> Result<(), ServiceError> {
        match signer {
            Some((field, clinician)) => self.gate.acting_as(pass, field, clinician.as_uuid()).await,
            None => Ok(()),
        }
    }

    async fn handle<R: prost::Message>(
        &self,
        request: Request<R>,
        context: impl Fn(&R) -> Option<&proto::CommandContext>,
        parse: impl Fn(&R, &CommandMeta) -> Result<SessionRequest, ServiceError>,
    ) -> Reply {
        let (mut meta, pass) = self.meta(&request, context(request.get_ref())).await?;
        let command = parse(request.get_ref(), &meta)?;
        if let SessionCommand::ScheduleSession { client_id, .. } = &command.command {
            meta.client_hint = Some(client_id.as_uuid());
        }
        self.check_signer(&pass, command.command.signer()).await?;
        let committed = handlers::run(&self.store, &meta, self.settings, command).await?;
        Ok(Response::new(command_context::receipt(committed)))
    }
}

#[tonic::async_trait]
impl SessionService for Sessions {
    async fn schedule_session(&self, request: Request<proto::ScheduleSessionRequest>) -> Reply {
        self.handle(request, |r| r.context.as_ref(), convert::schedule_session).await
    }

    async fn hold_session(&self, request: Request<proto::HoldSessionRequest>) -> Reply {
        self.handle(request, |r| r.context.as_ref(), convert::hold_session).await
    }

    async fn cancel_session(&self, request: Request<proto::CancelSessionRequest>) -> Reply {
        self.handle(request, |r| r.context.as_ref(), convert::cancel_session).await
    }

    async fn record_no_show(&self, request: Request<proto::RecordNoShowRequest>) -> Reply {
        self.handle(request, |r| r.context.as_ref(), convert::record_no_show).await
    }

    async fn sign_progress_note(&self, request: Request<proto::SignProgressNoteRequest>) -> Reply {
        self.handle(request, |r| r.context.as_ref(), convert::sign_progress_note).await
    }

    async fn append_addendum(&self, request: Request<proto::AppendAddendumRequest>) -> Reply {
        self.handle(request, |r| r.context.as_ref(), convert::append_addendum).await
    }

    async fn record_psychotherapy_note(&self, request: Request<proto::RecordPsychotherapyNoteRequest>) -> Reply {
        self.handle(request, |r| r.context.as_ref(), convert::record_psychotherapy_note).await
    }

    async fn request_amendment(&self, request: Request<proto::RequestAmendmentRequest>) -> Reply {
        self.handle(request, |r| r.context.as_ref(), convert::request_amendment).await
    }

    async fn decide_amendment(&self, request: Request<proto::DecideAmendmentRequest>) -> Reply {
        self.handle(request, |r| r.context.as_ref(), convert::decide_amendment).await
    }

    async fn close_episode(&self, request: Request<proto::CloseEpisodeRequest>) -> Reply {
        let (meta, pass) = self.meta(&request, request.get_ref().context.as_ref()).await?;
        let command = convert::close_episode(request.get_ref())?;
        self.check_signer(&pass, command.command.signer()).await?;
        let committed = episode::close(&self.store, &meta, command).await?;
        Ok(Response::new(command_context::receipt(committed)))
    }
}
