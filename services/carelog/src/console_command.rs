//! `carelog console`: the audit console on its own, in front of a records deployment (and its
//! proofs service) reached over gRPC, TLS or mutual TLS included. The console holds no token of
//! its own: each user signs in with theirs, and every page is read with it.

use std::process::ExitCode;

use carelog::connect::TlsClientArgs;

#[derive(Debug, clap::Args)]
pub struct ConsoleArgs {
    /// HTTP address to serve the console on (put TLS in front of it: a proxy or an ingress).
    #[arg(long, env = "CARELOG_CONSOLE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// The RecordsService: `http://HOST:PORT`, or `https://HOST:PORT` with --ca-cert.
    #[arg(long, env = "CARELOG_CONSOLE_RECORDS_URL", default_value = "http://127.0.0.1:50051")]
    records_url: String,
    /// The ProofService (checkpoints), when it is not served with the records (default: the same URL).
    #[arg(long, env = "CARELOG_CONSOLE_PROOFS_URL")]
    proofs_url: Option<String>,
    #[command(flatten)]
    tls: TlsClientArgs,
}

pub async fn run(args: ConsoleArgs) -> anyhow::Result<ExitCode> {
    let records = args.tls.endpoint(&args.records_url)?.connect_lazy();
    let proofs = match &args.proofs_url {
        Some(url) => args.tls.endpoint(url)?.connect_lazy(),
        None => records.clone(),
    };
    let console = carelog_console::start_with(args.listen, records, proofs).await?;
    eprintln!("audit console on {} reading {} (sign in with your own bearer token)", console.url(), args.records_url);
    carelog_runtime::server::shutdown_signal().await;
    console.stop().await?;
    Ok(ExitCode::SUCCESS)
}
