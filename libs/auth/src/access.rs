//! The gate every RPC passes: the policy decides, the clinician–client assignment is checked
//! against the client's own stream, and every read of PHI and every denial is appended to the
//! access log (`access-{client}` streams, tagged with the client so they show in its audit trail)
//! before the answer leaves.

use std::sync::Arc;

pub use carelog_domain::access::{Outcome, PurposeOfUse};
use carelog_domain::access::{RecordAccessed, UnknownPurpose};
use carelog_domain::disclosure::Withheld;
use carelog_domain::intake::ClientState;
use carelog_store::{AppendRequest, EventStore, ExpectedRevision, Metadata, NewEvent, StreamName, Tags};
use serde_json::json;
use tonic::Request;
use uuid::Uuid;

use super::disclose::Outbound;
use super::layer::RpcName;
use super::policy::{self, Access, Scope};
use super::{Principal, Role};
use crate::aggregate::{Client, load};
use crate::error::ServiceError;

pub const RECORD_ACCESSED: &str = RecordAccessed::EVENT_TYPE;
/// Why the caller reads (HL7 v3 PurposeOfUse); defaults by role.
pub const PURPOSE_HEADER: &str = "x-carelog-purpose-of-use";
/// With `--allow-anonymous`: the clinician id a self-named clinician acts as.
pub const CLINICIAN_HEADER: &str = "x-carelog-clinician";

/// The activity name the offline bulk export records as its `rpc` (`carelog export ndjson`).
pub const EXPORT_ACTIVITY: &str = "carelog export ndjson";

impl Role {
    /// Why this role reads when the caller declares no purpose of use.
    pub fn default_purpose(self) -> PurposeOfUse {
        match self {
            Role::Clinician | Role::Supervisor => PurposeOfUse::Treat,
            Role::Biller => PurposeOfUse::Hpaymt,
            Role::Intake | Role::Auditor => PurposeOfUse::Hoperat,
            Role::Connector => PurposeOfUse::Coc,
            Role::Admin => PurposeOfUse::Hsysadmin,
        }
    }
}

/// A declared purpose of use (the header's value); one that is no code is refused, naming the
/// header and the codes there are.
pub fn declared_purpose(code: &str) -> Result<PurposeOfUse, ServiceError> {
    PurposeOfUse::parse(code.trim())
        .map_err(|unknown: UnknownPurpose| ServiceError::invalid(PURPOSE_HEADER, unknown.to_string()))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessOutcome {
    Allowed,
    Denied(String),
}

/// One line of the access log.
#[derive(Debug, Clone)]
pub struct AccessRecord {
    pub principal: Principal,
    pub rpc: String,
    pub purpose: PurposeOfUse,
    pub client: Option<Uuid>,
    pub outcome: AccessOutcome,
    /// What was read, e.g. `{"as_of_position": 42}`; never PHI.
    pub detail: serde_json::Value,
}

/// A call the policy let through, with how far it reaches.
#[derive(Debug, Clone)]
pub struct Pass {
    pub principal: Principal,
    pub rpc: String,
    pub scope: Scope,
    pub purpose: PurposeOfUse,
}

impl Pass {
    /// A read made outside any RPC (an operator's batch job on the store): logged and redacted
    /// like a call of `activity` by `principal` with every client in reach.
    pub fn offline(principal: Principal, activity: &str, purpose: PurposeOfUse) -> Self {
        Self { principal, rpc: activity.to_owned(), scope: Scope::AnyClient, purpose }
    }
}

/// Policy, assignment and access log over one event store.
#[derive(Debug, Clone)]
pub struct Gate {
    store: Arc<dyn EventStore>,
}

impl Gate {
    pub fn new(store: Arc<dyn EventStore>) -> Self {
        Self { store }
    }

    /// The caller of `request` and what the policy grants them for this RPC; a denial is logged.
    pub async fn enter<R>(&self, request: &Request<R>) -> Result<Pass, ServiceError> {
        let principal = request.extensions().get::<Principal>().cloned().ok_or_else(|| {
            ServiceError::Unauthenticated("the server was started without its authentication layer".into())
        })?;
        let rpc = request.extensions().get::<RpcName>().map(|r| r.0.clone()).unwrap_or_default();
        let purpose = match request.metadata().get(PURPOSE_HEADER).and_then(|v| v.to_str().ok()) {
            Some(code) => declared_purpose(code)?,
            None => principal.role.default_purpose(),
        };
        match policy::access(&rpc, principal.role) {
            Access::Granted(scope) => Ok(Pass { principal, rpc, scope, purpose }),
            Access::Denied => {
                let pass = Pass { principal, rpc, scope: Scope::AnyClient, purpose };
                let reason = format!("the {} role may not call {}", pass.principal.role, pass.rpc);
                Err(deny(self.store.as_ref(), &pass, None, "ROLE_NOT_ALLOWED", reason).await)
            }
        }
    }

    /// Checks that the pass reaches `client`: a clinician only reaches clients assigned to them.
    pub async fn reach(&self, pass: &Pass, client: Uuid) -> Result<(), ServiceError> {
        reach(self.store.as_ref(), pass, client).await
    }

    /// A field naming who does or attests clinical work must name the caller — nobody signs for
    /// someone else — unless the policy lets the caller's role act for a clinician in this RPC
    /// (the event then records both: the caller as its actor, the clinician in the field).
    pub async fn acting_as(&self, pass: &Pass, field: &str, clinician: Uuid) -> Result<(), ServiceError> {
        if pass.principal.clinician == Some(clinician) || policy::acts_for(&pass.rpc, pass.principal.role) {
            return Ok(());
        }
        let reason = format!("`{field}` must be the caller's own clinician id {}", display(pass.principal.clinician));
        Err(self.deny(pass, None, "NOT_THE_CALLER", reason).await)
    }

    /// Logs an allowed read of PHI; the caller answers only once it is stored.
    pub async fn log_read(
        &self,
        pass: &Pass,
        client: Option<Uuid>,
        detail: serde_json::Value,
    ) -> Result<(), ServiceError> {
        append(self.store.as_ref(), access_record(pass, client, AccessOutcome::Allowed, detail)).await
    }

    /// The one exit of a read: cuts `value` to what the caller's role may see, then logs the read
    /// (with how many values were withheld); the caller answers only once the entry is stored,
    /// and tells the caller what was withheld.
    pub async fn release(
        &self,
        pass: &Pass,
        client: Option<Uuid>,
        mut detail: serde_json::Value,
        what: Outbound<'_>,
        value: &mut serde_json::Value,
    ) -> Result<Withheld, ServiceError> {
        let withheld = pass.redact(what, value);
        if let (Some(detail), false) = (detail.as_object_mut(), withheld.is_empty()) {
            detail.insert("withheld".into(), withheld.count().into());
        }
        self.log_read(pass, client, detail).await?;
        Ok(withheld)
    }

    /// Logs a denial and returns the error for the caller.
    pub async fn deny(&self, pass: &Pass, client: Option<Uuid>, code: &'static str, reason: String) -> ServiceError {
        deny(self.store.as_ref(), pass, client, code, reason).await
    }
}

/// Checks that the pass reaches `client`: a clinician only reaches clients assigned to them.
pub async fn reach(store: &dyn EventStore, pass: &Pass, client: Uuid) -> Result<(), ServiceError> {
    if reaches(store, pass, client).await? {
        return Ok(());
    }
    let reason = format!("client {client} is not assigned to clinician {}", display(pass.principal.clinician));
    Err(deny(store, pass, Some(client), "CLIENT_NOT_ASSIGNED", reason).await)
}

/// Whether the pass reaches `client`, without logging anything (a search leaves out the clients
/// a clinician does not treat rather than refusing).
pub async fn reaches(store: &dyn EventStore, pass: &Pass, client: Uuid) -> Result<bool, ServiceError> {
    if pass.scope != Scope::AssignedClients {
        return Ok(true);
    }
    let assigned = assigned_clinician(store, client).await?;
    Ok(assigned.is_some() && assigned == pass.principal.clinician)
}

/// The clinician of the client's current (latest) episode.
pub async fn assigned_clinician(store: &dyn EventStore, client: Uuid) -> Result<Option<Uuid>, ServiceError> {
    let stream =
        StreamName::new(format!("client-{client}")).map_err(|e| ServiceError::invalid("client_id", e.to_string()))?;
    let loaded = load::<Client>(store, &stream).await?;
    Ok(current_clinician(&loaded.state))
}

/// Logs a denial and returns the error for the caller. The denial stands even if logging fails.
pub async fn deny(
    store: &dyn EventStore,
    pass: &Pass,
    client: Option<Uuid>,
    code: &'static str,
    reason: String,
) -> ServiceError {
    let record = access_record(pass, client, AccessOutcome::Denied(reason.clone()), json!({"code": code}));
    if let Err(error) = append(store, record).await {
        tracing::error!(%error, rpc = pass.rpc, "could not log an access denial");
    }
    tracing::info!(rpc = pass.rpc, role = %pass.principal.role, code, "permission denied");
    ServiceError::PermissionDenied { code, message: reason }
}

async fn append(store: &dyn EventStore, record: AccessRecord) -> Result<(), ServiceError> {
    store.append(access_event(&record)?).await?;
    Ok(())
}

fn display(clinician: Option<Uuid>) -> String {
    clinician.map_or_else(|| "(none: this role acts as no clinician)".to_owned(), |c| c.to_string())
}

fn current_clinician(state: &ClientState) -> Option<Uuid> {
    state.episodes.last().map(|episode| episode.clinician_id.as_uuid())
}

fn access_record(pass: &Pass, client: Option<Uuid>, outcome: AccessOutcome, detail: serde_json::Value) -> AccessRecord {
    AccessRecord {
        principal: pass.principal.clone(),
        rpc: pass.rpc.clone(),
        purpose: pass.purpose,
        client,
        outcome,
        detail,
    }
}

/// The append of one access-log entry: to the client's access stream, or the caller's own when the
/// access concerned no single client (a log subscription, a denied call).
pub fn access_event(record: &AccessRecord) -> Result<AppendRequest, ServiceError> {
    let stream_id = record.client.unwrap_or(record.principal.subject);
    let stream = StreamName::new(format!("access-{stream_id}")).map_err(|e| ServiceError::Decode(e.to_string()))?;
    let (outcome, reason) = match &record.outcome {
        AccessOutcome::Allowed => (Outcome::Allowed, None),
        AccessOutcome::Denied(reason) => (Outcome::Denied, Some(reason.clone())),
    };
    let entry = RecordAccessed {
        rpc: record.rpc.clone(),
        role: record.principal.role.as_str().to_owned(),
        clinician_id: record.principal.clinician,
        purpose_of_use: record.purpose.into(),
        client_id: record.client,
        outcome,
        detail: record.detail.clone(),
    };
    let data = entry.to_data().map_err(|e| ServiceError::Decode(e.to_string()))?;
    let now = chrono::Utc::now();
    let metadata = Metadata {
        actor: record.principal.actor(),
        occurred_at: now,
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        trace_id: crate::telemetry::current_trace_id(),
        reason,
        tags: Tags { client: record.client.map(|c| c.to_string()), episode: None },
        command: None,
    };
    let event = NewEvent {
        event_id: Uuid::now_v7(),
        event_type: RecordAccessed::EVENT_TYPE.to_owned(),
        schema_version: RecordAccessed::schema_version(),
        data,
        metadata,
    };
    Ok(AppendRequest::new(stream, ExpectedRevision::Any, vec![event]))
}
