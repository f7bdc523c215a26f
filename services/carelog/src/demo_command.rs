//! `carelog demo`: the demo episode against a running server, or an embedded one it starts itself.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use carelog_store::{EventStore, SqliteStore, VerifyScope};
use tonic::transport::Channel;

use carelog::demo;
use carelog_auth::token::{DEFAULT_AUDIENCE, DEFAULT_ISSUER};
use carelog_auth::{Authenticator, Credentials, TokenIssuer, TokenVerifier};
use carelog_runtime::server::ServerSettings;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// A running Carelog server (e.g. http://127.0.0.1:50051); default: start one on a temporary SQLite file.
    #[arg(long)]
    server: Option<String>,
    #[command(flatten)]
    tls: carelog::connect::TlsClientArgs,
    /// Afterwards keep the embedded server running and serve the audit console on this address
    /// (e.g. 127.0.0.1:8080), printing ready sign-in tokens; stop with Ctrl-C.
    #[arg(long, conflicts_with = "server")]
    http: Option<std::net::SocketAddr>,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let (channel, embedded, credentials) = match &args.server {
        Some(url) => {
            let channel = args.tls.connect(url).await?;
            (channel, None, Credentials::from_env()?)
        }
        None => {
            let dir = tempfile::tempdir().context("creating a temporary directory")?;
            let path = dir.path().join("demo.db");
            let stored = carelog_store::OpenedStore::sqlite(SqliteStore::open(&path).await?);
            let url = carelog_store::StoreUrl::Sqlite(path.clone());
            let sealed = carelog_runtime::config::seal_store(&stored, &url, None).await?;
            let records = carelog_records::RecordsConfig {
                search_key: Some(carelog::app::search_key_of(&sealed)),
                ..Default::default()
            };
            let store: Arc<dyn EventStore> = sealed;
            let app_store = carelog::app::AppStore { log: Arc::clone(&store), stored };
            // Authentication stays on: the embedded server trusts a secret only this process knows,
            // and the demo's callers carry tokens minted from it.
            let secret = hex::encode(rand::random::<[u8; 32]>());
            let verifier = TokenVerifier::hs256(secret.as_bytes(), DEFAULT_ISSUER, DEFAULT_AUDIENCE)
                .map_err(anyhow::Error::msg)?;
            let issuer =
                TokenIssuer::hs256(secret.as_bytes(), DEFAULT_ISSUER, DEFAULT_AUDIENCE).map_err(anyhow::Error::msg)?;
            let config = carelog::app::AppConfig {
                server: ServerSettings::local(Authenticator::Tokens(Box::new(verifier))),
                proofs: Some(carelog::app::tool_proofs()?),
                records,
                ..Default::default()
            };
            let server = carelog::app::start_with(app_store, "127.0.0.1:0".parse()?, config).await?;
            println!("embedded Carelog server on {} (SQLite file {})", server.addr, path.display());
            println!(
                "authentication on: the front desk, the clinician and the biller call with their own tokens; \
                 every read of the record is logged"
            );
            let channel = Channel::from_shared(server.url())?.connect().await?;
            (channel, Some((dir, store, server)), Credentials::Issuer(issuer.clone()))
        }
    };
    println!("driving one outpatient care episode through the gRPC API …\n");
    let outcome = demo::run_with(demo::Channels::from(channel), &credentials, |step, receipt| {
        println!(
            "  {step:<48} {:<44} rev {:>2}  pos {:>3}{}",
            receipt.stream,
            receipt.revision,
            receipt.position,
            if receipt.already_applied { "  (already applied)" } else { "" }
        );
    })
    .await?;
    println!(
        "\nclient   {}\nplan     plan-{}\naccount  account-{}",
        outcome.client_id, outcome.plan_id, outcome.account_id
    );
    println!("\nevents appended, by type:");
    for (event_type, count) in outcome.event_counts() {
        println!("  {count:>3}  {event_type}");
    }
    let view = &outcome.episode;
    println!(
        "\nthe record as the RecordsService serves it: {} sessions, {} consents, {} assessments, {} diagnosis, \
         balance ${:.2}",
        view.sessions.len(),
        view.consents.len(),
        view.assessments.len(),
        view.diagnoses.len(),
        outcome.balance_cents as f64 / 100.0
    );
    let commands = outcome.receipts.len();
    println!(
        "\n{commands} commands, log head at position {} in {:.1} s",
        outcome.last_position(),
        started.elapsed().as_secs_f64()
    );
    if let Some((_dir, store, server)) = embedded {
        if let (Some(http), Credentials::Issuer(issuer)) = (args.http, &credentials) {
            serve_console(http, &server, issuer, &outcome).await?;
        }
        let report = store.verify(&VerifyScope::All, &|_| {}).await?;
        server.stop().await?;
        if !report.is_intact() {
            println!("hash chains BROKEN: {:?}", report.first_problem());
            return Ok(ExitCode::FAILURE);
        }
        println!("hash chains verified: {} events in {} streams intact", report.events_checked, report.streams_checked);
    }
    Ok(ExitCode::SUCCESS)
}

/// Serves the audit console over the embedded server until Ctrl-C, with tokens to sign in.
async fn serve_console(
    http: std::net::SocketAddr,
    server: &carelog::app::RunningServer,
    issuer: &TokenIssuer,
    outcome: &demo::Outcome,
) -> anyhow::Result<()> {
    use carelog_auth::Role;
    let console = carelog_console::start(http, &server.url()).await?;
    let valid = std::time::Duration::from_secs(12 * 3600);
    let clinician = uuid::Uuid::parse_str(&outcome.clinician_id).unwrap_or_else(|_| uuid::Uuid::now_v7());
    println!("\naudit console: {}  (open it in a browser, paste a token, open the client)", console.url());
    println!("client id: {}", outcome.client_id);
    for (label, subject, role) in [
        ("an auditor", uuid::Uuid::now_v7(), Role::Auditor),
        ("a biller (note text withheld)", uuid::Uuid::now_v7(), Role::Biller),
        ("the client's clinician", clinician, Role::Clinician),
    ] {
        println!("\ntoken for {label}, valid 12 h:\n{}", issuer.mint(subject, role, None, valid));
    }
    println!("\nserving until Ctrl-C …");
    carelog_runtime::server::shutdown_signal().await;
    console.stop().await
}
