//! Running one export: every client the owner reaches, replayed at one head position (the
//! manifest's `transactionTime`), each client's read logged before its resources are written.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::{Arc, Mutex};

use carelog_auth::{Principal, Role};
use carelog_store::LogQuery;
use uuid::Uuid;

use super::jobs::{Job, JobStore, Output, Status};
use crate::FhirState;
use crate::gate::{Caller, Interaction};
use crate::outcome::FhirError;

/// Progress of running jobs (`done`, `total` clients), and which were cancelled.
#[derive(Debug, Default)]
pub struct Progress {
    running: Mutex<HashMap<Uuid, (u64, u64)>>,
}

impl Progress {
    pub fn get(&self, id: Uuid) -> Option<(u64, u64)> {
        self.running.lock().ok()?.get(&id).copied()
    }

    fn set(&self, id: Uuid, done: u64, total: u64) {
        if let Ok(mut running) = self.running.lock() {
            running.insert(id, (done, total));
        }
    }

    fn clear(&self, id: Uuid) {
        if let Ok(mut running) = self.running.lock() {
            running.remove(&id);
        }
    }
}

/// Runs `job` to its end and records the outcome; a cancelled job (its folder removed) stops
/// between clients and leaves nothing behind.
pub async fn run(state: Arc<FhirState>, jobs: JobStore, job: Job) {
    let id = job.id;
    // Closed only when the server is gone; the job then stays accepted for the next start.
    let Ok(_turn) = state.bulk.running.acquire().await else { return };
    let outcome = export(&state, &jobs, &job).await;
    state.progress().clear(id);
    // Cancelled meanwhile: whatever was written goes too.
    if !matches!(jobs.load(id), Ok(Some(_))) {
        let _ = jobs.remove(id);
        return;
    }
    let status = match outcome {
        Ok(status) => status,
        Err(error) => {
            tracing::warn!(%error, %id, "bulk export failed");
            Status::Failed { message: error.to_string() }
        }
    };
    if let Err(error) = jobs.save(&Job { status, ..job }) {
        tracing::error!(%error, %id, "could not record the end of a bulk export");
    }
}

async fn export(state: &FhirState, jobs: &JobStore, job: &Job) -> Result<Status, FhirError> {
    let caller = owner_caller(job)?;
    let pass = state.gate.enter(&caller, Interaction::Export).await?;
    let store = state.records.store();
    let head = store.head_position().await?;
    let transaction_time = match store.read_all(&LogQuery::from(head, 1)).await?.first() {
        Some(event) => event.recorded_at,
        None => chrono::Utc::now(),
    };
    let clients = state.records.clients().await?;
    let total = clients.len() as u64;
    let mut files: BTreeMap<&'static str, (std::io::BufWriter<std::fs::File>, u64)> = BTreeMap::new();
    for (done, client) in clients.into_iter().enumerate() {
        state.progress().set(job.id, done as u64, total);
        if !matches!(jobs.load(job.id), Ok(Some(_))) {
            return Err(FhirError::Gone("cancelled".into()));
        }
        if !state.gate.reaches(&pass, client).await? || !in_group(state, job, client).await? {
            continue;
        }
        let record = match state.records.record_at(client, head).await {
            Ok(record) => record,
            Err(FhirError::NotFound(_)) => continue,
            Err(other) => return Err(other),
        };
        let resources = carelog_fhir::resources(&record, carelog_fhir::RefStyle::Relative);
        let wanted: Vec<_> = resources
            .into_iter()
            .filter(|r| job.types.as_ref().is_none_or(|t| t.iter().any(|t| t == r.resource_type)))
            .filter(|r| caller.may_read_type(r.resource_type))
            .filter(|r| job.since.is_none_or(|since| r.last_updated > since))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let detail = serde_json::json!({ "fhir": "export", "job": job.id, "position": head.0 });
        match state.gate.release(&pass, &record, detail).await {
            Ok(()) => {}
            // A record the role may not see whole is left out (the refusal is logged), as in a search.
            Err(FhirError::Forbidden(_)) => continue,
            Err(other) => return Err(other),
        }
        for resource in wanted {
            write_line(jobs, job.id, &mut files, resource.resource_type, &resource.body)?;
        }
    }
    let mut outputs = Vec::new();
    for (resource_type, (writer, count)) in files {
        let path = jobs.file(job.id, resource_type);
        let file = writer.into_inner().map_err(|e| FhirError::Internal(e.to_string()))?;
        file.sync_all().map_err(|e| FhirError::Internal(format!("{}: {e}", path.display())))?;
        outputs.push(Output { resource_type: resource_type.to_owned(), count });
    }
    Ok(Status::Completed { transaction_time, position: head.0, outputs })
}

fn write_line(
    jobs: &JobStore,
    id: Uuid,
    files: &mut BTreeMap<&'static str, (std::io::BufWriter<std::fs::File>, u64)>,
    resource_type: &'static str,
    body: &serde_json::Value,
) -> Result<(), FhirError> {
    let path = jobs.file(id, resource_type);
    let io = |e: std::io::Error| FhirError::Internal(format!("{}: {e}", path.display()));
    if !files.contains_key(resource_type) {
        let file = std::fs::File::create(&path).map_err(io)?;
        files.insert(resource_type, (std::io::BufWriter::new(file), 0));
    }
    if let Some((writer, count)) = files.get_mut(resource_type) {
        serde_json::to_writer(&mut *writer, body).map_err(|e| io(e.into()))?;
        writer.write_all(b"\n").map_err(io)?;
        *count += 1;
    }
    Ok(())
}

/// Whether `client` is in the job's Group (the caseload of its clinician); every client is when
/// the job names no Group.
async fn in_group(state: &FhirState, job: &Job, client: Uuid) -> Result<bool, FhirError> {
    let Some(clinician) = job.group else { return Ok(true) };
    let store = state.records.store();
    Ok(carelog_auth::access::assigned_clinician(store.as_ref(), client).await? == Some(clinician))
}

/// The caller an export reads as: whoever kicked it off, with their scopes.
fn owner_caller(job: &Job) -> Result<Caller, FhirError> {
    let role = Role::parse(&job.owner.role).ok_or_else(|| FhirError::Internal("a job with an unknown role".into()))?;
    let principal = Principal::new(job.owner.subject, role, job.owner.clinician);
    let types = job.owner.scope_types.as_ref().map(|t| t.iter().cloned().collect());
    Ok(Caller { principal, purpose: job.owner.purpose, types })
}
