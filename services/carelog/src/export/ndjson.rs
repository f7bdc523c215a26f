//! The bulk export: every client's record as FHIR R4 resources, one NDJSON file per resource
//! type and a FHIR Bulk Data style `manifest.json`.
//!
//! Why straight from the store rather than paging over gRPC: a bulk export is an operator's
//! batch job that runs beside the database (like `carelog rebuild`); reading the log directly
//! gives one consistent snapshot — every client replayed up to the same head position, which is
//! the manifest's `transactionTime` — without a long-lived call or a list-all-clients RPC. Each
//! client goes through the same loader as `ExportEpisodeFhir`, so both exports agree.
//!
//! Nothing that looks complete is written until the end: resources go to `*.ndjson.part`
//! files, renamed to `*.ndjson` once all are flushed and synced, and `manifest.json` is written
//! (also through a temporary file) last. A reader that trusts only a manifest never sees a
//! half-written export; an interrupted run leaves `.part` files and no manifest.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use carelog_auth::{Gate, Pass};
use carelog_domain::types::ClientId;
use carelog_fhir::RefStyle;
use carelog_store::{EventStore, LogFilter, LogQuery, Position};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::ExportError;

const MANIFEST: &str = "manifest.json";
const PAGE: usize = 1000;

/// What to export, where, and who for.
#[derive(Debug, Clone)]
pub struct NdjsonOptions {
    /// Who exports and why: every client exported is a disclosure, logged to the client's access
    /// stream with this actor and purpose of use and cut to this role by the read gate.
    pub reader: Pass,
    pub out: PathBuf,
    /// Only resources changed (recorded) after this time: Bulk Data's `_since`.
    pub since: Option<DateTime<Utc>>,
    /// Export into a folder that is not empty, replacing a previous export there.
    pub force: bool,
}

/// How far the export is: `done` of `total` clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

/// Exports every client registered up to the log's head. `progress` is called before the first
/// client and after each; returning `Break` stops the export (`ExportError::Interrupted`) with
/// the `.part` files removed and no manifest written.
pub async fn export(
    store: &Arc<dyn EventStore>,
    options: &NdjsonOptions,
    progress: &mut (dyn FnMut(Progress) -> ControlFlow<()> + Send),
) -> Result<Value, ExportError> {
    prepare(&options.out, options.force)?;
    let gate = Gate::new(Arc::clone(store));
    let store = store.as_ref();
    let head = store.head_position().await?;
    let transaction_time = match store.read_all(&LogQuery::from(head, 1)).await?.first() {
        Some(event) => event.recorded_at,
        None => Utc::now(),
    };
    let clients = registered_clients(store, head).await?;
    let mut files = Files::new(&options.out);
    let total = clients.len() as u64;
    for (done, client) in clients.into_iter().enumerate() {
        if progress(Progress { done: done as u64, total }).is_break() {
            files.discard();
            return Err(ExportError::Interrupted);
        }
        let record = carelog_records::fhir::episode_record(store, client, head).await?;
        let detail = json!({"export": "ndjson", "position": head.0});
        carelog_records::fhir::release(&gate, &options.reader, detail, &record).await?;
        for resource in carelog_fhir::resources(&record, RefStyle::Relative) {
            if options.since.is_none_or(|since| resource.last_updated > since) {
                files.write(resource.resource_type, &resource.body)?;
            }
        }
    }
    if progress(Progress { done: total, total }).is_break() {
        files.discard();
        return Err(ExportError::Interrupted);
    }
    let outputs = files.finish()?;
    let manifest = json!({
        "transactionTime": transaction_time.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        "request": request(options),
        "requiresAccessToken": false,
        "output": outputs,
        "error": [],
        "extension": { "position": head.0 },
    });
    write_atomically(&options.out.join(MANIFEST), format!("{manifest:#}\n").as_bytes())?;
    Ok(manifest)
}

/// The request this export answers, as the Bulk Data kick-off URL would have named it.
fn request(options: &NdjsonOptions) -> String {
    match options.since {
        Some(since) => format!("$export?_since={}", since.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        None => "$export".to_owned(),
    }
}

/// Refuses a folder with anything in it unless forced; when forced, removes the previous
/// manifest first (so the old export stops looking complete), then its NDJSON and `.part` files.
/// Anything else in the folder is left alone.
fn prepare(out: &Path, force: bool) -> Result<(), ExportError> {
    let io = |source| ExportError::Io { path: out.to_owned(), source };
    if !out.exists() {
        return fs::create_dir_all(out).map_err(io);
    }
    let entries: Vec<PathBuf> = fs::read_dir(out).map_err(io)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    if entries.is_empty() {
        return Ok(());
    }
    if !force {
        return Err(ExportError::NotEmpty(out.to_owned()));
    }
    remove(&out.join(MANIFEST))?;
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.ends_with(".ndjson") || name.ends_with(".part") {
            remove(&path)?;
        }
    }
    Ok(())
}

fn remove(path: &Path) -> Result<(), ExportError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(ExportError::Io { path: path.to_owned(), source: e }),
        _ => Ok(()),
    }
}

/// Client ids in registration order, up to `head`.
async fn registered_clients(store: &dyn EventStore, head: Position) -> Result<Vec<ClientId>, ExportError> {
    let filter = LogFilter { categories: vec!["client".into()], event_types: vec!["ClientRegistered".into()] };
    let mut clients = Vec::new();
    let mut from = Position(1);
    loop {
        let query = LogQuery { from, up_to: Some(head), filter: filter.clone(), limit: PAGE };
        let page = store.read_all(&query).await?;
        for event in &page {
            let client = ClientId::from_stream_name(event.stream.as_str())
                .map_err(|e| ExportError::Corrupt(format!("{}: {}", event.stream.as_str(), e.reason)))?;
            clients.push(client);
        }
        match page.last() {
            Some(last) if page.len() == PAGE => from = last.position.next(),
            _ => return Ok(clients),
        }
    }
}

/// The open `.part` files, one per resource type, with their line counts.
struct Files {
    dir: PathBuf,
    open: BTreeMap<&'static str, (BufWriter<File>, u64)>,
}

impl Files {
    fn new(dir: &Path) -> Self {
        Self { dir: dir.to_owned(), open: BTreeMap::new() }
    }

    fn part(&self, resource_type: &str) -> PathBuf {
        self.dir.join(format!("{resource_type}.ndjson.part"))
    }

    fn write(&mut self, resource_type: &'static str, body: &Value) -> Result<(), ExportError> {
        let path = self.part(resource_type);
        let io = |source| ExportError::Io { path: path.clone(), source };
        if !self.open.contains_key(resource_type) {
            let file = File::create(&path).map_err(io)?;
            self.open.insert(resource_type, (BufWriter::new(file), 0));
        }
        if let Some((writer, count)) = self.open.get_mut(resource_type) {
            serde_json::to_writer(&mut *writer, body).map_err(|e| io(e.into()))?;
            writer.write_all(b"\n").map_err(io)?;
            *count += 1;
        }
        Ok(())
    }

    /// Flushes and syncs every file, then renames them into place; the manifest's `output`.
    fn finish(self) -> Result<Vec<Value>, ExportError> {
        let mut outputs = Vec::new();
        for (resource_type, (writer, count)) in self.open {
            let part = self.dir.join(format!("{resource_type}.ndjson.part"));
            let io = |source| ExportError::Io { path: part.clone(), source };
            let file = writer.into_inner().map_err(|e| io(e.into_error()))?;
            file.sync_all().map_err(io)?;
            let done = self.dir.join(format!("{resource_type}.ndjson"));
            fs::rename(&part, &done).map_err(io)?;
            let url = format!("file://{}", fs::canonicalize(&done).map_err(io)?.display());
            outputs.push(json!({ "type": resource_type, "url": url, "count": count }));
        }
        Ok(outputs)
    }

    /// Removes the `.part` files of an export that will not finish.
    fn discard(self) {
        for resource_type in self.open.keys() {
            let _ = fs::remove_file(self.part(resource_type));
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so `path`
/// is either absent, the old content or the whole new content.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let part = path.with_extension(format!("{}.part", path.extension().and_then(|e| e.to_str()).unwrap_or_default()));
    let io = |source| ExportError::Io { path: path.to_owned(), source };
    let mut file = File::create(&part).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    fs::rename(&part, path).map_err(io)
}
