//! The console's only way to the records: the RecordsService and ProofService over gRPC, called
//! with the signed-in user's own bearer token, so that every policy check and every audit entry
//! happens in the services and nowhere else.

use carelog_auth::policy::{self, Access};
use carelog_auth::{CallAs, Credentials};
use carelog_proto::v1 as proto;
use carelog_proto::v1::proof_service_client::ProofServiceClient;
use carelog_proto::v1::records_service_client::RecordsServiceClient;
use tonic::Status;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::asof::AsOf;
use crate::session::Session;

type Authed = InterceptedService<Channel, CallAs>;

/// The gRPC servers the console reads from: the RecordsService and the ProofService (one server
/// for `carelog serve`, two deployments in a split topology).
#[derive(Debug, Clone)]
pub struct Api {
    records: Channel,
    proofs: Channel,
}

/// One user's calls.
#[derive(Debug)]
pub struct UserApi {
    records: RecordsServiceClient<Authed>,
    proofs: ProofServiceClient<Authed>,
    role: carelog_auth::Role,
}

impl Api {
    pub fn new(records: Channel, proofs: Channel) -> Self {
        Self { records, proofs }
    }

    pub fn as_user(&self, session: &Session) -> UserApi {
        // With `--allow-anonymous` the server reads the self-named headers CallAs also sends.
        let caller = Credentials::Token(session.token.clone()).caller(session.who.subject, session.who.role);
        UserApi {
            records: RecordsServiceClient::with_interceptor(self.records.clone(), caller.clone()),
            proofs: ProofServiceClient::with_interceptor(self.proofs.clone(), caller),
            role: session.who.role,
        }
    }
}

impl UserApi {
    /// Whether the policy lets this user call `rpc` at all: asked first, so that a page never
    /// provokes a logged denial for a section the role may not see.
    pub fn may(&self, rpc: &str) -> bool {
        matches!(policy::access(rpc, self.role), Access::Granted(_))
    }

    pub async fn episode(&mut self, client_id: &str, as_of: Option<AsOf>) -> Result<proto::EpisodeReply, Status> {
        let client_id = client_id.to_owned();
        let reply = match as_of {
            None => self.records.get_episode(proto::GetEpisodeRequest { client_id, min_position: 0 }).await?,
            Some(point) => {
                use proto::get_episode_as_of_request::AsOf as Point;
                let as_of = match point {
                    AsOf::Position(position) => Point::Position(position),
                    AsOf::RecordedAt(at) => Point::RecordedAt(timestamp(at)),
                    AsOf::OccurredBy(date) => Point::OccurredBy(timestamp(AsOf::end_of(date))),
                };
                self.records.get_episode_as_of(proto::GetEpisodeAsOfRequest { client_id, as_of: Some(as_of) }).await?
            }
        };
        Ok(reply.into_inner())
    }

    /// One page of the audit trail (the API's own page token carries on from it).
    pub async fn audit_page(
        &mut self,
        request: proto::ListAuditTrailRequest,
    ) -> Result<proto::ListAuditTrailReply, Status> {
        Ok(self.records.list_audit_trail(request).await?.into_inner())
    }

    /// The newest registrations (the practice's client list, ids only).
    pub async fn recent_clients(&mut self) -> Result<Vec<proto::AuditEntry>, Status> {
        let request = proto::ListAuditTrailRequest {
            event_types: vec!["ClientRegistered".into()],
            page_size: 1000,
            ..Default::default()
        };
        Ok(self.records.list_audit_trail(request).await?.into_inner().entries)
    }

    pub async fn search_clients(
        &mut self,
        request: proto::SearchClientsRequest,
    ) -> Result<proto::SearchClientsReply, Status> {
        Ok(self.records.search_clients(request).await?.into_inner())
    }

    pub async fn verify(&mut self, client_id: &str) -> Result<proto::VerifyReply, Status> {
        Ok(self.records.verify(proto::VerifyRequest { client_id: client_id.to_owned() }).await?.into_inner())
    }

    /// The newest signed checkpoint; `None` if none was signed yet.
    pub async fn checkpoint(&mut self) -> Result<Option<proto::ProofCheckpoint>, Status> {
        match self.proofs.get_checkpoint(proto::GetProofCheckpointRequest { which: None }).await {
            Ok(reply) => Ok(Some(reply.into_inner())),
            Err(status) if status.code() == tonic::Code::NotFound => Ok(None),
            Err(status) => Err(status),
        }
    }

    pub async fn ledger(&mut self, account_id: &str) -> Result<proto::LedgerReply, Status> {
        let request = proto::GetLedgerRequest { account_id: account_id.to_owned(), ..Default::default() };
        Ok(self.records.get_ledger(request).await?.into_inner())
    }

    /// One page of the client's accounting of disclosures.
    pub async fn disclosures_page(
        &mut self,
        client_id: &str,
        page_token: String,
    ) -> Result<proto::ListDisclosuresReply, Status> {
        let request = proto::ListDisclosuresRequest {
            client_id: client_id.to_owned(),
            page_size: 500,
            page_token,
            ..Default::default()
        };
        Ok(self.records.list_disclosures(request).await?.into_inner())
    }

    /// The client's accounting of disclosures, every page of it.
    pub async fn disclosures(&mut self, client_id: &str) -> Result<Vec<proto::Disclosure>, Status> {
        let mut all = Vec::new();
        let mut page_token = String::new();
        loop {
            let request = proto::ListDisclosuresRequest {
                client_id: client_id.to_owned(),
                page_size: 1000,
                page_token,
                ..Default::default()
            };
            let page = self.records.list_disclosures(request).await?.into_inner();
            all.extend(page.disclosures);
            if page.next_page_token.is_empty() {
                return Ok(all);
            }
            page_token = page.next_page_token;
        }
    }

    pub async fn caseload(&mut self, clinician_id: &str) -> Result<proto::CaseloadReply, Status> {
        let request = proto::GetCaseloadRequest { clinician_id: clinician_id.to_owned(), ..Default::default() };
        Ok(self.records.get_caseload(request).await?.into_inner())
    }

    /// Proves the token to the API at sign-in with a call the role may make and that reads no
    /// client's record. `Ok(false)`: authenticated, but the role can read nothing here.
    pub async fn probe(&mut self, clinician: Option<uuid::Uuid>, subject: uuid::Uuid) -> Result<bool, Status> {
        let outcome = if self.may("RecordsService/GetCaseload") {
            let id = clinician.unwrap_or(subject).to_string();
            self.caseload(&id).await.map(drop)
        } else if self.may("ProofService/ListCheckpoints") {
            let request = proto::ListProofCheckpointsRequest { before_id: 0, limit: 1 };
            self.proofs.list_checkpoints(request).await.map(drop)
        } else if self.may("RecordsService/GetLedger") {
            // An account nobody has: authenticates, reads nothing.
            self.ledger(&uuid::Uuid::nil().to_string()).await.map(drop)
        } else {
            return Ok(false);
        };
        match outcome {
            Err(status) if status.code() == tonic::Code::Unauthenticated => Err(status),
            Err(status) if status.code() == tonic::Code::Unavailable => Err(status),
            _ => Ok(true),
        }
    }
}

fn timestamp(at: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: at.timestamp(), nanos: at.timestamp_subsec_nanos() as i32 }
}
