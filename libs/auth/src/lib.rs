//! Who is calling and what they may do: bearer tokens (or, for local use only, self-named callers),
//! one policy table, the clinician–client assignment rule, and the access log every read of PHI and
//! every denial is written to.

#![forbid(unsafe_code)]

pub mod access;
pub mod accounting;
pub mod actor;
mod client;
mod command_reach;
pub mod disclose;
mod layer;
mod metrics;
mod name;
pub mod policy;
mod settings;
pub mod telemetry;
pub mod token;

// The access log loads the client's stream and fails like every service: through the executor.
use carelog_executor::{aggregate, error};

pub use access::{
    AccessOutcome, AccessRecord, CLINICIAN_HEADER, Gate, PURPOSE_HEADER, Pass, PurposeOfUse, RECORD_ACCESSED,
};
pub use client::{CallAs, Credentials};
pub use disclose::{Outbound, sees};
pub use layer::{AuthLayer, AuthService, RpcName, authenticate};
pub use name::{MAX_DISPLAY_NAME_CHARS, display_name};
pub use policy::{Access, Scope};
pub use settings::{AuthArgs, AuthSettingsError};
pub use token::{Authenticator, Claims, TokenError, TokenIssuer, TokenVerifier};

use carelog_store::Actor;
use uuid::Uuid;

/// The roles of DESIGN.md §5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Intake,
    Clinician,
    Supervisor,
    Biller,
    Auditor,
    Connector,
    Admin,
}

impl Role {
    pub const ALL: [Role; 7] =
        [Role::Intake, Role::Clinician, Role::Supervisor, Role::Biller, Role::Auditor, Role::Connector, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Intake => "intake",
            Role::Clinician => "clinician",
            Role::Supervisor => "supervisor",
            Role::Biller => "biller",
            Role::Auditor => "auditor",
            Role::Connector => "connector",
            Role::Admin => "admin",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == name)
    }

    /// Roles that act as a clinician and so carry a clinician id.
    pub fn is_clinical(self) -> bool {
        matches!(self, Role::Clinician | Role::Supervisor)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Role::parse(name).ok_or_else(|| {
            let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
            format!("unknown role {name:?}; one of {}", names.join(", "))
        })
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user id (the token's `sub`).
    pub subject: Uuid,
    pub role: Role,
    /// For clinicians and supervisors: the clinician id they act as (defaults to the subject).
    pub clinician: Option<Uuid>,
    /// The display name the token gave, checked by [`display_name`]; recorded with every event the
    /// caller causes so auditors read names rather than ids.
    pub name: Option<String>,
}

impl Principal {
    pub fn new(subject: Uuid, role: Role, clinician: Option<Uuid>) -> Self {
        let clinician = if role.is_clinical() { Some(clinician.unwrap_or(subject)) } else { None };
        Self { subject, role, clinician, name: None }
    }

    /// The same caller with a display name (already checked by [`display_name`]).
    pub fn with_name(mut self, name: Option<String>) -> Self {
        self.name = name;
        self
    }

    /// The actor recorded on every event this caller causes.
    pub fn actor(&self) -> Actor {
        Actor { id: self.subject.to_string(), role: self.role.as_str().to_owned(), name: self.name.clone() }
    }
}
