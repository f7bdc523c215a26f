//! `carelog-sessions`: the SessionService alone, for a deployment with one process per service.

use carelog_platform::server::{self, StandaloneArgs};
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    server::run_standalone(StandaloneArgs::parse(), "SessionService", carelog_sessions::mount).await
}
