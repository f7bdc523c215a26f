//! Practitioner resources for the people the record names (clinicians, and the staff a
//! Provenance or AuditEvent names), so a connector resolves every `Practitioner` reference
//! instead of meeting bare identifiers.
//!
//! The mappers write a person as a logical reference (`type` + a `urn:uuid` identifier); this
//! pass gives each such reference its literal `reference` in the export's style and makes one
//! Practitioner per person. Carelog knows people by id only (names live with the identity
//! provider), so a Practitioner carries its identifier and nothing it would have to guess.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::bundle::{Ctx, Resource};
use crate::codes::{Sensitivity, URI_IDENTIFIER};

/// Links every person reference in `resources` and returns a Practitioner for each person.
pub fn link_practitioners(ctx: &Ctx<'_>, resources: &mut [Resource]) -> Vec<Resource> {
    // Person id → the earliest time a resource naming them was changed: a Practitioner is new to
    // a `_since` export when the first resource naming them is.
    let mut people: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    for resource in resources.iter_mut() {
        let mut found = Vec::new();
        link(ctx, &mut resource.body, &mut found);
        for id in found {
            let at = people.entry(id).or_insert(resource.last_updated);
            *at = (*at).min(resource.last_updated);
        }
    }
    people.into_iter().map(|(id, first)| practitioner(id, first)).collect()
}

fn link(ctx: &Ctx<'_>, value: &mut Value, found: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            if let Some(id) = person_id(object) {
                if let Value::Object(reference) = ctx.reference("Practitioner", &id) {
                    object.insert("reference".into(), reference.get("reference").cloned().unwrap_or(Value::Null));
                }
                found.push(id);
            }
            object.values_mut().for_each(|v| link(ctx, v, found));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| link(ctx, v, found)),
        _ => {}
    }
}

/// The person a logical Practitioner reference names.
fn person_id(object: &Map<String, Value>) -> Option<String> {
    if object.get("type")?.as_str()? != "Practitioner" || object.contains_key("reference") {
        return None;
    }
    let identifier = object.get("identifier")?;
    let id = identifier.get("value")?.as_str()?.strip_prefix("urn:uuid:")?;
    // Only a well-formed id becomes a resource id (FHIR ids: [A-Za-z0-9-.]{1,64}).
    let ok =
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    ok.then(|| id.to_owned())
}

fn practitioner(id: String, first_named: DateTime<Utc>) -> Resource {
    // A Practitioner never changes here: version 1, no lastUpdated of its own.
    let body = json!({
        "resourceType": "Practitioner",
        "id": id,
        "meta": { "versionId": "1", "security": Sensitivity::Restricted.labels() },
        "identifier": [{ "use": "official", "system": URI_IDENTIFIER, "value": format!("urn:uuid:{id}") }],
        "active": true,
    });
    Resource { resource_type: "Practitioner", id, version: "1".into(), last_updated: first_named, body }
}
