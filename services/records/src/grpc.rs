//! The tonic service: parse, ask, answer.

use std::time::Duration;

use carelog_auth::Gate;
use carelog_auth::{Outbound, Scope};
use carelog_executor::ServiceError;
use carelog_projections::classes::{CASELOAD_ALERTS, EPISODE_VIEW, LEDGER};
use carelog_proto::v1 as proto;
use carelog_proto::v1::records_service_server::RecordsService;
use carelog_runtime::parse::{self, Fields};
use carelog_store::{LogFilter, Position};
use serde_json::json;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::convert::{self, REDACTED, id, typed, withheld_fields};
use crate::feed::{self, Feed};
use crate::queries::Queries;

#[derive(Debug, Clone)]
pub struct Records {
    queries: Queries,
    gate: Gate,
    config: RecordsConfig,
}

impl Records {
    pub fn new(queries: Queries, config: RecordsConfig) -> Self {
        Self { gate: Gate::new(std::sync::Arc::clone(queries.store())), queries, config }
    }
}

/// A client id from a request that the gate will check.
fn client_uuid(raw: &str) -> Result<(String, Uuid), ServiceError> {
    let client = id("client_id", raw)?;
    let uuid = Uuid::parse_str(&client).map_err(|_| ServiceError::invalid("client_id", "is not a UUID"))?;
    Ok((client, uuid))
}

/// Adds the record's alerts at `now` to a live episode view (the caseload's rules, one client).
fn with_alerts(view: &mut serde_json::Value, now: chrono::DateTime<chrono::Utc>) -> Result<(), ServiceError> {
    let decode = |e: serde_json::Error| ServiceError::Decode(e.to_string());
    let typed = <carelog_projections::EpisodeView as serde::Deserialize>::deserialize(&*view).map_err(decode)?;
    let alerts = serde_json::to_value(carelog_projections::caseload_alerts(&typed, now)).map_err(decode)?;
    if let Some(object) = view.as_object_mut() {
        object.insert("alerts".into(), alerts);
    }
    Ok(())
}

/// What an operator can tune about the read side.
#[derive(Debug, Clone)]
pub struct RecordsConfig {
    /// A subscriber that accepts nothing for this long is told to resume from its last safe position.
    pub subscriber_stall: Duration,
    /// Leader election and checkpoint polling of the projection.
    pub projector: carelog_projections::ProjectorOptions,
    /// Flips to true when the server begins to shut down: open log subscriptions then end with
    /// UNAVAILABLE and their resume position instead of keeping the server from stopping.
    pub closing: Option<tokio::sync::watch::Receiver<bool>>,
    /// A hot standby's URL to read the read models from (`--read-store`); this process then never projects.
    pub read_store: Option<String>,
    /// The client-search blind index's key (derived from the vault's master key); without it
    /// `SearchClients` is refused.
    pub search_key: Option<carelog_projections::search::SearchKey>,
}

impl Default for RecordsConfig {
    fn default() -> Self {
        Self {
            subscriber_stall: feed::DEFAULT_STALL,
            projector: Default::default(),
            closing: None,
            read_store: None,
            search_key: None,
        }
    }
}

#[tonic::async_trait]
impl RecordsService for Records {
    async fn get_episode(
        &self,
        request: Request<proto::GetEpisodeRequest>,
    ) -> Result<Response<proto::EpisodeReply>, Status> {
        let pass = self.gate.enter(&request).await?;
        let r = request.get_ref();
        let (client, uuid) = client_uuid(&r.client_id)?;
        self.gate.reach(&pass, uuid).await?;
        let found = self.queries.episode(&client, r.min_position).await?;
        let mut view = found.view;
        with_alerts(&mut view, chrono::Utc::now())?;
        let detail = json!({"position": found.position});
        let withheld = self.gate.release(&pass, Some(uuid), detail, Outbound::View(&EPISODE_VIEW), &mut view).await?;
        Ok(Response::new(proto::EpisodeReply {
            client_id: client,
            position: found.position,
            last_event_position: found.last_event_position,
            view: Some(typed(&view)?),
            withheld: withheld_fields(&withheld),
            basis: proto::EpisodeBasis::Live as i32,
            occurred_by: None,
        }))
    }

    async fn get_episode_as_of(
        &self,
        request: Request<proto::GetEpisodeAsOfRequest>,
    ) -> Result<Response<proto::EpisodeReply>, Status> {
        use proto::get_episode_as_of_request::AsOf;
        let pass = self.gate.enter(&request).await?;
        let r = request.get_ref();
        let (client, uuid) = client_uuid(&r.client_id)?;
        self.gate.reach(&pass, uuid).await?;
        let (found, basis, occurred_by) = match &r.as_of {
            None => {
                let reason = "give a position, a recorded_at time or an occurred_by clinical time";
                return Err(ServiceError::invalid("as_of", reason).into());
            }
            Some(AsOf::Position(position)) => {
                (self.queries.episode_as_of(&client, *position).await?, proto::EpisodeBasis::AsRecorded, None)
            }
            Some(AsOf::RecordedAt(time)) => {
                let time = parse::timestamp("as_of.recorded_at", Some(time)).map_err(ServiceError::from)?;
                let position = self.queries.position_at(time).await?;
                (self.queries.episode_as_of(&client, position).await?, proto::EpisodeBasis::AsRecorded, None)
            }
            Some(AsOf::OccurredBy(time)) => {
                let time = parse::timestamp("as_of.occurred_by", Some(time)).map_err(ServiceError::from)?;
                let found = self.queries.episode_occurred_by(&client, time).await?;
                (found, proto::EpisodeBasis::AsOfClinical, Some(parse::to_timestamp(time)))
            }
        };
        let mut view = serde_json::to_value(&found.view).map_err(|e| ServiceError::Decode(e.to_string()))?;
        let detail = match occurred_by {
            None => json!({"as_of_position": found.position}),
            Some(_) => json!({"as_of_clinical": true, "position": found.position}),
        };
        let withheld = self.gate.release(&pass, Some(uuid), detail, Outbound::View(&EPISODE_VIEW), &mut view).await?;
        Ok(Response::new(proto::EpisodeReply {
            client_id: client,
            position: found.position,
            last_event_position: found.last_event_position,
            view: Some(typed(&view)?),
            withheld: withheld_fields(&withheld),
            basis: basis as i32,
            occurred_by,
        }))
    }

    async fn list_audit_trail(
        &self,
        request: Request<proto::ListAuditTrailRequest>,
    ) -> Result<Response<proto::ListAuditTrailReply>, Status> {
        let pass = self.gate.enter(&request).await?;
        let query = convert::audit_query(request.get_ref())?;
        let client = query.client.as_deref().and_then(|c| Uuid::parse_str(c).ok());
        match client {
            Some(client) => self.gate.reach(&pass, client).await?,
            None if pass.scope == Scope::AssignedClients => {
                let reason = "is required for a clinician: the audit trail of one assigned client";
                return Err(ServiceError::invalid("client_id", reason).into());
            }
            None => {}
        }
        let rows = self.queries.audit(&query).await?;
        let next_page_token = match rows.last() {
            Some(last) if rows.len() == query.limit as usize => last.position.to_string(),
            _ => String::new(),
        };
        let mut entries: Vec<_> = rows.into_iter().map(|row| convert::audit_entry(row, &pass)).collect();
        crate::late_entries::mark(self.queries.store().as_ref(), &mut entries).await?;
        let withheld = entries.iter().filter(|e| e.reason.starts_with(REDACTED)).count();
        self.gate.log_read(&pass, client, json!({"entries": entries.len(), "withheld": withheld})).await?;
        Ok(Response::new(proto::ListAuditTrailReply { entries, next_page_token }))
    }

    async fn get_caseload(
        &self,
        request: Request<proto::GetCaseloadRequest>,
    ) -> Result<Response<proto::CaseloadReply>, Status> {
        let pass = self.gate.enter(&request).await?;
        let clinician = id("clinician_id", &request.get_ref().clinician_id)?;
        if pass.scope == Scope::OwnCaseload
            && pass.principal.clinician.map(|c| c.to_string()) != Some(clinician.clone())
        {
            let reason = format!("a clinician sees only their own caseload, not {clinician}'s");
            return Err(self.gate.deny(&pass, None, "NOT_OWN_CASELOAD", reason).await.into());
        }
        let page = convert::caseload_page(request.get_ref())?;
        let found = self.queries.caseload(&clinician, &page, chrono::Utc::now()).await?;
        let mut alerts = serde_json::to_value(&found.alerts).map_err(|e| ServiceError::Decode(e.to_string()))?;
        let detail = json!({"caseload_of": clinician, "clients": found.client_ids.len()});
        let what = Outbound::View(&CASELOAD_ALERTS);
        let withheld = self.gate.release(&pass, None, detail, what, &mut alerts).await?;
        let alerts: Vec<proto::CaseloadAlert> = match alerts {
            serde_json::Value::Array(items) => items.iter().map(typed).collect::<Result<_, _>>()?,
            _ => Vec::new(),
        };
        Ok(Response::new(proto::CaseloadReply {
            clinician_id: clinician,
            client_ids: found.client_ids,
            alert_count: alerts.len() as u32,
            alerts,
            withheld: withheld_fields(&withheld),
            position: found.position,
            next_page_token: found.next_page_token,
        }))
    }

    async fn get_ledger(
        &self,
        request: Request<proto::GetLedgerRequest>,
    ) -> Result<Response<proto::LedgerReply>, Status> {
        let pass = self.gate.enter(&request).await?;
        let r = request.get_ref();
        let mut f = Fields::default();
        let account = f.take("account_id", parse::uuid("account_id", &r.account_id));
        let today = if r.aging_date.is_empty() {
            Some(chrono::Utc::now().date_naive())
        } else {
            f.take("aging_date", parse::date("aging_date", &r.aging_date))
        };
        let (account, today) = f.finish(|| Some((account?, today?)))?;
        let (ledger, aging, position) = self.queries.ledger(&account.to_string(), today, r.min_position).await?;
        let owner = ledger.client_id.map(|c| c.as_uuid());
        let mut body = serde_json::to_value(&ledger).map_err(|e| ServiceError::Decode(e.to_string()))?;
        let dispute = match ledger.client_id {
            Some(client) => self.queries.dispute_resolution(&client.to_string()).await?,
            None => None,
        };
        if let Some(object) = body.as_object_mut() {
            object.insert("aging".into(), aging);
            if let Some(dispute) = dispute {
                object.insert("dispute_resolution".into(), dispute);
            }
        }
        let detail = json!({"account_id": account, "position": position});
        let withheld = self.gate.release(&pass, owner, detail, Outbound::View(&LEDGER), &mut body).await?;
        Ok(Response::new(proto::LedgerReply {
            account_id: account.to_string(),
            balance_cents: ledger.balance.cents(),
            ledger: Some(typed(&body)?),
            withheld: withheld_fields(&withheld),
            position,
        }))
    }

    type SubscribeStream = Feed;

    async fn subscribe(&self, request: Request<proto::SubscribeRequest>) -> Result<Response<Feed>, Status> {
        let pass = self.gate.enter(&request).await?;
        let r = request.into_inner();
        let head = self.queries.store().head_position().await.map_err(ServiceError::from)?;
        if r.after_position > head.0 {
            let message = format!("{} lies beyond the log's head {}", r.after_position, head.0);
            return Err(ServiceError::invalid("after_position", message).into());
        }
        let heartbeat = match r.heartbeat_seconds {
            0 => 15,
            s @ 1..=300 => s,
            _ => return Err(ServiceError::invalid("heartbeat_seconds", "must be 1 to 300").into()),
        };
        let detail =
            json!({"after_position": r.after_position, "categories": r.categories, "event_types": r.event_types});
        self.gate.log_read(&pass, None, detail).await?;
        let filter = LogFilter { categories: r.categories, event_types: r.event_types };
        let feed = feed::start(
            pass,
            std::sync::Arc::clone(self.queries.store()),
            Position(r.after_position),
            filter,
            Duration::from_secs(u64::from(heartbeat)),
            self.config.subscriber_stall,
            self.config.closing.clone(),
        );
        Ok(Response::new(feed))
    }

    async fn verify(&self, request: Request<proto::VerifyRequest>) -> Result<Response<proto::VerifyReply>, Status> {
        self.gate.enter(&request).await?;
        let r = request.get_ref();
        let client = if r.client_id.is_empty() { None } else { Some(id("client_id", &r.client_id)?) };
        let report = self.queries.verify(client.as_deref()).await?;
        Ok(Response::new(convert::verify_reply(&report)))
    }

    async fn export_episode_fhir(
        &self,
        request: Request<proto::ExportEpisodeFhirRequest>,
    ) -> Result<Response<proto::ExportEpisodeFhirReply>, Status> {
        let pass = self.gate.enter(&request).await?;
        let reply = crate::fhir::export(&self.queries, &self.gate, &pass, request.get_ref()).await?;
        Ok(Response::new(reply))
    }

    async fn list_disclosures(
        &self,
        request: Request<proto::ListDisclosuresRequest>,
    ) -> Result<Response<proto::ListDisclosuresReply>, Status> {
        let pass = self.gate.enter(&request).await?;
        let client = crate::disclosures::client_of(request.get_ref())?;
        self.gate.reach(&pass, client).await?;
        let reply = crate::disclosures::list(self.queries.store().as_ref(), &pass, request.get_ref()).await?;
        let detail = json!({"disclosures": reply.disclosures.len()});
        self.gate.log_read(&pass, Some(client), detail).await?;
        Ok(Response::new(reply))
    }

    async fn search_clients(
        &self,
        request: Request<proto::SearchClientsRequest>,
    ) -> Result<Response<proto::SearchClientsReply>, Status> {
        let pass = self.gate.enter(&request).await?;
        let reply = crate::search::search(&self.queries, &self.gate, &pass, request.get_ref()).await?;
        Ok(Response::new(reply))
    }

    async fn get_psychotherapy_note(
        &self,
        request: Request<proto::GetPsychotherapyNoteRequest>,
    ) -> Result<Response<proto::PsychotherapyNoteReply>, Status> {
        let pass = self.gate.enter(&request).await?;
        let note_id = carelog_domain::types::PsychotherapyNoteId::parse(&request.get_ref().note_id)
            .map_err(|e| ServiceError::invalid("note_id", e.reason))?;
        let note = crate::notes::psychotherapy_note(self.queries.store().as_ref(), note_id).await?;
        let client = Uuid::parse_str(&note.client_id).ok();
        if pass.scope != Scope::OwnAuthorship || pass.principal.clinician != Some(note.author) {
            let reason = "a psychotherapy note is readable by its author alone".to_owned();
            return Err(self.gate.deny(&pass, client, "NOT_THE_AUTHOR", reason).await.into());
        }
        self.gate.log_read(&pass, client, json!({"psychotherapy_note_id": note.reply.note_id})).await?;
        Ok(Response::new(note.reply))
    }
}
