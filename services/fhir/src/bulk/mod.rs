//! Bulk Data Access (FHIR Bulk Data IG v2): `$export` kick-off (`Prefer: respond-async` → 202
//! and a status URL), polling (202 with `X-Progress`, then the manifest), authenticated file
//! downloads, and `DELETE` to cancel. Jobs live on disk ([`jobs`]) and are run again after a
//! restart; only the one who asked may poll, download or cancel.

pub mod jobs;
mod worker;

use std::sync::Arc;

use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use uuid::Uuid;

use crate::FhirState;
use crate::gate::{Caller, Interaction};
use crate::history::instant;
use crate::outcome::{FhirError, fhir_json, operation_outcome};
use crate::routes::{Pairs, pairs};
use crate::search::{Params, check_type};
use jobs::{Job, JobStore, Output, Owner, Status};
pub use worker::Progress;

/// Unfinished exports one caller may have at a time.
const MAX_ACTIVE_PER_CALLER: usize = 4;

/// The export machinery the server holds.
#[derive(Debug)]
pub struct Bulk {
    pub jobs: JobStore,
    pub progress: Progress,
    /// Whether this process runs exports (off: it only accepts and answers about them).
    pub workers: bool,
    /// Exports running at once; the others wait their turn (each folds every record it covers).
    pub running: tokio::sync::Semaphore,
}

/// Exports one process runs at the same time.
pub const CONCURRENT_EXPORTS: usize = 2;

/// Runs again every export a previous process accepted but did not finish.
pub fn resume(state: &Arc<FhirState>) -> Result<(), FhirError> {
    if !state.bulk.workers {
        return Ok(());
    }
    for job in state.bulk.jobs.all()? {
        if job.status == Status::Accepted {
            tracing::info!(id = %job.id, "resuming a bulk export after a restart");
            tokio::spawn(worker::run(Arc::clone(state), state.bulk.jobs.clone(), job));
        }
    }
    Ok(())
}

/// `GET /Group/{clinician}/$export`: a clinician's caseload (the clients whose current episode
/// is theirs) — Carelog's only grouping of patients; the id is the clinician's Practitioner id.
pub async fn group_kick_off(
    State(state): State<Arc<FhirState>>,
    caller: Caller,
    OriginalUri(uri): OriginalUri,
    Path(group): Path<String>,
    headers: HeaderMap,
    query: Pairs,
) -> Result<Response, FhirError> {
    let missing = || FhirError::NotFound(format!("Group/{group}: a Group is a clinician's caseload, by their id"));
    let clinician = Uuid::parse_str(&group).map_err(|_| missing())?;
    start(state, caller, uri, headers, query, Some(clinician)).await
}

/// `GET /$export` and `GET /Patient/$export`.
pub async fn kick_off(
    State(state): State<Arc<FhirState>>,
    caller: Caller,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Pairs,
) -> Result<Response, FhirError> {
    start(state, caller, uri, headers, query, None).await
}

async fn start(
    state: Arc<FhirState>,
    caller: Caller,
    uri: axum::http::Uri,
    headers: HeaderMap,
    query: Pairs,
    group: Option<Uuid>,
) -> Result<Response, FhirError> {
    let prefer = headers.get("prefer").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !prefer.split(',').any(|p| p.trim() == "respond-async") {
        return Err(FhirError::Invalid("a bulk export needs the header `Prefer: respond-async`".into()));
    }
    let params = Params::parse(pairs(query)?, &["_outputFormat", "_since", "_type"])?;
    if let Some(format) = params.one("_outputFormat")?
        && !["application/fhir+ndjson", "application/ndjson", "ndjson"].contains(&format)
    {
        return Err(FhirError::Invalid(format!("_outputFormat {format:?}: only application/fhir+ndjson")));
    }
    let since = params.one("_since")?.map(|t| instant("_since", t)).transpose()?;
    let types = params
        .one("_type")?
        .map(|list| list.split(',').map(|t| check_type(t.trim()).map(str::to_owned)).collect::<Result<Vec<_>, _>>())
        .transpose()
        .map_err(|e| FhirError::Invalid(format!("_type: {e}")))?;
    let pass = state.gate.enter(&caller, Interaction::Export).await?;
    for resource_type in types.iter().flatten() {
        state.gate.check_type(&caller, &pass, check_type(resource_type)?).await?;
    }
    let principal = &caller.principal;
    let active = state.bulk.jobs.all()?;
    let active = active.iter().filter(|j| j.owner.subject == principal.subject && j.status == Status::Accepted);
    if active.count() >= MAX_ACTIVE_PER_CALLER {
        return Err(FhirError::TooMany(format!("at most {MAX_ACTIVE_PER_CALLER} unfinished exports at a time")));
    }
    let path = uri.path().strip_prefix("/fhir").unwrap_or(uri.path());
    let request = match uri.query() {
        Some(q) => format!("{}{path}?{q}", state.base),
        None => format!("{}{path}", state.base),
    };
    let job = Job {
        id: Uuid::now_v7(),
        owner: Owner {
            subject: principal.subject,
            role: principal.role.as_str().to_owned(),
            clinician: principal.clinician,
            purpose: caller.purpose,
            scope_types: caller.types.as_ref().map(|t| t.iter().cloned().collect()),
        },
        request,
        patient_level: path.starts_with("/Patient/") || group.is_some(),
        group,
        since,
        types,
        created: chrono::Utc::now(),
        status: Status::Accepted,
    };
    state.bulk.jobs.save(&job)?;
    let location = format!("{}/bulk/{}", state.base, job.id);
    if state.bulk.workers {
        tokio::spawn(worker::run(Arc::clone(&state), state.bulk.jobs.clone(), job));
    }
    let mut response = fhir_json(StatusCode::ACCEPTED, &operation_outcome("information", "informational", "accepted"));
    insert(&mut response, header::CONTENT_LOCATION, &location);
    Ok(response)
}

/// `GET /bulk/{job}`: 202 while running, the manifest when done.
pub async fn status(
    State(state): State<Arc<FhirState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, FhirError> {
    let job = own_job(&state, &caller, &id).await?;
    match &job.status {
        Status::Accepted => {
            let progress = match state.bulk.progress.get(job.id) {
                Some((done, total)) => format!("{done} of {total} clients"),
                None if state.bulk.workers => "starting".to_owned(),
                None => "queued".to_owned(),
            };
            let mut response = StatusCode::ACCEPTED.into_response();
            insert(&mut response, header::HeaderName::from_static("x-progress"), &progress);
            insert(&mut response, header::RETRY_AFTER, "1");
            Ok(response)
        }
        Status::Completed { transaction_time, outputs, position } => {
            let manifest = json!({
                "transactionTime": transaction_time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "request": job.request,
                "requiresAccessToken": true,
                "output": outputs.iter().map(|o| json!({
                    "type": o.resource_type,
                    "url": format!("{}/bulk/{}/{}.ndjson", state.base, job.id, o.resource_type),
                    "count": o.count,
                })).collect::<Vec<_>>(),
                "error": [],
                "extension": { "https://carelog.example/fhir/bulk/position": position },
            });
            let mut response = (StatusCode::OK, manifest.to_string()).into_response();
            insert(&mut response, header::CONTENT_TYPE, "application/json");
            Ok(response)
        }
        Status::Failed { message } => {
            Ok(fhir_json(StatusCode::INTERNAL_SERVER_ERROR, &operation_outcome("error", "exception", message)))
        }
    }
}

/// `DELETE /bulk/{job}`: cancels a running export or deletes a finished one and its files.
pub async fn cancel(
    State(state): State<Arc<FhirState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, FhirError> {
    let job = own_job(&state, &caller, &id).await?;
    state.bulk.jobs.remove(job.id)?;
    Ok(fhir_json(StatusCode::ACCEPTED, &operation_outcome("information", "informational", "deleted")))
}

/// `GET /bulk/{job}/{Type}.ndjson`.
pub async fn download(
    State(state): State<Arc<FhirState>>,
    caller: Caller,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, FhirError> {
    let job = own_job(&state, &caller, &id).await?;
    let gone = || FhirError::NotFound(format!("no file {file:?} in export {id}"));
    let resource_type = file.strip_suffix(".ndjson").ok_or_else(gone)?;
    let Status::Completed { outputs, .. } = &job.status else { return Err(gone()) };
    let output: &Output = outputs.iter().find(|o| o.resource_type == resource_type).ok_or_else(gone)?;
    let path = state.bulk.jobs.file(job.id, &output.resource_type);
    let body = tokio::fs::read(&path).await.map_err(|_| gone())?;
    let mut response = (StatusCode::OK, body).into_response();
    insert(&mut response, header::CONTENT_TYPE, "application/fhir+ndjson");
    Ok(response)
}

/// The job `id`, if it exists and `caller` asked for it; anyone else learns nothing (404) and
/// the attempt is logged.
async fn own_job(state: &FhirState, caller: &Caller, id: &str) -> Result<Job, FhirError> {
    let missing = || FhirError::NotFound(format!("no bulk export {id}"));
    let id = Uuid::parse_str(id).map_err(|_| missing())?;
    let job = state.bulk.jobs.load(id)?.ok_or_else(missing)?;
    if job.owner.subject != caller.principal.subject {
        let pass = state.gate.enter(caller, Interaction::Export).await?;
        let _ = state.gate.deny(&pass, "NOT_THE_REQUESTER", format!("bulk export {id} belongs to someone else")).await;
        return Err(missing());
    }
    Ok(job)
}

fn insert(response: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}
