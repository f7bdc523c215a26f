//! The one adapter between FHIR interactions and Carelog's read gate (DESIGN.md §5a).
//!
//! Everything the FHIR server lets out passes here: the policy decides on each interaction's own
//! row (`Fhir/read`, `Fhir/search`, … in the policy's FHIR table), a clinician reaches only clients
//! assigned to them, the record is held to the field classes the role may see
//! (`carelog_records::fhir::release`, the same exit as `ExportEpisodeFhir`), and every allowed
//! read and every denial is appended to the access log (`RecordAccessed`) before the answer
//! leaves. Every call to the gate is in this file.

use std::collections::BTreeSet;
use std::sync::Arc;

use carelog_auth::policy::{self, Access, Scope};
use carelog_auth::{Gate, Pass, Principal, PurposeOfUse, access};
use carelog_fhir::EpisodeRecord;
use carelog_store::EventStore;
use serde_json::Value;
use uuid::Uuid;

use crate::outcome::FhirError;

/// A FHIR interaction, named in the access log as `Fhir/{name}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interaction {
    Read,
    Vread,
    History,
    Search,
    Everything,
    Export,
}

impl Interaction {
    pub fn rpc(self) -> &'static str {
        match self {
            Self::Read => "Fhir/read",
            Self::Vread => "Fhir/vread",
            Self::History => "Fhir/history",
            Self::Search => "Fhir/search",
            Self::Everything => "Fhir/everything",
            Self::Export => "Fhir/export",
        }
    }
}

/// An authenticated caller of the FHIR server.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub purpose: PurposeOfUse,
    /// The resource types a SMART token's scopes allow; `None`: every type (a Carelog token).
    pub types: Option<BTreeSet<String>>,
}

impl Caller {
    pub fn may_read_type(&self, resource_type: &str) -> bool {
        self.types.as_ref().is_none_or(|types| types.contains(resource_type))
    }
}

/// The read gate, as the FHIR server uses it.
#[derive(Debug, Clone)]
pub struct FhirGate {
    store: Arc<dyn EventStore>,
    gate: Gate,
}

impl FhirGate {
    pub fn new(store: Arc<dyn EventStore>) -> Self {
        Self { gate: Gate::new(Arc::clone(&store)), store }
    }

    /// What the policy grants `caller` for `interaction`; a refusal is logged.
    pub async fn enter(&self, caller: &Caller, interaction: Interaction) -> Result<Pass, FhirError> {
        let rpc = interaction.rpc().to_owned();
        let principal = caller.principal.clone();
        match policy::access(&rpc, principal.role) {
            Access::Granted(scope) => Ok(Pass { principal, rpc, scope, purpose: caller.purpose }),
            Access::Denied => {
                let pass = Pass { principal, rpc, scope: Scope::AnyClient, purpose: caller.purpose };
                let reason = format!("the {} role may not read FHIR resources", pass.principal.role);
                Err(self.gate.deny(&pass, None, "ROLE_NOT_ALLOWED", reason).await.into())
            }
        }
    }

    /// A SMART token whose scopes do not cover `resource_type`: refused and logged.
    pub async fn check_type(&self, caller: &Caller, pass: &Pass, resource_type: &str) -> Result<(), FhirError> {
        if caller.may_read_type(resource_type) {
            return Ok(());
        }
        let reason = format!("the token's scopes do not include system/{resource_type}.read");
        Err(self.gate.deny(pass, None, "SCOPE_NOT_GRANTED", reason).await.into())
    }

    /// Checks that the pass reaches `client` (a clinician: only assigned clients); a refusal is logged.
    pub async fn reach(&self, pass: &Pass, client: Uuid) -> Result<(), FhirError> {
        Ok(access::reach(self.store.as_ref(), pass, client).await?)
    }

    /// Of the records holding a resource, one the pass reaches (checked, and a refusal logged, on
    /// the first when it reaches none): a Practitioner is in every record that names them, and a
    /// clinician reads them through one of their own clients.
    pub async fn reach_any(&self, pass: &Pass, owners: &[Uuid]) -> Result<Option<Uuid>, FhirError> {
        for owner in owners {
            if self.reaches(pass, *owner).await? {
                return Ok(Some(*owner));
            }
        }
        match owners.first() {
            Some(first) => self.reach(pass, *first).await.map(|()| Some(*first)),
            None => Ok(None),
        }
    }

    /// Whether the pass reaches `client`, without logging: for narrowing search results and bulk
    /// exports to the clients a clinician may see (the others are simply not in the answer).
    pub async fn reaches(&self, pass: &Pass, client: Uuid) -> Result<bool, FhirError> {
        if pass.scope != Scope::AssignedClients {
            return Ok(true);
        }
        let assigned = access::assigned_clinician(self.store.as_ref(), client).await?;
        Ok(assigned.is_some() && assigned == pass.principal.clinician)
    }

    /// The gate's exit: the record is checked against the field classes the caller's role may
    /// see — FHIR resources are typed, so a record with anything the role may not see is refused
    /// whole (logged, 403), exactly as `ExportEpisodeFhir` does — and the read is logged. The
    /// caller answers only once the entry is stored.
    pub async fn release(&self, pass: &Pass, record: &EpisodeRecord, detail: Value) -> Result<(), FhirError> {
        Ok(carelog_records::fhir::release(&self.gate, pass, detail, record).await?)
    }

    /// Logs a refusal that is not about the policy (e.g. a bulk file asked for by someone else).
    pub async fn deny(&self, pass: &Pass, code: &'static str, reason: String) -> FhirError {
        self.gate.deny(pass, None, code, reason).await.into()
    }
}

/// The HL7 v3 PurposeOfUse a caller declared (`x-carelog-purpose-of-use`), else the role's default.
pub fn purpose(declared: Option<&str>, principal: &Principal) -> Result<PurposeOfUse, FhirError> {
    match declared.map(str::trim) {
        None => Ok(principal.role.default_purpose()),
        Some(code) => Ok(access::declared_purpose(code)?),
    }
}
