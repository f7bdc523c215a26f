//! `carelog`: the all-in-one binary and CLI.

#![forbid(unsafe_code)]

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
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let outcome = match cli.command {
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
