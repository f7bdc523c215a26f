//! `carelog-fhir`: the FHIR R4 server alone, beside the gRPC services, over the same store.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

use carelog_runtime::config::StoreArg;
use carelog_runtime::server::SecurityArgs;

/// Serves FHIR R4 (read, search, history, Bulk Data $export, SMART Backend Services) at http://ADDR/fhir.
#[derive(Debug, Parser)]
#[command(name = "carelog-fhir", version, about)]
struct Cli {
    #[command(flatten)]
    store: StoreArg,
    /// Address to serve FHIR on.
    #[arg(long, env = "CARELOG_FHIR_LISTEN", default_value = "127.0.0.1:8090")]
    listen: std::net::SocketAddr,
    #[command(flatten)]
    security: SecurityArgs,
    #[command(flatten)]
    fhir: carelog_fhir_server::FhirArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let _telemetry = match carelog_runtime::telemetry::init("carelog-fhir") {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let authenticator = cli.security.auth.authenticator()?;
    let (store, url) = cli.store.open().await?;
    let config = cli.fhir.config(authenticator)?;
    let server = carelog_fhir_server::start(cli.listen, store, config).await?;
    eprintln!("carelog FHIR R4 at {} (store {url}); stop with Ctrl-C", server.base);
    carelog_runtime::server::shutdown_signal().await;
    server.stop().await
}
