//! Provenance (one per exported resource version: who changed it, when it was recorded, why)
//! and AuditEvent (one per read of the record).

use serde_json::{Value, json};

use crate::bundle::{Ctx, Resource};
use crate::codes::{Sensitivity, concept, instant, person};
use crate::ids;
use crate::record::RecordRead;

const DATA_OPERATION: &str = "http://terminology.hl7.org/CodeSystem/v3-DataOperation";
const PARTICIPANT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/provenance-participant-type";

/// The Provenance of `target`'s current version, from the event that last changed it. `None`
/// for a resource no event stamped (the fallback version has no single author).
pub fn provenance(ctx: &Ctx<'_>, target: &Resource) -> Option<Resource> {
    let stamp = ctx.record.stamps.get(target.resource_type, &target.id)?;
    let (activity, activity_display) = if stamp.changes == 1 { ("CREATE", "create") } else { ("UPDATE", "revise") };
    // Clinicians author what they record; everyone else (intake staff, billers) enters it.
    let (agent_type, agent_display) = match stamp.actor_role.as_str() {
        "clinician" | "supervisor" => ("author", "Author"),
        _ => ("enterer", "Enterer"),
    };
    let mut fields = json!({
        "target": [ctx.reference(target.resource_type, &target.id)],
        "occurredDateTime": instant(stamp.occurred_at),
        "recorded": instant(stamp.recorded_at),
        "activity": concept(DATA_OPERATION, activity, activity_display),
        "agent": [{
            "type": concept(PARTICIPANT_TYPE, agent_type, agent_display),
            "role": [{ "text": stamp.actor_role.as_str() }],
            "who": person("Practitioner", &stamp.actor_id),
        }],
    });
    if let Value::Object(f) = &mut fields {
        let mut reasons = vec![json!({ "text": format!("Carelog event {}", stamp.event_type) })];
        if let Some(reason) = &stamp.reason {
            reasons.push(json!({ "text": reason }));
        }
        f.insert("reason".into(), reasons.into());
    }
    let id = ids::provenance(target.resource_type, &target.id, &target.version);
    // A Provenance is written once per target version and never changes: it shares the
    // target's version number and time, which keeps exports byte-for-byte repeatable.
    let (version, at) = (target.version.clone(), target.last_updated);
    Some(ctx.finish("Provenance", id, Sensitivity::Restricted, fields, version, at))
}

/// AuditEvents for the reads of the record, from the access log; see [`RecordRead`].
pub fn audit_events(ctx: &Ctx<'_>) -> Vec<Resource> {
    ctx.record.reads.iter().map(|r| audit_event(ctx, r)).collect()
}

fn audit_event(ctx: &Ctx<'_>, read: &RecordRead) -> Resource {
    let mut agent = json!({
        "type": { "text": read.actor_role.as_str() },
        "who": person("Practitioner", &read.actor_id),
        "requestor": true,
    });
    if let (Some(purpose), Value::Object(a)) = (&read.purpose, &mut agent) {
        a.insert("purposeOfUse".into(), json!([{ "text": purpose }]));
    }
    let fields = json!({
        "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "Restful Operation" },
        "subtype": [{ "system": "http://hl7.org/fhir/restful-interaction", "code": "read", "display": "read" }],
        "action": "R",
        "recorded": instant(read.at),
        "outcome": "0",
        "agent": [agent],
        "source": { "observer": { "display": "carelog-records" } },
        "entity": [{ "what": ctx.patient(), "description": read.operation.as_str() }],
    });
    // A read is recorded once and never changes.
    ctx.finish("AuditEvent", read.read_id.to_string(), Sensitivity::Restricted, fields, "1".to_owned(), read.at)
}
