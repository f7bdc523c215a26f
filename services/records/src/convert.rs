//! Proto ⇄ read-side values.

use carelog_auth::Pass;
use carelog_auth::disclose::reason_class;
use carelog_auth::{Outbound, sees};
use carelog_domain::disclosure::redaction_mark;
use carelog_executor::{FieldViolation, ServiceError};
use carelog_projections::ProjectionError;
use carelog_projections::persist::{AuditQuery, AuditRow};
use carelog_proto::v1 as proto;
use carelog_runtime::parse::{self, Fields};
use carelog_store::{RecordedEvent, VerifyReport};
use uuid::Uuid;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod typed_events;

pub fn not_found(what: &'static str, id: &str) -> ServiceError {
    ServiceError::NotFound { what, id: id.to_owned() }
}

pub fn projection_failed(error: ProjectionError) -> ServiceError {
    tracing::error!(%error, "read-model query failed");
    ServiceError::Store(carelog_store::StoreError::Unavailable(format!("read models: {error}")))
}

/// A required UUID field, normalised to its canonical text.
pub fn id(field: &str, value: &str) -> Result<String, ServiceError> {
    parse::uuid(field, value).map(|id| id.to_string()).map_err(ServiceError::from)
}

const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 1000;

/// A read model, cut by the gate, as its typed message. A view that does not fit its message is
/// this server's bug (a view grew and its proto did not): INTERNAL, never a partial answer.
pub fn typed<M: prost::Message + prost::Name + Default>(value: &serde_json::Value) -> Result<M, ServiceError> {
    carelog_proto::typed::from_json(value).map_err(|e| {
        tracing::error!(message = %M::full_name(), error = %e, "a read model does not fit its typed message");
        ServiceError::Decode(format!("{} does not fit its view: {e}", M::full_name()))
    })
}

/// What the gate withheld, as the reply lists it.
pub fn withheld_fields(withheld: &carelog_domain::disclosure::Withheld) -> Vec<proto::WithheldField> {
    withheld
        .entries()
        .map(|(path, field_class, count)| proto::WithheldField { path: path.to_owned(), field_class, count })
        .collect()
}

/// A caseload request's page: its size and the client id the previous page ended with.
pub fn caseload_page(r: &proto::GetCaseloadRequest) -> Result<crate::queries::CaseloadPage, ServiceError> {
    let size = page_size(r.page_size)?;
    let after = parse::optional_uuid("page_token", &r.page_token).map_err(ServiceError::from)?;
    Ok(crate::queries::CaseloadPage { size: size as usize, after: after.map(|id| id.to_string()) })
}

/// A log-position page token (the last position of the previous page); empty starts at the top.
pub fn position_token(raw: &str) -> Result<u64, FieldViolation> {
    match raw {
        "" => Ok(0),
        token => token.parse().map_err(|_| FieldViolation::new("page_token", "is not a token from a previous reply")),
    }
}

/// Every list's page size (AIP-158): 0 asks for the default.
pub fn page_size(requested: u32) -> Result<u32, FieldViolation> {
    match requested {
        0 => Ok(DEFAULT_PAGE),
        n @ 1..=MAX_PAGE => Ok(n),
        _ => Err(FieldViolation::new("page_size", format!("must be 1 to {MAX_PAGE}"))),
    }
}

pub fn audit_query(r: &proto::ListAuditTrailRequest) -> Result<AuditQuery, ServiceError> {
    let mut f = Fields::default();
    let optional_id = |f: &mut Fields, field: &str, raw: &str| -> Option<String> {
        f.take(field, parse::optional_uuid(field, raw)).flatten().map(|id| id.to_string())
    };
    let client = optional_id(&mut f, "client_id", &r.client_id);
    let actor_id = optional_id(&mut f, "actor_id", &r.actor_id);
    let correlation_id = optional_id(&mut f, "correlation_id", &r.correlation_id);
    let recorded_from = f.take("recorded_from", parse::optional_timestamp("recorded_from", r.recorded_from.as_ref()));
    let recorded_to = f.take("recorded_to", parse::optional_timestamp("recorded_to", r.recorded_to.as_ref()));
    let limit = f.take("page_size", page_size(r.page_size));
    let after = f.take("page_token", position_token(&r.page_token));
    if r.event_types.iter().any(|t| t.trim().is_empty()) {
        f.violation("event_types", "must not contain empty names");
    }
    f.finish(|| {
        Some(AuditQuery {
            client: client.clone(),
            actor_id: actor_id.clone(),
            event_types: r.event_types.clone(),
            correlation_id: correlation_id.clone(),
            recorded_from: recorded_from?,
            recorded_to: recorded_to?,
            after: after?,
            limit: limit?,
        })
    })
}

/// The start of every redaction mark.
pub const REDACTED: &str = "[redacted";

/// An envelope's free-text reason as the caller may see it.
fn reason_for(pass: &Pass, event_type: &str, reason: Option<String>) -> String {
    match reason {
        Some(_) if !sees(pass.principal.role, reason_class(event_type)) => {
            redaction_mark(Some(reason_class(event_type))).as_str().unwrap_or(REDACTED).to_owned()
        }
        reason => reason.unwrap_or_default(),
    }
}

pub fn audit_entry(row: AuditRow, pass: &Pass) -> proto::AuditEntry {
    let access = row.access.unwrap_or_default();
    proto::AuditEntry {
        reason: reason_for(pass, &row.event_type, row.reason),
        position: row.position,
        stream: row.stream,
        revision: row.revision,
        event_type: row.event_type,
        actor_id: row.actor_id,
        actor_role: row.actor_role,
        occurred_at: Some(parse::to_timestamp(row.occurred_at)),
        recorded_at: Some(parse::to_timestamp(row.recorded_at)),
        correlation_id: row.correlation_id,
        causation_id: row.causation_id.unwrap_or_default(),
        client_id: row.client.unwrap_or_default(),
        actor_name: row.actor_name.unwrap_or_default(),
        rpc: access.rpc.unwrap_or_default(),
        purpose_of_use: access.purpose_of_use.unwrap_or_default(),
        outcome: access.outcome.unwrap_or_default(),
        late_entry: None,
    }
}

/// One event as the caller may see it: its data and reason cut to the caller's role by the gate.
pub fn envelope(event: &RecordedEvent, pass: &Pass) -> proto::EventEnvelope {
    let m = &event.metadata;
    let mut data = event.data.clone();
    let withheld = pass.redact(Outbound::Event(&event.event_type), &mut data);
    let (data, withheld) = event_data(event, data, withheld);
    proto::EventEnvelope {
        event_id: event.event_id.to_string(),
        stream: event.stream.to_string(),
        revision: event.revision,
        position: event.position.0,
        event_type: event.event_type.clone(),
        schema_version: event.schema_version,
        data,
        withheld,
        actor: Some(proto::Actor {
            id: m.actor.id.clone(),
            role: m.actor.role.clone(),
            display_name: m.actor.name.clone().unwrap_or_default(),
        }),
        occurred_at: Some(parse::to_timestamp(m.occurred_at)),
        recorded_at: Some(parse::to_timestamp(event.recorded_at)),
        correlation_id: m.correlation_id.to_string(),
        causation_id: m.causation_id.map(|c: Uuid| c.to_string()).unwrap_or_default(),
        trace_id: m.trace_id.clone().unwrap_or_default(),
        reason: reason_for(pass, &event.event_type, m.reason.clone()),
        prev_chain_hash: event.prev_hash.0.to_vec(),
        chain_hash: event.hash.0.to_vec(),
    }
}

/// An event's data as its typed message. Every stored event type has one (a test decodes every
/// golden fixture through here); should one not fit, the envelope still goes out — position,
/// type and metadata — with its data withheld as unclassified, so one event never stops a feed.
fn event_data(
    event: &RecordedEvent,
    data: serde_json::Value,
    withheld: carelog_domain::disclosure::Withheld,
) -> (Option<proto::EventData>, Vec<proto::WithheldField>) {
    let member = serde_json::json!({ carelog_proto::typed::snake_case(&event.event_type): data });
    match carelog_proto::typed::from_json::<proto::EventData>(&member) {
        Ok(typed) => (Some(typed), withheld_fields(&withheld)),
        Err(error) => {
            tracing::error!(
                position = event.position.0, event_type = %event.event_type, %error,
                "an event does not fit its typed message: its data is withheld from subscribers"
            );
            let unfit = proto::WithheldField { path: String::new(), field_class: "unclassified".into(), count: 1 };
            (None, vec![unfit])
        }
    }
}

pub fn verify_reply(report: &VerifyReport) -> proto::VerifyReply {
    proto::VerifyReply {
        intact: report.is_intact(),
        events_checked: report.events_checked,
        streams_checked: report.streams_checked,
        breaks: report
            .problems
            .iter()
            .map(|p| proto::ChainBreak { position: p.position.0, stream: p.stream.clone(), description: p.to_string() })
            .collect(),
    }
}
