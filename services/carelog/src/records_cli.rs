//! Operator commands over the RecordsService (`episode`, `tail`; `audit` is in audit_report.rs) and on the store itself
//! (`rebuild`).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use carelog::demo::As;
use carelog_proto::v1 as proto;
use carelog_proto::v1::records_service_client::RecordsServiceClient;
use carelog_runtime::config::StoreArg;
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// Where the RecordsService runs and who is asking.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArg {
    /// The Carelog server (all-in-one, carelog-records or carelog-proofs): http:// or https://.
    #[arg(long, env = "CARELOG_SERVER", default_value = "http://127.0.0.1:50051")]
    server: String,
    #[command(flatten)]
    tls: carelog::connect::TlsClientArgs,
    /// Your user id (a UUID), recorded with every read; default: a new id per invocation.
    #[arg(long, env = "CARELOG_ACTOR")]
    actor: Option<uuid::Uuid>,
    /// Your role (with a bearer token, the token's role is the one that counts).
    #[arg(long, env = "CARELOG_ROLE", default_value = "auditor")]
    role: String,
}

impl ServerArg {
    /// A channel to the server and the caller every request names (with its token).
    pub async fn connect(&self) -> anyhow::Result<(Channel, As)> {
        let channel = self.tls.connect(&self.server).await?;
        let role: carelog_auth::Role = self.role.parse().map_err(|e: String| anyhow::anyhow!("--role: {e}"))?;
        Ok((channel, carelog::demo::caller(self.actor.unwrap_or_else(uuid::Uuid::now_v7), role)))
    }

    pub(crate) async fn records(&self) -> anyhow::Result<RecordsServiceClient<InterceptedService<Channel, As>>> {
        let (channel, caller) = self.connect().await?;
        Ok(RecordsServiceClient::with_interceptor(channel, caller))
    }
}

/// Which past record `carelog episode` shows.
#[derive(Debug, Clone)]
pub enum AsOfArg {
    /// `--as-of` / `--as-of-recorded`: a log position or a recorded time.
    Recorded(String),
    /// `--as-of-clinical`: a clinical time or date.
    Clinical(String),
}

/// `--as-of-clinical`: an RFC 3339 time, or a date meaning the end of that day (UTC).
fn occurred_by(raw: &str) -> anyhow::Result<proto::get_episode_as_of_request::AsOf> {
    Ok(proto::get_episode_as_of_request::AsOf::OccurredBy(carelog::export::clinical_time(raw)?))
}

/// `--as-of`: a log position or an RFC 3339 time.
pub(crate) fn as_of(raw: &str) -> anyhow::Result<proto::get_episode_as_of_request::AsOf> {
    use proto::get_episode_as_of_request::AsOf;
    if let Ok(position) = raw.parse::<u64>() {
        return Ok(AsOf::Position(position));
    }
    let time = DateTime::parse_from_rfc3339(raw)
        .with_context(|| {
            format!("--as-of {raw:?}: give a log position (e.g. 42) or an RFC 3339 time (e.g. 2026-11-21T09:30:00Z)")
        })?
        .with_timezone(&Utc);
    Ok(AsOf::RecordedAt(carelog_runtime::parse::to_timestamp(time)))
}

pub async fn episode(server: ServerArg, client: String, as_of_arg: Option<AsOfArg>) -> anyhow::Result<ExitCode> {
    let mut records = server.records().await?;
    let when = match &as_of_arg {
        None => None,
        Some(AsOfArg::Recorded(raw)) => Some(as_of(raw)?),
        Some(AsOfArg::Clinical(raw)) => Some(occurred_by(raw)?),
    };
    let reply = match when {
        None => records.get_episode(proto::GetEpisodeRequest { client_id: client, min_position: 0 }).await,
        Some(when) => {
            let request = proto::GetEpisodeAsOfRequest { client_id: client, as_of: Some(when) };
            records.get_episode_as_of(request).await
        }
    }
    .map_err(status_error)?
    .into_inner();
    let view = carelog_proto::typed::to_json(&reply.view.clone().unwrap_or_default())?;
    let label = match proto::EpisodeBasis::try_from(reply.basis) {
        Ok(proto::EpisodeBasis::AsOfClinical) => {
            let by = reply.occurred_by.as_ref().and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos as u32));
            let by = by.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_default();
            format!("AS OF CLINICAL TIME {by}: everything that had occurred by then, as known at log position")
        }
        Ok(proto::EpisodeBasis::AsRecorded) => "AS RECORDED: the record as it stood at log position".to_owned(),
        _ => "CURRENT: the live record at log position".to_owned(),
    };
    eprintln!("client {} — {label} {} (last event {})", reply.client_id, reply.position, reply.last_event_position);
    println!("{}", serde_json::to_string_pretty(&view)?);
    Ok(ExitCode::SUCCESS)
}

pub async fn tail(
    server: ServerArg,
    from: u64,
    categories: Vec<String>,
    types: Vec<String>,
) -> anyhow::Result<ExitCode> {
    let mut records = server.records().await?;
    let request =
        proto::SubscribeRequest { after_position: from, categories, event_types: types, heartbeat_seconds: 15 };
    let mut feed = records.subscribe(request).await.map_err(status_error)?.into_inner();
    while let Some(reply) = feed.message().await.map_err(status_error)? {
        match reply.item {
            Some(proto::subscribe_reply::Item::Event(e)) => {
                let by = e
                    .actor
                    .as_ref()
                    .map(|a| crate::audit_report::actor_label(&a.display_name, &a.role, &a.id))
                    .unwrap_or_default();
                println!("{:>8}  {:<48} rev {:>3}  {:<24}  by {by}", e.position, e.stream, e.revision, e.event_type);
            }
            Some(proto::subscribe_reply::Item::Heartbeat(beat)) => {
                eprintln!("  … caught up at position {}", beat.position)
            }
            None => {}
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn rebuild(store: StoreArg) -> anyhow::Result<ExitCode> {
    let storage = store.open_sealed().await?;
    let url = storage.url.clone();
    let search_key = Some(carelog::app::search_key_of(&storage.sealed));
    let store: Arc<dyn carelog_store::EventStore> = storage.sealed;
    let head = store.head_position().await?.0;
    let runner = carelog_projections::Runner::new(Arc::clone(&store), storage.stored.database)
        .await?
        .with_search_key(search_key);
    let bar = ProgressBar::new(head);
    bar.set_style(
        ProgressStyle::with_template("rebuilding {bar:40} {pos}/{len} events ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let (applied, took) = runner
        .rebuild(|p| {
            bar.set_length(p.head.max(p.checkpoint));
            bar.set_position(p.checkpoint);
        })
        .await
        .context("rebuilding the read models; the live ones were left untouched")?;
    bar.finish_and_clear();
    let rate = applied as f64 / took.as_secs_f64().max(1e-9);
    // The swap ends the rebuild; deleting the retired generation's rows comes after it.
    println!(
        "{url}: read models rebuilt from position 0 and swapped in — {applied} events in {:.2} s ({rate:.0} events/s); \
         {:.2} s in all with the retired generation's rows deleted",
        took.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn status_error(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{:?}: {}", status.code(), status.message())
}
