//! Bulk export jobs on disk: one folder per job holding `job.json` and, once done, one NDJSON
//! file per resource type. Written through a temporary file and a rename, so a crash leaves
//! either the old or the new job state, never half of one; a job found unfinished at start is
//! run again from the beginning (its partial files are discarded).

use std::path::{Path, PathBuf};

use carelog_domain::access::PurposeOfUse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::outcome::FhirError;

/// Who asked for the export: its files are theirs alone, and the export reads as them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub subject: Uuid,
    pub role: String,
    pub clinician: Option<Uuid>,
    /// Stored as its code (`TREAT`, …), as job files always held it.
    pub purpose: PurposeOfUse,
    /// A SMART token's resource types (None: all).
    pub scope_types: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Status {
    Accepted,
    Completed { transaction_time: DateTime<Utc>, position: u64, outputs: Vec<Output> },
    Failed { message: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    #[serde(rename = "type")]
    pub resource_type: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: Uuid,
    pub owner: Owner,
    /// The kick-off request's full URL, for the manifest.
    pub request: String,
    /// `Patient/$export` (true) or `$export` (false): the same resources here, as every resource
    /// of this server belongs to a patient's record; kept for the record of what was asked.
    pub patient_level: bool,
    /// `Group/{clinician}/$export`: only the clients whose current episode is that clinician's.
    #[serde(default)]
    pub group: Option<Uuid>,
    pub since: Option<DateTime<Utc>>,
    /// `_type` (None: every type).
    pub types: Option<Vec<String>>,
    pub created: DateTime<Utc>,
    pub status: Status,
}

/// The folder holding every job.
#[derive(Debug, Clone)]
pub struct JobStore {
    dir: PathBuf,
}

impl JobStore {
    pub fn open(dir: &Path) -> Result<Self, FhirError> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        Ok(Self { dir: dir.to_owned() })
    }

    pub fn folder(&self, id: Uuid) -> PathBuf {
        self.dir.join(id.to_string())
    }

    /// The NDJSON file of one resource type.
    pub fn file(&self, id: Uuid, resource_type: &str) -> PathBuf {
        self.folder(id).join(format!("{resource_type}.ndjson"))
    }

    pub fn save(&self, job: &Job) -> Result<(), FhirError> {
        let folder = self.folder(job.id);
        std::fs::create_dir_all(&folder).map_err(|e| io(&folder, e))?;
        let text = serde_json::to_vec_pretty(job).map_err(|e| FhirError::Internal(e.to_string()))?;
        let tmp = folder.join("job.json.tmp");
        std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, folder.join("job.json")).map_err(|e| io(&tmp, e))
    }

    /// The job, or `None` if there is none (never was, cancelled, deleted).
    pub fn load(&self, id: Uuid) -> Result<Option<Job>, FhirError> {
        let path = self.folder(id).join("job.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| FhirError::Internal(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path, e)),
        }
    }

    /// Removes a job and its files. The job file goes first, so a half-finished removal leaves
    /// no job that looks alive.
    pub fn remove(&self, id: Uuid) -> Result<(), FhirError> {
        let folder = self.folder(id);
        match std::fs::remove_file(folder.join("job.json")) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&folder, e)),
            _ => {}
        }
        match std::fs::remove_dir_all(&folder) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&folder, e)),
            _ => Ok(()),
        }
    }

    /// Every job on disk (a folder without a readable job is skipped and said so).
    pub fn all(&self) -> Result<Vec<Job>, FhirError> {
        let mut jobs = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(|e| io(&self.dir, e))?.flatten() {
            let Some(id) = entry.file_name().to_str().and_then(|n| Uuid::parse_str(n).ok()) else { continue };
            match self.load(id) {
                Ok(Some(job)) => jobs.push(job),
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, %id, "skipping an unreadable bulk export job"),
            }
        }
        Ok(jobs)
    }
}

fn io(path: &Path, error: std::io::Error) -> FhirError {
    FhirError::Internal(format!("{}: {error}", path.display()))
}
