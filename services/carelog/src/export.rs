//! `carelog export`: FHIR R4 for EHR connectors.
//!
//! - `export fhir --client ID [--as-of P|TIME] [--out FILE]`: one client's care episode as a
//!   `collection` Bundle, from the RecordsService's `ExportEpisodeFhir` (stdout by default).
//! - `export ndjson --out DIR [--since TIME] [--force]`: the whole practice as Bulk Data NDJSON,
//!   read from the store directly (see [`ndjson`] for why), with a progress bar.

pub mod ndjson;

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use carelog_auth::PurposeOfUse;
use carelog_executor::ServiceError;
use carelog_proto::v1 as proto;
use carelog_proto::v1::records_service_client::RecordsServiceClient;
use carelog_runtime::config::StoreArg;
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};

pub use ndjson::{NdjsonOptions, Progress};

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0} exists and is not empty; choose another folder or pass --force to replace the export in it")]
    NotEmpty(PathBuf),
    #[error("interrupted; no manifest was written and the partial files were removed")]
    Interrupted,
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("reading the log: {0}")]
    Store(#[from] carelog_store::StoreError),
    #[error("exporting a record: {0}")]
    Record(#[from] ServiceError),
    #[error("the log holds something unexpected: {0}")]
    Corrupt(String),
}

#[derive(Debug, clap::Subcommand)]
pub enum ExportCommand {
    /// One client's care episode as a FHIR R4 Bundle (JSON), via the RecordsService.
    Fhir(FhirArgs),
    /// Every client as FHIR R4 NDJSON (one file per resource type) with a Bulk Data manifest.
    Ndjson(NdjsonArgs),
}

#[derive(Debug, clap::Args)]
pub struct FhirArgs {
    /// The Carelog server (all-in-one or carelog-records): http:// or https://.
    #[arg(long, env = "CARELOG_SERVER", default_value = "http://127.0.0.1:50051")]
    server: String,
    #[command(flatten)]
    tls: crate::connect::TlsClientArgs,
    /// Your user id (a UUID), recorded as the connector reading the record; default: a new id.
    #[arg(long, env = "CARELOG_ACTOR")]
    actor: Option<uuid::Uuid>,
    #[arg(long)]
    client: String,
    /// The record as recorded at a log position (e.g. 42) or an RFC 3339 time
    /// (e.g. 2026-11-21T09:30:00Z); default: now.
    #[arg(long, visible_alias = "as-of-recorded", conflicts_with = "as_of_clinical")]
    as_of: Option<String>,
    /// Everything that had occurred by a clinical date (2026-11-21: the end of that day, UTC) or
    /// RFC 3339 time, as the log knows it now.
    #[arg(long)]
    as_of_clinical: Option<String>,
    /// Write the Bundle here (atomically) instead of to stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct NdjsonArgs {
    #[command(flatten)]
    store: StoreArg,
    /// The folder for the NDJSON files and manifest.json; created if missing.
    #[arg(long)]
    out: PathBuf,
    /// Only resources changed after this RFC 3339 time.
    #[arg(long, value_parser = parse_time)]
    since: Option<DateTime<Utc>>,
    /// Export into a folder that is not empty (replaces a previous export's files there).
    #[arg(long)]
    force: bool,
    /// Your user id (a UUID): every client exported is logged as read by you, as a connector.
    #[arg(long, env = "CARELOG_ACTOR")]
    actor: uuid::Uuid,
    /// Why (HL7 v3 PurposeOfUse: COC for another provider's EHR, LEGAL, PATRQT, HOPERAT, ...).
    #[arg(long, default_value = "COC", value_parser = parse_purpose)]
    purpose: PurposeOfUse,
}

fn parse_purpose(raw: &str) -> Result<PurposeOfUse, String> {
    PurposeOfUse::parse(raw).map_err(|e| e.to_string())
}

pub async fn run(command: ExportCommand) -> anyhow::Result<ExitCode> {
    match command {
        ExportCommand::Fhir(args) => fhir(args).await,
        ExportCommand::Ndjson(args) => bulk(args).await,
    }
}

/// A clinical time given as a date (the end of that day, UTC) or an RFC 3339 time.
pub fn clinical_time(raw: &str) -> anyhow::Result<prost_types::Timestamp> {
    let time = match chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(date) => date.and_hms_milli_opt(23, 59, 59, 999).map(|t| t.and_utc()),
        Err(_) => DateTime::parse_from_rfc3339(raw).ok().map(|t| t.with_timezone(&Utc)),
    };
    let time = time.with_context(|| {
        format!("--as-of-clinical {raw:?}: give a date (2026-11-21) or an RFC 3339 time (2026-11-21T09:30:00Z)")
    })?;
    Ok(carelog_runtime::parse::to_timestamp(time))
}

fn parse_time(raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("{raw:?} is not an RFC 3339 time like 2026-11-21T09:30:00Z"))
}

async fn fhir(args: FhirArgs) -> anyhow::Result<ExitCode> {
    use proto::export_episode_fhir_request::AsOf;
    let as_of = match (args.as_of.as_deref(), args.as_of_clinical.as_deref()) {
        (None, None) => None,
        (_, Some(raw)) => Some(AsOf::OccurredBy(clinical_time(raw)?)),
        (Some(raw), None) => Some(match raw.parse::<u64>() {
            Ok(position) => AsOf::Position(position),
            Err(_) => AsOf::RecordedAt(carelog_runtime::parse::to_timestamp(
                parse_time(raw).map_err(anyhow::Error::msg).context("--as-of: or give a log position")?,
            )),
        }),
    };
    let channel = args.tls.connect(&args.server).await?;
    // An export is what a connector does; the role header says so.
    let caller = crate::demo::caller(args.actor.unwrap_or_else(uuid::Uuid::now_v7), carelog_auth::Role::Connector);
    let mut records = RecordsServiceClient::with_interceptor(channel, caller);
    let request = proto::ExportEpisodeFhirRequest { client_id: args.client, as_of };
    let reply = records
        .export_episode_fhir(request)
        .await
        .map_err(|s| anyhow::anyhow!("{:?}: {}", s.code(), s.message()))?
        .into_inner();
    let bundle: serde_json::Value = serde_json::from_str(&reply.bundle_json).context("the server's Bundle")?;
    let pretty = format!("{bundle:#}\n");
    match &args.out {
        None => print!("{pretty}"),
        Some(path) => ndjson::write_atomically(path, pretty.as_bytes())?,
    }
    let basis = match proto::EpisodeBasis::try_from(reply.basis) {
        Ok(proto::EpisodeBasis::AsOfClinical) => {
            let by = reply.occurred_by.as_ref().map(|t| t.to_string()).unwrap_or_default();
            format!("everything that had occurred by {by} (clinical time), as known at log position")
        }
        Ok(proto::EpisodeBasis::AsRecorded) => "the record as it stood at log position".to_owned(),
        _ => "the record now, at log position".to_owned(),
    };
    eprintln!(
        "client {}: {} resources: {basis} {} (last event {})",
        reply.client_id, reply.resource_count, reply.position, reply.last_event_position
    );
    Ok(ExitCode::SUCCESS)
}

async fn bulk(args: NdjsonArgs) -> anyhow::Result<ExitCode> {
    let (store, _url) = args.store.open().await?;
    let principal = carelog_auth::Principal::new(args.actor, carelog_auth::Role::Connector, None);
    let reader = carelog_auth::Pass::offline(principal, carelog_auth::access::EXPORT_ACTIVITY, args.purpose);
    let options = NdjsonOptions { reader, out: args.out, since: args.since, force: args.force };
    // Ctrl-C stops between two clients, so the export ends cleanly rather than mid-file.
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            flag.store(true, Ordering::SeqCst);
        }
    });
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("exporting {bar:40} {pos}/{len} clients ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut progress = |p: Progress| {
        bar.set_length(p.total);
        bar.set_position(p.done);
        if stop.load(Ordering::SeqCst) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    };
    let manifest = ndjson::export(&store, &options, &mut progress).await;
    bar.finish_and_clear();
    let manifest = manifest?;
    let files = manifest["output"].as_array().map_or(0, Vec::len);
    let resources: u64 = manifest["output"].as_array().into_iter().flatten().filter_map(|o| o["count"].as_u64()).sum();
    println!(
        "{}: {resources} resources in {files} NDJSON files, as of {} (log position {})",
        options.out.display(),
        manifest["transactionTime"].as_str().unwrap_or_default(),
        manifest["extension"]["position"]
    );
    Ok(ExitCode::SUCCESS)
}
