//! `carelog`: the all-in-one binary and CLI.

#![forbid(unsafe_code)]

mod audit_diff;
mod audit_find;
mod audit_report;
mod bench;
mod bench_load;
mod console_command;
mod demo_command;
mod projections_cli;
mod proofs_cli;
mod records_cli;
mod seed;
mod token_command;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use carelog_runtime::config::StoreArg;

/// mimalloc instead of glibc's allocator: folding and decoding make many short-lived strings and
/// maps on several threads, where glibc's arena consolidation took a quarter of a rebuild's samples.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Carelog: event-sourced clinical records for outpatient psychotherapy.
#[derive(Debug, Parser)]
#[command(name = "carelog", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start and matched once: `serve`'s many flags make its variant large, which costs nothing here.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Serves every service in one process (the embedded SQLite file by default).
    Serve {
        #[command(flatten)]
        store: StoreArg,
        /// Address to serve gRPC on.
        #[arg(long, env = "CARELOG_LISTEN", default_value = carelog_runtime::config::DEFAULT_LISTEN)]
        listen: std::net::SocketAddr,
        /// Days from signing (or a `continue` review) until a treatment plan's next review is due.
        #[arg(long, env = "CARELOG_PLAN_REVIEW_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(7..=365))]
        review_interval_days: u32,
        #[command(flatten)]
        sessions: carelog_sessions::SessionsArgs,
        #[command(flatten)]
        billing: carelog_billing::BillingArgs,
        #[command(flatten)]
        projector: carelog_records::ProjectorArgs,
        #[command(flatten)]
        security: carelog_runtime::server::SecurityArgs,
        /// Also serve the audit console (a read-only web view of care episodes) on this address.
        #[arg(long, env = "CARELOG_HTTP")]
        http: Option<std::net::SocketAddr>,
        #[command(flatten)]
        fhir: Box<FhirFlags>,
        /// Development only: with no signing key configured, sign checkpoints with a key made at
        /// start and never written (PostgreSQL refuses to start without a key otherwise). Every
        /// start then records a new key, which auditors' witnesses refuse.
        #[arg(long)]
        dev_ephemeral_signing_key: bool,
    },
    /// Serves the audit console on its own, reading a records server over gRPC (TLS optional).
    Console(console_command::ConsoleArgs),
    /// Mints a bearer token from the configured shared secret (CARELOG_AUTH_SECRET), for local use.
    Token(token_command::TokenArgs),
    /// Drives one realistic care episode through the gRPC API (an embedded server unless --server is given).
    Demo(demo_command::DemoArgs),
    /// Creates or upgrades the event store schema (also done on every start).
    Migrate {
        #[command(flatten)]
        store: StoreArg,
    },
    /// Prints a client's record (now, or as it stood at a log position or RFC 3339 time) as JSON.
    Episode {
        #[command(flatten)]
        server: records_cli::ServerArg,
        #[arg(long)]
        client: String,
        /// The record as it stood then ("as recorded"): a log position (42) or a recorded time
        /// (2026-11-21T09:30:00Z).
        #[arg(long, visible_alias = "as-of-recorded", conflicts_with = "as_of_clinical")]
        as_of: Option<String>,
        /// Everything that had occurred by this clinical time or date (2026-11-21 = by the end of
        /// that day, UTC), as known now, late entries included.
        #[arg(long)]
        as_of_clinical: Option<String>,
    },
    /// A client's audit trail (`--client ID`), or the tamper-evident log: `witness`, `prove`,
    /// `checkpoint`, the offline `check`, `verify-tree`.
    Audit(proofs_cli::AuditArgs),
    /// Makes an Ed25519 key pair for signing checkpoints (FILE and FILE.pub).
    Keygen(proofs_cli::KeygenArgs),
    /// Erase a client's PHI (crypto-shredding): refused under a legal hold, with an open
    /// episode, or inside the retention period; hashes and proofs keep verifying.
    Erase(carelog::erase::EraseArgs),
    /// Follows the log live (after a position), optionally filtered by category or event type.
    Tail {
        #[command(flatten)]
        server: records_cli::ServerArg,
        #[arg(long, default_value_t = 0)]
        from: u64,
        #[arg(long = "category")]
        categories: Vec<String>,
        #[arg(long = "type")]
        types: Vec<String>,
    },
    /// Load over real gRPC (an embedded server unless --server), optionally against the raw PostgreSQL baseline.
    Bench(bench::BenchArgs),
    /// Fills a store with complete demo episodes through the gRPC API (for benchmarks).
    Seed(seed::SeedArgs),
    /// Rebuilds the read models from position 0 beside the live ones, then swaps them in.
    Rebuild {
        #[command(flatten)]
        store: StoreArg,
    },
    /// The read models: `status` shows the checkpoint and every quarantined event.
    Projections {
        #[command(subcommand)]
        command: projections_cli::ProjectionsCommand,
    },
    /// Exports FHIR R4: one client's episode as a Bundle, or the whole practice as NDJSON.
    Export {
        #[command(subcommand)]
        command: carelog::export::ExportCommand,
    },
    /// Recomputes every hash chain; exits non-zero and names the broken stream and position if a row was altered.
    Verify(verify::VerifyArgs),
}

/// `serve --fhir ADDR` and the FHIR server's settings.
#[derive(Debug, clap::Args)]
struct FhirFlags {
    /// Also serve FHIR R4 (REST, Bulk Data $export, SMART Backend Services) at http://ADDR/fhir.
    #[arg(long, env = "CARELOG_FHIR")]
    fhir: Option<std::net::SocketAddr>,
    #[command(flatten)]
    args: carelog_fhir_server::FhirArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Held to the end of `main`: dropping it flushes buffered spans and metrics.
    let _telemetry = match carelog_runtime::telemetry::init("carelog") {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match cli.command {
        Command::Serve {
            store,
            listen,
            review_interval_days,
            sessions,
            billing,
            projector,
            security,
            http,
            fhir,
            dev_ephemeral_signing_key,
        } => {
            let FhirFlags { fhir, args } = *fhir;
            let fhir = fhir.map(|addr| (addr, args));
            let proofs = carelog_proofs::ProofsConfig::from_env().map(|mut proofs| {
                proofs.dev_ephemeral |= dev_ephemeral_signing_key;
                proofs
            });
            match proofs {
                Ok(proofs) => {
                    let practice = Practice { review_interval_days, sessions, billing };
                    serve(store, listen, practice, projector, security, http, fhir, proofs).await
                }
                Err(error) => Err(error),
            }
        }
        Command::Console(args) => console_command::run(args).await,
        Command::Token(args) => token_command::run(args),
        Command::Demo(args) => demo_command::run(args).await,
        Command::Migrate { store } => migrate(store).await,
        Command::Verify(args) => verify::run(args).await,
        Command::Episode { server, client, as_of, as_of_clinical } => {
            let as_of = match (as_of, as_of_clinical) {
                (Some(raw), _) => Some(records_cli::AsOfArg::Recorded(raw)),
                (None, Some(raw)) => Some(records_cli::AsOfArg::Clinical(raw)),
                (None, None) => None,
            };
            records_cli::episode(server, client, as_of).await
        }
        Command::Audit(args) => proofs_cli::audit(args).await,
        Command::Keygen(args) => proofs_cli::keygen(args),
        Command::Erase(args) => carelog::erase::run(args).await,
        Command::Tail { server, from, categories, types } => records_cli::tail(server, from, categories, types).await,
        Command::Rebuild { store } => records_cli::rebuild(store).await,
        Command::Projections { command } => projections_cli::run(command).await,
        Command::Seed(args) => seed::run(args).await,
        Command::Export { command } => carelog::export::run(command).await,
        Command::Bench(args) => bench::run(args).await,
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
    let (opened, url) = store.open().await?;
    let head = opened.head_position().await?;
    println!("{url}: schema up to date ({} backend, {head} events)", opened.backend_name());
    Ok(ExitCode::SUCCESS)
}

/// The practice's settings `serve` was given.
struct Practice {
    review_interval_days: u32,
    sessions: carelog_sessions::SessionsArgs,
    billing: carelog_billing::BillingArgs,
}

#[allow(clippy::too_many_arguments)]
async fn serve(
    store: StoreArg,
    listen: std::net::SocketAddr,
    practice: Practice,
    projector: carelog_records::ProjectorArgs,
    security: carelog_runtime::server::SecurityArgs,
    http: Option<std::net::SocketAddr>,
    fhir: Option<(std::net::SocketAddr, carelog_fhir_server::FhirArgs)>,
    proofs: carelog_proofs::ProofsConfig,
) -> anyhow::Result<ExitCode> {
    let server = carelog_runtime::server::ServerSettings::from_args(&security)?;
    anyhow::ensure!(
        http.is_none() || server.tls.is_none(),
        "--http: the console reaches the gRPC services over plaintext loopback; run it with --allow-plaintext \
         (and put TLS in front of the console), or run it beside a TLS server with `carelog-records --http`"
    );
    let storage = store.open_sealed().await?;
    let url = storage.url.clone();
    let search_key = Some(carelog::app::search_key_of(&storage.sealed));
    let opened = carelog::app::AppStore::from(&storage);
    let fhir_store = std::sync::Arc::clone(&opened.log);
    let fhir_config =
        fhir.map(|(addr, args)| args.config(server.authenticator.clone()).map(|c| (addr, c))).transpose()?;
    let config = carelog::app::AppConfig {
        planning: carelog_planning::PlanningConfig::review_every_days(practice.review_interval_days)
            .map_err(|e| anyhow::anyhow!("--review-interval-days: {}", e.reason))?,
        sessions: practice.sessions.config(),
        billing: practice.billing.config(),
        records: carelog_records::RecordsConfig {
            projector: projector.options(),
            read_store: projector.read_store.clone(),
            search_key,
            ..Default::default()
        },
        server,
        proofs: Some(proofs),
    };
    let server = carelog::app::start_with(opened, listen, config).await?;
    eprintln!("carelog serving intake, planning, sessions, billing and records on {} (store {url})", server.addr);
    eprintln!("health: grpc.health.v1.Health; reflection: grpc.reflection.v1; stop with Ctrl-C");
    let console = match http {
        Some(addr) => {
            let console = carelog_console::start(addr, &carelog_console::local_grpc_url(server.addr)).await?;
            eprintln!("audit console on {} (sign in with a token from `carelog token --role auditor`)", console.url());
            Some(console)
        }
        None => None,
    };
    let fhir = match fhir_config {
        Some((addr, config)) => {
            let fhir = carelog_fhir_server::start(addr, fhir_store, config).await?;
            eprintln!("FHIR R4 at {} (metadata: {}/metadata)", fhir.base, fhir.base);
            Some(fhir)
        }
        None => None,
    };
    carelog_runtime::server::shutdown_signal().await;
    if let Some(fhir) = fhir {
        fhir.stop().await?;
    }
    if let Some(console) = console {
        console.stop().await?;
    }
    server.stop().await?;
    Ok(ExitCode::SUCCESS)
}
