//! `carelog-intake`: the IntakeService alone, for a deployment with one process per service.

use carelog_runtime::server::{self, StandaloneArgs};
use clap::Parser;

/// The shared standalone options plus the practice's late-entry threshold.
#[derive(Debug, Parser)]
#[command(name = "carelog-intake", about = "Carelog IntakeService")]
struct Args {
    #[command(flatten)]
    server: StandaloneArgs,
    /// Hours after an assessment was administered past which recording it is a late entry (1–720;
    /// the same setting as the SessionService's).
    #[arg(long, env = "CARELOG_LATE_ENTRY_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=720))]
    late_entry_hours: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let late_entry_after = chrono::Duration::hours(i64::from(args.late_entry_hours));
    server::run_standalone(args.server, "IntakeService", |router, health, store| {
        carelog_intake::mount_with(router, health, store, late_entry_after)
    })
    .await
}
