//! `carelog-billing`: the BillingService alone, for a deployment with one process per service.

use carelog_billing::BillingArgs;
use carelog_runtime::server::{self, StandaloneArgs};
use clap::Parser;

/// The shared standalone options plus the practice's billing configuration.
#[derive(Debug, Parser)]
#[command(name = "carelog-billing", about = "Carelog BillingService")]
struct Args {
    #[command(flatten)]
    server: StandaloneArgs,
    #[command(flatten)]
    billing: BillingArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = args.billing.config();
    server::run_standalone(args.server, "BillingService", |router, health, store| {
        carelog_billing::mount_with(router, health, store, config)
    })
    .await
}
