//! `carelog-records`: the RecordsService (and the projection runner) alone.

use carelog_platform::server::{self, StandaloneArgs};
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    server::run_standalone_async(StandaloneArgs::parse(), "RecordsService", carelog_records::mount).await
}
