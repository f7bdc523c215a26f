//! `carelog`: the all-in-one binary and CLI.

#![forbid(unsafe_code)]

mod demo_command;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use carelog_platform::config::StoreArg;

/// Carelog: event-sourced clinical records for outpatient psychotherapy.
#[derive(Debug, Parser)]
#[command(name = "carelog", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serves every service in one process (the embedded SQLite file by default).
    Serve {
        #[command(flatten)]
        store: StoreArg,
        /// Address to serve gRPC on.
        #[arg(long, env = "CARELOG_LISTEN", default_value = carelog_platform::config::DEFAULT_LISTEN)]
        listen: std::net::SocketAddr,
    },
    /// Drives one realistic care episode through the gRPC API (an embedded server unless --server is given).
    Demo(demo_command::DemoArgs),
    /// Creates or upgrades the event store schema (also done on every start).
    Migrate {
        #[command(flatten)]
        store: StoreArg,
    },
    /// Recomputes every hash chain; exits non-zero and names the broken stream and position if a row was altered.
    Verify(verify::VerifyArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    carelog_platform::config::init_tracing();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Serve { store, listen } => serve(store, listen).await,
        Command::Demo(args) => demo_command::run(args).await,
        Command::Migrate { store } => migrate(store).await,
        Command::Verify(args) => verify::run(args).await,
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn migrate(store: StoreArg) -> anyhow::Result<ExitCode> {
    let url = store.url()?;
    let opened = carelog_store::open(&url).await?;
    let head = opened.head_position().await?;
    println!("{url}: schema up to date ({} backend, {head} events)", opened.backend_name());
    Ok(ExitCode::SUCCESS)
}

async fn serve(store: StoreArg, listen: std::net::SocketAddr) -> anyhow::Result<ExitCode> {
    let url = store.url()?;
    let opened = carelog_store::open(&url).await?;
    let server = carelog::app::start(opened, listen).await?;
    eprintln!("carelog serving intake, planning, sessions and billing on {} (store {url})", server.addr);
    eprintln!("health: grpc.health.v1.Health; reflection: grpc.reflection.v1; stop with Ctrl-C");
    carelog_platform::server::shutdown_signal().await;
    server.stop().await?;
    Ok(ExitCode::SUCCESS)
}
