//! `carelog-sessions`: the SessionService alone, for a deployment with one process per service.

use carelog_runtime::server::{self, StandaloneArgs};
use carelog_sessions::SessionsArgs;
use clap::Parser;

/// The shared standalone options plus the practice's session settings.
#[derive(Debug, Parser)]
#[command(name = "carelog-sessions", about = "Carelog SessionService")]
struct Args {
    #[command(flatten)]
    server: StandaloneArgs,
    #[command(flatten)]
    sessions: SessionsArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let settings = args.sessions.config();
    server::run_standalone(args.server, "SessionService", |router, health, store| {
        carelog_sessions::mount_with(router, health, store, settings)
    })
    .await
}
