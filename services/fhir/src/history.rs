//! vread and instance `_history`: the versions of a resource are the events that changed it,
//! replayed from the log (`carelog_fhir::history`), never stored copies.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::FhirState;
use crate::gate::{Caller, Interaction};
use crate::outcome::{FhirError, fhir_json};
use crate::records::not_found;
use crate::routes::{Pairs, pairs, resource_response};
use crate::search::{Params, check_id, check_type};

/// `GET /{type}/{id}/_history/{vid}`.
pub async fn vread(
    State(state): State<Arc<FhirState>>,
    caller: Caller,
    Path((resource_type, id, version)): Path<(String, String, String)>,
) -> Result<Response, FhirError> {
    let (resource_type, client, pass) = enter(&state, &caller, &resource_type, &id, Interaction::Vread).await?;
    if version.is_empty() || version.len() > 20 || !version.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FhirError::Invalid(format!("version {version:?} is not a version id (a number)")));
    }
    let versions = state.records.versions(client, resource_type, &id).await?;
    let found = versions
        .into_iter()
        .find(|r| r.version == version)
        .ok_or_else(|| FhirError::NotFound(format!("{resource_type}/{id} has no version {version}")))?;
    let detail = json!({ "fhir": "vread", "resource": format!("{resource_type}/{id}/_history/{version}") });
    state.gate.release(&pass, &state.records.record(client).await?, detail).await?;
    Ok(resource_response(&found.body))
}

/// `GET /{type}/{id}/_history[?_since=…&_at=…&_count=…]`: newest first.
pub async fn instance(
    State(state): State<Arc<FhirState>>,
    caller: Caller,
    Path((resource_type, id)): Path<(String, String)>,
    query: Pairs,
) -> Result<Response, FhirError> {
    let params = Params::parse(pairs(query)?, &["_since", "_at"])?;
    let page = params.page()?;
    let since = params.one("_since")?.map(|t| instant("_since", t)).transpose()?;
    let at = params.one("_at")?.map(|t| instant("_at", t)).transpose()?;
    let (resource_type, client, pass) = enter(&state, &caller, &resource_type, &id, Interaction::History).await?;
    let mut versions = state.records.versions(client, resource_type, &id).await?;
    if let Some(at) = at {
        // The version current at `_at`: the last one recorded by then.
        versions.retain(|r| r.last_updated <= at);
        let current = versions.pop();
        versions = current.into_iter().collect();
    }
    if let Some(since) = since {
        versions.retain(|r| r.last_updated >= since);
    }
    versions.reverse();
    let total = versions.len();
    let entries: Vec<Value> = versions
        .iter()
        .skip(page.offset)
        .take(page.count)
        .map(|r| {
            let first = r.version == versions.last().map(|v| v.version.clone()).unwrap_or_default();
            json!({
                "fullUrl": format!("{}/{resource_type}/{id}", state.base),
                "resource": r.body,
                "request": { "method": if first { "POST" } else { "PUT" }, "url": format!("{resource_type}/{id}") },
                "response": { "status": if first { "201" } else { "200" }, "etag": format!("W/\"{}\"", r.version) },
            })
        })
        .collect();
    let detail = json!({ "fhir": "history", "resource": format!("{resource_type}/{id}"), "returned": entries.len() });
    state.gate.release(&pass, &state.records.record(client).await?, detail).await?;
    let path = format!("{resource_type}/{id}/_history");
    let mut links = vec![
        json!({ "relation": "self", "url": format!("{}/{path}?{}", state.base, params.with_offset(page.offset)) }),
    ];
    if page.count > 0 && page.offset + page.count < total {
        let next = format!("{}/{path}?{}", state.base, params.with_offset(page.offset + page.count));
        links.push(json!({ "relation": "next", "url": next }));
    }
    let bundle =
        json!({ "resourceType": "Bundle", "type": "history", "total": total, "link": links, "entry": entries });
    Ok(fhir_json(StatusCode::OK, &bundle))
}

/// `GET /{type}/_history[?_since=…&_at=…&_count=…]`: every version of every resource of the type in
/// the records the caller reaches, newest first. It folds every such record: the price of a
/// question about the whole practice (a bulk `$export` with `_since` is the cheaper way to sync).
pub async fn of_type(
    State(state): State<Arc<FhirState>>,
    caller: Caller,
    Path(resource_type): Path<String>,
    query: Pairs,
) -> Result<Response, FhirError> {
    let resource_type = check_type(&resource_type)?;
    let params = Params::parse(pairs(query)?, &["_since", "_at"])?;
    let page = params.page()?;
    let since = params.one("_since")?.map(|t| instant("_since", t)).transpose()?;
    let at = params.one("_at")?.map(|t| instant("_at", t)).transpose()?;
    let pass = state.gate.enter(&caller, Interaction::History).await?;
    state.gate.check_type(&caller, &pass, resource_type).await?;
    let mut found = Vec::new();
    let mut records = Vec::new();
    for client in state.records.clients().await? {
        if !state.gate.reaches(&pass, client).await? {
            continue;
        }
        let (record, mut versions) = state.records.type_versions(client, resource_type).await?;
        if let Some(at) = at {
            versions = current_at(versions, at);
        }
        let versions: Vec<_> = versions.into_iter().filter(|r| since.is_none_or(|s| r.last_updated >= s)).collect();
        if !versions.is_empty() {
            found.extend(versions.into_iter().map(|r| (client, r)));
            records.push(record);
        }
    }
    found.sort_by(|a, b| b.1.last_updated.cmp(&a.1.last_updated).then_with(|| b.1.version.cmp(&a.1.version)));
    let shown: Vec<&(uuid::Uuid, carelog_fhir::Resource)> = found.iter().skip(page.offset).take(page.count).collect();
    for record in &records {
        if shown.iter().any(|(client, _)| *client == record.client.as_uuid()) {
            let detail = json!({ "fhir": "history", "type": resource_type });
            state.gate.release(&pass, record, detail).await?;
        }
    }
    let entries: Vec<Value> = shown
        .iter()
        .map(|(_, r)| {
            let url = format!("{resource_type}/{}", r.id);
            json!({
                "fullUrl": format!("{}/{url}", state.base),
                "resource": r.body,
                "request": { "method": "PUT", "url": url },
                "response": { "status": "200", "etag": format!("W/\"{}\"", r.version) },
            })
        })
        .collect();
    let path = format!("{resource_type}/_history");
    let mut links = vec![
        json!({ "relation": "self", "url": format!("{}/{path}?{}", state.base, params.with_offset(page.offset)) }),
    ];
    if page.count > 0 && page.offset + page.count < found.len() {
        let next = format!("{}/{path}?{}", state.base, params.with_offset(page.offset + page.count));
        links.push(json!({ "relation": "next", "url": next }));
    }
    let bundle =
        json!({ "resourceType": "Bundle", "type": "history", "total": found.len(), "link": links, "entry": entries });
    Ok(fhir_json(StatusCode::OK, &bundle))
}

/// The gate, and the client whose record holds the resource.
async fn enter(
    state: &FhirState,
    caller: &Caller,
    resource_type: &str,
    id: &str,
    interaction: Interaction,
) -> Result<(&'static str, uuid::Uuid, carelog_auth::Pass), FhirError> {
    let resource_type = check_type(resource_type)?;
    check_id(id)?;
    let pass = state.gate.enter(caller, interaction).await?;
    state.gate.check_type(caller, &pass, resource_type).await?;
    let owners = state.records.owners(resource_type, id).await?;
    let client = state.gate.reach_any(&pass, &owners).await?.ok_or_else(|| not_found(resource_type, id))?;
    Ok((resource_type, client, pass))
}

/// A FHIR instant (or a date: its midnight UTC).
pub fn instant(name: &str, raw: &str) -> Result<DateTime<Utc>, FhirError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.to_utc());
    }
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        .map_err(|_| FhirError::Invalid(format!("{name} {raw:?} is not an instant (e.g. 2026-12-01T09:00:00Z)")))
}

/// Of each resource's versions, the one current at `at`: the last recorded by then (a resource
/// created later has none).
fn current_at(versions: Vec<carelog_fhir::Resource>, at: chrono::DateTime<chrono::Utc>) -> Vec<carelog_fhir::Resource> {
    let mut current: std::collections::BTreeMap<String, carelog_fhir::Resource> = std::collections::BTreeMap::new();
    for version in versions.into_iter().filter(|r| r.last_updated <= at) {
        match current.get(&version.id) {
            Some(kept) if kept.last_updated > version.last_updated => {}
            _ => {
                current.insert(version.id.clone(), version);
            }
        }
    }
    current.into_values().collect()
}
