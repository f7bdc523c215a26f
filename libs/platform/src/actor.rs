//! Who is calling. Until bearer tokens arrive (issue 6) the caller names itself in metadata;
//! every event still records an actor, so a call without one is refused.

use carelog_store::Actor;
use tonic::metadata::MetadataMap;

use crate::error::ServiceError;

pub const ACTOR_HEADER: &str = "x-carelog-actor";
pub const ROLE_HEADER: &str = "x-carelog-role";

const ROLES: [&str; 7] = ["intake", "clinician", "supervisor", "biller", "auditor", "connector", "admin"];

pub fn actor_from(metadata: &MetadataMap) -> Result<Actor, ServiceError> {
    let header = |name: &str| metadata.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    let id = header(ACTOR_HEADER)
        .ok_or_else(|| ServiceError::Unauthenticated(format!("send the caller's id in the `{ACTOR_HEADER}` header")))?;
    let role = header(ROLE_HEADER).ok_or_else(|| {
        ServiceError::Unauthenticated(format!("send the caller's role in the `{ROLE_HEADER}` header"))
    })?;
    if !ROLES.contains(&role) {
        return Err(ServiceError::Unauthenticated(format!("unknown role {role:?}; one of {}", ROLES.join(", "))));
    }
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(ServiceError::Unauthenticated(format!(
            "the `{ACTOR_HEADER}` header must be the caller's user id (a UUID)"
        )));
    }
    Ok(Actor { id: id.to_owned(), role: role.to_owned() })
}
