//! `carelog demo`: the demo episode against a running server, or an embedded one it starts itself.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use carelog_store::{EventStore, SqliteStore, VerifyScope};
use tonic::transport::Channel;

use carelog::demo;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// A running Carelog server (e.g. http://127.0.0.1:50051); default: start one on a temporary SQLite file.
    #[arg(long)]
    server: Option<String>,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let (channel, embedded) = match &args.server {
        Some(url) => {
            let channel = Channel::from_shared(url.clone())
                .context("--server must be a URL like http://127.0.0.1:50051")?
                .connect()
                .await
                .with_context(|| format!("cannot reach {url}; is `carelog serve` running there?"))?;
            (channel, None)
        }
        None => {
            let dir = tempfile::tempdir().context("creating a temporary directory")?;
            let path = dir.path().join("demo.db");
            let store: Arc<dyn EventStore> = Arc::new(SqliteStore::open(&path).await?);
            let server = carelog::app::start(Arc::clone(&store), "127.0.0.1:0".parse()?).await?;
            println!("embedded Carelog server on {} (SQLite file {})", server.addr, path.display());
            let channel = Channel::from_shared(server.url())?.connect().await?;
            (channel, Some((dir, store, server)))
        }
    };
    println!("driving one outpatient care episode through the gRPC API …\n");
    let outcome = demo::run(channel, |step, receipt| {
        println!(
            "  {step:<48} {:<44} rev {:>2}  pos {:>3}{}",
            receipt.stream,
            receipt.revision,
            receipt.position,
            if receipt.already_applied { "  (already applied)" } else { "" }
        );
    })
    .await?;
    println!(
        "\nclient   {}\nplan     plan-{}\naccount  account-{}",
        outcome.client_id, outcome.plan_id, outcome.account_id
    );
    println!("\nevents appended, by type:");
    for (event_type, count) in outcome.event_counts() {
        println!("  {count:>3}  {event_type}");
    }
    let view = &outcome.episode;
    let count = |key: &str| view[key].as_array().map_or(0, Vec::len);
    println!(
        "\nthe record as the RecordsService serves it: {} sessions, {} consents, {} assessments, {} diagnosis, \
         balance ${:.2}",
        count("sessions"),
        count("consents"),
        count("assessments"),
        count("diagnoses"),
        outcome.balance_cents as f64 / 100.0
    );
    let commands = outcome.receipts.len();
    println!(
        "\n{commands} commands, log head at position {} in {:.1} s",
        outcome.last_position(),
        started.elapsed().as_secs_f64()
    );
    if let Some((_dir, store, server)) = embedded {
        let report = store.verify(&VerifyScope::All, &|_| {}).await?;
        server.stop().await?;
        if !report.is_intact() {
            println!("hash chains BROKEN: {:?}", report.first_problem());
            return Ok(ExitCode::FAILURE);
        }
        println!("hash chains verified: {} events in {} streams intact", report.events_checked, report.streams_checked);
    }
    Ok(ExitCode::SUCCESS)
}
