//! `GET /metadata`: the CapabilityStatement, listing exactly what this server answers — a
//! connector that trusts it must never be surprised by a 501.

use serde_json::{Value, json};

use crate::search::TYPES;

/// Search parameters per type besides `_count`/`_offset`.
fn search_params(resource_type: &str) -> Vec<Value> {
    let param = |name: &str, kind: &str, doc: &str| json!({ "name": name, "type": kind, "documentation": doc });
    let mut params = vec![param("_id", "token", "the resource id")];
    if resource_type == "Patient" {
        params.push(param("identifier", "token", "system|value, |value or value"));
        params.push(param("name", "string", "a part of a name starting with the text, ignoring case"));
        params.push(param("birthdate", "date", "a full date, prefix eq only"));
    } else {
        params.push(param("patient", "reference", "required: the Patient whose record to search"));
    }
    params.push(param("_count", "number", "page size, at most 500 (a larger value is lowered)"));
    params
}

pub fn capability_statement(base: &str, smart: bool) -> Value {
    let resources: Vec<Value> = TYPES
        .iter()
        .map(|t| {
            let mut resource = json!({
                "type": t,
                "interaction": [
                    { "code": "read" },
                    { "code": "vread" },
                    { "code": "history-instance" },
                    { "code": "history-type" },
                    { "code": "search-type" },
                ],
                "versioning": "versioned",
                "readHistory": true,
                "updateCreate": false,
                "searchRevInclude": ["Provenance:target"],
                "searchParam": search_params(t),
            });
            if *t != "Patient"
                && let Some(r) = resource.as_object_mut()
            {
                r.insert("searchInclude".into(), json!([format!("{t}:patient")]));
            }
            if *t == "Patient"
                && let Some(r) = resource.as_object_mut()
            {
                r.insert(
                    "operation".into(),
                    json!([
                        { "name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything" },
                        { "name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export" },
                    ]),
                );
            }
            resource
        })
        .collect();
    let mut security = json!({
        "cors": false,
        "description": "Bearer tokens: a Carelog JWT, or an access token from the SMART Backend Services token endpoint.",
    });
    if smart && let Some(s) = security.as_object_mut() {
        s.insert(
            "service".into(),
            json!([{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR" }] }]),
        );
        s.insert(
            "extension".into(),
            json!([{
                "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                "extension": [{ "url": "token", "valueUri": format!("{base}/auth/token") }],
            }]),
        );
    }
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-06",
        "publisher": "Carelog",
        "kind": "instance",
        "instantiates": ["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"],
        "software": { "name": "Carelog FHIR server", "version": env!("CARGO_PKG_VERSION") },
        "implementation": { "description": "Carelog clinical records (read-only FHIR R4)", "url": base },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "security": security,
            "resource": resources,
            "operation": [
                { "name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export" },
                {
                    "name": "group-export",
                    "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export",
                    "documentation": "Group/{clinician id}/$export: the clients whose current episode is that clinician's",
                },
            ],
        }],
    })
}
