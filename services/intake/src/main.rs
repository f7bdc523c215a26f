//! `carelog-intake`: the IntakeService alone, for a deployment with one process per service.

use carelog_platform::server::{self, StandaloneArgs};
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    server::run_standalone(StandaloneArgs::parse(), "IntakeService", carelog_intake::mount).await
}
