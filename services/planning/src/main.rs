//! `carelog-planning`: the TreatmentPlanningService alone, for a deployment with one process per service.

use anyhow::Context;
use carelog_planning::PlanningConfig;
use carelog_runtime::server::{self, StandaloneArgs};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "carelog-planning", about = "Serves the Carelog TreatmentPlanningService")]
struct Args {
    #[command(flatten)]
    standalone: StandaloneArgs,
    /// Days from signing (or a `continue` review) until the next plan review is due, 7 to 365.
    #[arg(
        long,
        env = "CARELOG_PLAN_REVIEW_DAYS",
        default_value_t = 90,
        value_parser = clap::value_parser!(u32).range(7..=365)
    )]
    review_interval_days: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = PlanningConfig::review_every_days(args.review_interval_days).context("--review-interval-days")?;
    server::run_standalone(args.standalone, "TreatmentPlanningService", move |router, health, store| {
        carelog_planning::mount_with(router, health, store, config)
    })
    .await
}
