//! `carelog-records`: the RecordsService alone. Run several against one PostgreSQL: all serve
//! reads, one (elected through an advisory lock) runs the projection.

use carelog_records::{ProjectorArgs, RecordsConfig};
use carelog_runtime::server::{self, StandaloneArgs};
use clap::Parser;

/// The shared standalone options plus the projector's election settings.
#[derive(Debug, Parser)]
#[command(name = "carelog-records", about = "Carelog RecordsService")]
struct Args {
    #[command(flatten)]
    server: StandaloneArgs,
    #[command(flatten)]
    projector: ProjectorArgs,
    /// Also serve the audit console on this address; it reads from this process's gRPC port over
    /// plaintext loopback (so it needs a fixed --listen and --allow-plaintext).
    #[arg(long, env = "CARELOG_HTTP")]
    http: Option<std::net::SocketAddr>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (closing, closing_rx) = tokio::sync::watch::channel(false);
    let config = RecordsConfig {
        projector: args.projector.options(),
        closing: Some(closing_rx),
        read_store: args.projector.read_store.clone(),
        ..RecordsConfig::default()
    };
    let _console = match args.http {
        Some(addr) => {
            let grpc = args.server.listen;
            anyhow::ensure!(grpc.port() != 0, "--http needs a fixed --listen port for the console to call");
            anyhow::ensure!(args.server.security.tls.tls_cert.is_none(), "--http needs the gRPC port on plaintext");
            let console = carelog_console::start(addr, &carelog_console::local_grpc_url(grpc)).await?;
            carelog_runtime::telemetry::notice(false, &format!("audit console on {}", console.url()));
            Some(console)
        }
        None => None,
    };
    server::run_standalone_closing(args.server, "RecordsService", closing, |router, health, storage| {
        carelog_records::mount_with(router, health, storage.sealed, storage.stored.database, config)
    })
    .await
}
