//! `carelog verify`: the auditor's check that no row was edited, deleted or reordered.

use std::process::ExitCode;
use std::time::Instant;

use carelog_store::{VerifyProgress, VerifyScope};
use indicatif::{ProgressBar, ProgressStyle};

use carelog_runtime::config::StoreArg;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    store: StoreArg,
    /// Verify only these streams (e.g. one client's `client-…` stream); default: the whole log.
    #[arg(long = "stream")]
    streams: Vec<String>,
}

pub async fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let url = args.store.url()?;
    let store = carelog_store::open(&url).await?.log;
    let scope = if args.streams.is_empty() { VerifyScope::All } else { VerifyScope::Streams(args.streams) };
    let bar = ProgressBar::new(store.head_position().await?.0);
    bar.set_style(
        ProgressStyle::with_template("verifying {bar:40} {pos}/{len} events ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let report = store
        .verify(&scope, &|p: VerifyProgress| {
            bar.set_length(p.head.0.max(p.checked));
            bar.set_position(p.checked);
        })
        .await?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let rate = report.events_checked as f64 / seconds.max(1e-9);
    if report.is_intact() {
        println!(
            "{url}: intact — {} events in {} streams verified in {seconds:.2} s ({rate:.0} events/s)",
            report.events_checked, report.streams_checked
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("{url}: TAMPERED — {} problem(s) in {} events checked", report.problems.len(), report.events_checked);
    if let Some(first) = report.first_problem() {
        println!("first break: {first}");
    }
    for problem in report.problems.iter().take(20) {
        println!("  {problem}");
    }
    println!("restore the database from a backup taken before the first break, then run `carelog verify` again");
    Ok(ExitCode::from(2))
}
