//! read, search and `Patient/{id}/$everything`: each checks the caller at the gate, reads the
//! client's record, logs the read, and only then answers.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::FhirState;
use crate::gate::{Caller, Interaction};
use crate::outcome::{FhirError, fhir_json};
use crate::records::not_found;
use crate::search::{Params, check_id, check_type, searchset, shown};

pub type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// The query's pairs, or a 400 for a query that does not decode.
pub fn pairs(query: Pairs) -> Result<Vec<(String, String)>, FhirError> {
    query.map(|Query(p)| p).map_err(|e| FhirError::Invalid(format!("the query string does not decode: {e}")))
}

/// `GET /{type}/{id}`.
pub async fn read(
    State(state): State<Arc<FhirState>>,
    caller: Caller,
    Path((resource_type, id)): Path<(String, String)>,
) -> Result<Response, FhirError> {
    let resource_type = check_type(&resource_type)?;
    check_id(&id)?;
    let pass = state.gate.enter(&caller, Interaction::Read).await?;
    state.gate.check_type(&caller, &pass, resource_type).await?;
    let owners = state.records.owners(resource_type, &id).await?;
    let client = state.gate.reach_any(&pass, &owners).await?.ok_or_else(|| not_found(resource_type, &id))?;
    let (record, resources) = state.records.resources(client).await?;
    let found = resources
        .into_iter()
        .find(|r| r.resource_type == resource_type && r.id == id)
        .ok_or_else(|| not_found(resource_type, &id))?;
    let detail = json!({ "fhir": "read", "resource": format!("{resource_type}/{id}") });
    state.gate.release(&pass, &record, detail).await?;
    Ok(resource_response(&found.body))
}

/// A single resource with its version as the ETag.
pub fn resource_response(body: &Value) -> Response {
    let mut response = fhir_json(StatusCode::OK, body);
    if let Some(version) = body["meta"]["versionId"].as_str()
        && let Ok(etag) = HeaderValue::from_str(&format!("W/\"{version}\""))
    {
        response.headers_mut().insert(header::ETAG, etag);
    }
    let modified = body["meta"]["lastUpdated"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    if let Some(Ok(value)) = modified.map(|t| HeaderValue::from_str(&t.to_utc().to_rfc2822().replace("+0000", "GMT"))) {
        response.headers_mut().insert(header::LAST_MODIFIED, value);
    }
    response
}

/// `GET /{type}?…`: `Patient` by identifier, name or birth date; every other type by `patient`.
pub async fn search(
    State(state): State<Arc<FhirState>>,
    caller: Caller,
    Path(resource_type): Path<String>,
    query: Pairs,
) -> Result<Response, FhirError> {
    let resource_type = check_type(&resource_type)?;
    let pairs = pairs(query)?;
    if resource_type == "Patient" {
        return crate::patients::search(&state, &caller, pairs).await;
    }
    let params = Params::parse(pairs, &["patient", "_id", "_revinclude", "_include"])?;
    let page = params.page()?;
    let revinclude = revinclude(&params)?;
    let include_patient = include(&params, resource_type)?;
    let patient = params.one("patient")?.ok_or_else(|| {
        FhirError::Invalid(format!(
            "a {resource_type} search needs ?patient=; every record at once is a bulk export ($export)"
        ))
    })?;
    let client = patient_id(patient)?;
    let wanted_id = params.one("_id")?.map(str::to_owned);
    let pass = state.gate.enter(&caller, Interaction::Search).await?;
    state.gate.check_type(&caller, &pass, resource_type).await?;
    state.gate.reach(&pass, client).await?;
    let (record, resources) = state.records.resources(client).await?;
    let matches: Vec<Value> = resources
        .iter()
        .filter(|r| r.resource_type == resource_type && wanted_id.as_deref().is_none_or(|id| r.id == id))
        .map(|r| r.body.clone())
        .collect();
    let mut includes = if revinclude && caller.may_read_type("Provenance") {
        provenances_of(shown(&matches, page), resources.iter().map(|r| &r.body))
    } else {
        Vec::new()
    };
    // Every match of a `?patient=` search points at the same Patient: include it once.
    if include_patient && !shown(&matches, page).is_empty() && caller.may_read_type("Patient") {
        includes.extend(resources.iter().filter(|r| r.resource_type == "Patient").map(|r| r.body.clone()));
    }
    let detail = json!({ "fhir": "search", "type": resource_type, "returned": shown(&matches, page).len() });
    state.gate.release(&pass, &record, detail).await?;
    Ok(fhir_json(StatusCode::OK, &searchset(&state.base, resource_type, &params, page, &matches, &includes)))
}

/// `GET /Patient/{id}/$everything`: every resource of the record the caller's scopes allow.
pub async fn everything(
    State(state): State<Arc<FhirState>>,
    caller: Caller,
    Path(id): Path<String>,
    query: Pairs,
) -> Result<Response, FhirError> {
    check_id(&id)?;
    let params = Params::parse(pairs(query)?, &[])?;
    let page = params.page()?;
    let client = Uuid::parse_str(&id).map_err(|_| not_found("Patient", &id))?;
    let pass = state.gate.enter(&caller, Interaction::Everything).await?;
    state.gate.check_type(&caller, &pass, "Patient").await?;
    state.gate.reach(&pass, client).await?;
    let (record, resources) = state.records.resources(client).await?;
    let matches: Vec<Value> =
        resources.into_iter().filter(|r| caller.may_read_type(r.resource_type)).map(|r| r.body).collect();
    let detail = json!({ "fhir": "everything", "returned": shown(&matches, page).len() });
    state.gate.release(&pass, &record, detail).await?;
    let path = format!("Patient/{id}/$everything");
    Ok(fhir_json(StatusCode::OK, &searchset(&state.base, &path, &params, page, &matches, &[])))
}

/// `_revinclude=Provenance:target` is the one reverse include offered.
pub fn revinclude(params: &Params) -> Result<bool, FhirError> {
    match params.one("_revinclude")? {
        None => Ok(false),
        Some("Provenance:target") => Ok(true),
        Some(other) => Err(FhirError::Invalid(format!("_revinclude {other:?}: only Provenance:target is supported"))),
    }
}

/// `_include={Type}:patient` is the one include offered (the record's own Patient).
fn include(params: &Params, resource_type: &str) -> Result<bool, FhirError> {
    match params.one("_include")? {
        None => Ok(false),
        Some(value) if value == format!("{resource_type}:patient") => Ok(true),
        Some(other) => {
            Err(FhirError::Invalid(format!("_include {other:?}: only {resource_type}:patient is supported")))
        }
    }
}

/// The Provenances among `all` whose target is one of `matches`.
pub fn provenances_of<'a>(matches: &[Value], all: impl Iterator<Item = &'a Value>) -> Vec<Value> {
    let targets: Vec<String> = matches
        .iter()
        .map(|m| format!("{}/{}", m["resourceType"].as_str().unwrap_or_default(), m["id"].as_str().unwrap_or_default()))
        .collect();
    all.filter(|r| r["resourceType"] == "Provenance")
        .filter(|p| {
            p["target"].as_array().is_some_and(|ts| {
                ts.iter().any(|t| t["reference"].as_str().is_some_and(|r| targets.iter().any(|x| same_target(r, x))))
            })
        })
        .cloned()
        .collect()
}

/// `Type/id`, or one version of it (`Type/id/_history/v`).
fn same_target(reference: &str, target: &str) -> bool {
    reference.strip_prefix(target).is_some_and(|rest| rest.is_empty() || rest.starts_with("/_history/"))
}

/// `Patient/{id}` or a bare `{id}`.
pub fn patient_id(value: &str) -> Result<Uuid, FhirError> {
    let id = value.strip_prefix("Patient/").unwrap_or(value);
    check_id(id)?;
    Uuid::parse_str(id).map_err(|_| FhirError::Invalid(format!("patient {value:?} is not a Patient id")))
}
