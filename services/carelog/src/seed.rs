//! `carelog seed`: fills a store with many demo episodes through the real gRPC API, for benchmarks
//! (rebuild rate, GetEpisode latency at scale) and load tests.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use carelog_runtime::config::StoreArg;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::Semaphore;
use tonic::transport::Channel;

#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    #[command(flatten)]
    store: StoreArg,
    /// How many complete episodes (≈ 52 events each) to drive.
    #[arg(long, default_value_t = 100)]
    episodes: u32,
    /// Episodes driven at the same time.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// The seeding server's projector commits as `carelog serve`'s does.
    #[command(flatten)]
    projector: carelog_records::ProjectorCommitArg,
}

pub async fn run(args: SeedArgs) -> anyhow::Result<ExitCode> {
    let storage = args.store.open_sealed().await?;
    let (store, url): (Arc<dyn carelog_store::EventStore>, _) = (storage.sealed.clone(), storage.url.clone());
    let start_head = store.head_position().await?.0;
    let mut config = carelog::app::AppConfig { proofs: Some(carelog::app::tool_proofs()?), ..Default::default() };
    config.records.projector.commit_interval = args.projector.interval();
    let server = carelog::app::start_with((&storage).into(), "127.0.0.1:0".parse()?, config).await?;
    let channel = Channel::from_shared(server.url())?.connect().await?;
    let bar = ProgressBar::new(u64::from(args.episodes));
    bar.set_style(
        ProgressStyle::with_template("seeding {bar:40} {pos}/{len} episodes, {msg} ({elapsed}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let permits = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let mut tasks = Vec::new();
    for _ in 0..args.episodes {
        let permit = Arc::clone(&permits).acquire_owned().await?;
        let (channel, bar, store) = (channel.clone(), bar.clone(), Arc::clone(&store));
        tasks.push(tokio::spawn(async move {
            let outcome = carelog::demo::run(channel, |_, _| {}).await;
            drop(permit);
            let waited = outcome.as_ref().map(|o| o.read_your_writes_wait).ok();
            bar.inc(1);
            if let Ok(head) = store.head_position().await {
                let rate = (head.0 - start_head) as f64 / started.elapsed().as_secs_f64().max(1e-9);
                bar.set_message(format!("{} events, {rate:.0} events/s", head.0));
            }
            outcome.map(|_| waited)
        }));
    }
    let mut waits = Vec::new();
    for task in tasks {
        waits.extend(task.await.context("an episode task panicked")?.context("an episode failed")?);
    }
    waits.sort_unstable();
    bar.finish_and_clear();
    let head = store.head_position().await?.0;
    let took = started.elapsed().as_secs_f64();
    let added = head - start_head;
    println!(
        "{url}: {} episodes, {added} events in {took:.1} s ({:.0} events/s); log head {head}",
        args.episodes,
        added as f64 / took
    );
    if !waits.is_empty() {
        let at = |q: f64| crate::bench::percentile_ms(&waits, q);
        println!(
            "projection lag seen by clients (read-your-writes wait after each episode's last command): \
             p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            at(0.5),
            at(0.99),
            at(1.0)
        );
    }
    server.stop().await?;
    Ok(ExitCode::SUCCESS)
}
