//! `carelog bench`: a load generator over real gRPC, with the raw PostgreSQL baseline measured in
//! the same run. Prints a progress line each second and a JSON summary at the end.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use carelog_auth::token::{DEFAULT_AUDIENCE, DEFAULT_ISSUER};
use carelog_auth::{Authenticator, Credentials, TokenIssuer, TokenVerifier};
use carelog_runtime::config::{StoreArg, seal_store};
use carelog_runtime::server::ServerSettings;
use serde_json::json;
use tokio::sync::Mutex;
use tonic::transport::Channel;

use crate::bench_load::{Load, Workload};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// A running server to load; default: start one in this process on --store.
    #[arg(long)]
    server: Option<String>,
    #[command(flatten)]
    tls: carelog::connect::TlsClientArgs,
    /// The store of the embedded server (default: a temporary SQLite file).
    #[command(flatten)]
    store: StoreArg,
    /// Concurrent callers.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds of load after set-up.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Clients prepared for session and charge commands (registered, consented, diagnosed, with an account).
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// append: one RegisterClient per call (a single-event append to a new stream);
    /// sessions: schedule → hold → sign note → charge; mixed: both; reads: GetEpisode;
    /// as-of: GetEpisodeAsOf over a --history-event record; health: the gRPC health check (the
    /// transport's floor, with no handler or store behind it).
    #[arg(long, value_enum, default_value_t = Workload::Mixed)]
    mix: Workload,
    /// Also measure raw single-row INSERTs into PostgreSQL at the same concurrency (needs a PostgreSQL
    /// URL: --baseline-url, else DATABASE_URL) and report Carelog's events/s over its rows/s as `ratio`.
    #[arg(long)]
    baseline: bool,
    /// Events in the replayed record of the as-of workload.
    #[arg(long, default_value_t = 2000)]
    history: usize,
    #[arg(long, env = "CARELOG_BASELINE_URL")]
    baseline_url: Option<String>,
}

/// Latencies and counters shared by the callers.
#[derive(Debug, Default)]
pub struct Tally {
    pub commands: AtomicU64,
    pub events: AtomicU64,
    pub conflicts: AtomicU64,
    pub errors: AtomicU64,
    pub latencies: Mutex<Vec<Duration>>,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let (channel, embedded, credentials) = connect(&args).await?;
    eprintln!("preparing {} clients …", args.clients);
    let mut load = Load::prepare(channel, credentials, args.clients.max(1)).await?;
    if args.mix == Workload::AsOf {
        eprintln!("recording a {}-event history …", args.history);
        load = load.with_history(args.history).await?;
    }
    let load = Arc::new(load);
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration);
    let mut callers = Vec::new();
    for caller in 0..args.concurrency.max(1) {
        let (load, tally, mix) = (Arc::clone(&load), Arc::clone(&tally), args.mix);
        callers.push(tokio::spawn(async move { load.drive(caller, mix, deadline, &tally).await }));
    }
    let progress = tokio::spawn(report_progress(Arc::clone(&tally), started, deadline));
    for caller in callers {
        caller.await.context("a caller panicked")?;
    }
    progress.abort();
    let elapsed = started.elapsed().as_secs_f64();
    let mut summary = summarise(&tally, elapsed, &args).await;
    if args.baseline {
        let url = args
            .baseline_url
            .clone()
            .or_else(|| std::env::var("DATABASE_URL").ok())
            .context("--baseline needs a PostgreSQL URL: --baseline-url or DATABASE_URL")?;
        eprintln!("measuring the raw PostgreSQL baseline at {} connections …", args.concurrency);
        let rows_per_sec = raw_inserts(&url, args.concurrency, Duration::from_secs(args.duration)).await?;
        let events_per_sec = summary["events_per_sec"].as_f64().unwrap_or_default();
        summary["baseline"] =
            json!({ "raw_single_row_inserts_per_sec": rows_per_sec, "connections": args.concurrency });
        summary["ratio"] = json!(round(events_per_sec / rows_per_sec.max(1e-9)));
    }
    if let Some(server) = embedded {
        server.stop().await?;
    }
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(ExitCode::SUCCESS)
}

/// The channel to load, the embedded server if one was started, and the callers' credentials.
type Target = (Channel, Option<carelog::app::RunningServer>, Credentials);

/// A running server (`--server`, with the credentials of the environment), or one started here as
/// production runs it: PHI sealed by the vault and every call checked against a bearer token minted
/// from a secret only this process knows (as the embedded demo does).
async fn connect(args: &BenchArgs) -> anyhow::Result<Target> {
    if let Some(url) = &args.server {
        return Ok((args.tls.connect(url).await?, None, Credentials::from_env()?));
    }
    let url = match args.store.explicit_url()? {
        Some(url) => url,
        None => {
            let dir = std::env::temp_dir().join(format!("carelog-bench-{}", uuid::Uuid::now_v7()));
            std::fs::create_dir_all(&dir)?;
            carelog_store::StoreUrl::Sqlite(dir.join("bench.db"))
        }
    };
    eprintln!("embedded server on {url} (PHI sealed, bearer tokens checked)");
    let stored = carelog_store::open(&url).await?;
    let store = carelog::app::AppStore { log: seal_store(&stored, &url, None).await?, stored };
    let secret = hex::encode(rand::random::<[u8; 32]>());
    let verifier =
        TokenVerifier::hs256(secret.as_bytes(), DEFAULT_ISSUER, DEFAULT_AUDIENCE).map_err(anyhow::Error::msg)?;
    let issuer = TokenIssuer::hs256(secret.as_bytes(), DEFAULT_ISSUER, DEFAULT_AUDIENCE).map_err(anyhow::Error::msg)?;
    let config = carelog::app::AppConfig {
        server: ServerSettings::local(Authenticator::Tokens(Box::new(verifier))),
        proofs: Some(carelog::app::tool_proofs()?),
        ..Default::default()
    };
    let server = carelog::app::start_with(store, "127.0.0.1:0".parse()?, config).await?;
    let channel = Channel::from_shared(server.url())?.connect().await?;
    Ok((channel, Some(server), Credentials::Issuer(issuer)))
}

async fn report_progress(tally: Arc<Tally>, started: Instant, deadline: Instant) {
    let mut last = 0;
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let now = tally.commands.load(Ordering::Relaxed);
        let left = deadline.saturating_duration_since(Instant::now()).as_secs();
        eprintln!(
            "  {:>4.0} s  {now:>8} commands  {:>6} /s  {:>6} conflicts  {:>4} errors  ({left} s left)",
            started.elapsed().as_secs_f64(),
            now - last,
            tally.conflicts.load(Ordering::Relaxed),
            tally.errors.load(Ordering::Relaxed)
        );
        last = now;
    }
}

/// The nearest-rank `q` quantile of sorted durations, in milliseconds (0 when there are none).
pub fn percentile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

async fn summarise(tally: &Tally, elapsed: f64, args: &BenchArgs) -> serde_json::Value {
    let mut latencies = tally.latencies.lock().await.clone();
    latencies.sort_unstable();
    let at = |q: f64| round(percentile_ms(&latencies, q));
    let commands = tally.commands.load(Ordering::Relaxed);
    let events = tally.events.load(Ordering::Relaxed);
    json!({
        "mix": format!("{:?}", args.mix).to_lowercase(),
        "concurrency": args.concurrency,
        "duration_s": round(elapsed),
        "commands": commands,
        "events": events,
        "commands_per_sec": round(commands as f64 / elapsed),
        "events_per_sec": round(events as f64 / elapsed),
        "latency_ms": { "p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": at(1.0) },
        "conflicts": tally.conflicts.load(Ordering::Relaxed),
        "errors": tally.errors.load(Ordering::Relaxed),
    })
}

/// Autocommitted single-row INSERTs from `connections` connections: the naive durable-write limit.
async fn raw_inserts(url: &str, connections: usize, duration: Duration) -> anyhow::Result<f64> {
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(connections as u32).connect(url).await?;
    let table = format!("carelog_baseline_{}", uuid::Uuid::now_v7().simple());
    let create = format!("CREATE TABLE {table} (id bigserial PRIMARY KEY, event_id uuid NOT NULL, data json NOT NULL)");
    sqlx::query(sqlx::AssertSqlSafe(create)).execute(&pool).await?;
    let insert = format!("INSERT INTO {table} (event_id, data) VALUES ($1, $2::json)");
    let rows = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..connections.max(1) {
        let (pool, insert, rows) = (pool.clone(), insert.clone(), Arc::clone(&rows));
        workers.push(tokio::spawn(async move {
            while started.elapsed() < duration {
                let data = json!({ "minutes": 53, "modality": "video", "note": "x".repeat(200) }).to_string();
                let inserted = sqlx::query(sqlx::AssertSqlSafe(insert.clone()))
                    .bind(uuid::Uuid::now_v7())
                    .bind(data)
                    .execute(&pool)
                    .await;
                if inserted.is_ok() {
                    rows.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for worker in workers {
        worker.await?;
    }
    let rate = rows.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {table}"))).execute(&pool).await?;
    Ok(round(rate))
}
