//! Provenance (one per exported resource version: who changed it, when it was recorded, why)
//! and AuditEvent (one per read of the record).

use carelog_domain::access::LoggedPurpose;
use serde_json::{Value, json};

use crate::bundle::{Ctx, Resource};
use crate::codes::{ACT_REASON, Sensitivity, concept, instant, person, text};
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
    // The purpose the requestor declared is the purpose of the whole read.
    let purpose = purpose_of_use(&read.purpose);
    let agent = json!({
        "type": { "text": read.actor_role.as_str() },
        "who": person("Practitioner", &read.actor_id),
        "requestor": true,
        "purposeOfUse": [purpose],
    });
    let fields = json!({
        "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "Restful Operation" },
        "subtype": [{ "system": "http://hl7.org/fhir/restful-interaction", "code": "read", "display": "read" }],
        "action": "R",
        "recorded": instant(read.at),
        "outcome": "0",
        "agent": [agent],
        "source": { "observer": { "display": "carelog-records" } },
        "entity": [{ "what": ctx.patient(), "description": read.operation.as_str() }],
        "purposeOfEvent": [purpose_of_use(&read.purpose)],
    });
    // A read is recorded once and never changes.
    ctx.finish("AuditEvent", read.read_id.to_string(), Sensitivity::Restricted, fields, "1".to_owned(), read.at)
}

/// An HL7 v3 purpose of use as a CodeableConcept: coded in v3-ActReason when this build knows
/// the code, else only the logged code as text (a code of no known system cannot be a coding).
fn purpose_of_use(purpose: &LoggedPurpose) -> Value {
    match purpose.known() {
        Some(known) => concept(ACT_REASON, known.code(), known.meaning()),
        None => text(purpose.code()),
    }
}

#[cfg(test)]
mod tests {
    use carelog_domain::access::PurposeOfUse;
    use serde_json::json;

    use super::*;

    #[test]
    fn a_known_purpose_is_coded_in_act_reason_and_an_unknown_one_is_text_only() {
        let treat = purpose_of_use(&PurposeOfUse::Treat.into());
        let coding = json!([{ "system": ACT_REASON, "code": "TREAT", "display": "treatment" }]);
        assert_eq!((&treat["coding"], &treat["text"]), (&coding, &json!("treatment")));
        assert_eq!(purpose_of_use(&LoggedPurpose::from_code("PUBHLTH")), json!({ "text": "PUBHLTH" }));
    }
}
