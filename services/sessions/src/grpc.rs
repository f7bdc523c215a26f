//! The tonic service: parse, then run. Nothing clinical happens here.

use std::sync::Arc;

use carelog_platform::{CommandMeta, ServiceError};
use carelog_proto::v1 as proto;
use carelog_proto::v1::session_service_server::SessionService;
use carelog_store::EventStore;
use tonic::{Request, Response, Status};

use crate::convert::{self, SessionRequest};
use crate::{commands, episode};

type Reply = Result<Response<proto::AppendReceipt>, Status>;

/// The SessionService over one event store.
#[derive(Debug, Clone)]
pub struct Sessions {
    store: Arc<dyn EventStore>,
}

impl Sessions {
    pub fn new(store: Arc<dyn EventStore>) -> Self {
        Self { store }
    }

    fn meta<R: prost::Message>(
        request: &Request<R>,
        context: Option<&proto::CommandContext>,
    ) -> Result<CommandMeta, ServiceError> {
        CommandMeta::from_request(request, context)
    }

    async fn handle<R: prost::Message>(
        &self,
        request: Request<R>,
        context: impl Fn(&R) -> Option<&proto::CommandContext>,
        parse: impl Fn(&R, &CommandMeta) -> Result<SessionRequest, ServiceError>,
    ) -> Reply {
        let meta = Self::meta(&request, context(request.get_ref()))?;
        let command = parse(request.get_ref(), &meta)?;
        let receipt = commands::run(&self.store, &meta, command).await?;
        Ok(Response::new(receipt))
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
        let meta = Self::meta(&request, request.get_ref().context.as_ref())?;
        let command = convert::close_episode(request.get_ref())?;
        let receipt = episode::close(&self.store, &meta, command).await?;
        Ok(Response::new(receipt))
    }
}
