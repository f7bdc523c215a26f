//! Starting a gRPC server the same way in every binary: health, reflection, graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;

use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;
use tower_layer::{Identity, Stack};

use anyhow::Context;
use carelog_store::EventStore;
use tonic_health::server::HealthReporter;

use crate::config::{DEFAULT_LISTEN, StoreArg};
use crate::grpc_telemetry::GrpcTelemetryLayer;
use crate::telemetry;

/// Every Carelog router: each call gets a server span joined to the caller's trace.
pub type Router = tonic::transport::server::Router<Stack<GrpcTelemetryLayer, Identity>>;

/// A router with grpc.health.v1 and server reflection (v1 and v1alpha) already mounted.
pub fn router() -> Result<(Router, HealthReporter), tonic_reflection::server::Error> {
    let (reporter, health) = tonic_health::server::health_reporter();
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(carelog_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(carelog_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let router = Server::builder()
        .layer(GrpcTelemetryLayer)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    Ok((router, reporter))
}

/// Binds `addr` (port 0 picks a free port) and reports the address actually bound.
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Serves until `shutdown` resolves, then finishes in-flight calls.
pub async fn serve(
    router: Router,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    // Small gRPC frames must leave at once: with Nagle's algorithm on, a reply waits for the peer's
    // delayed ACK and every call costs ~40 ms.
    let connections = TcpListenerStream::new(listener).map(|accepted| {
        accepted.inspect(|stream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::warn!(%error, "could not disable Nagle's algorithm on a connection");
            }
        })
    });
    router.serve_with_incoming_shutdown(connections, shutdown).await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// The command line of a single-service binary (`carelog-intake`, …).
#[derive(Debug, clap::Parser)]
pub struct StandaloneArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// Address to serve gRPC on.
    #[arg(long, env = "CARELOG_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
}

/// Runs one service until Ctrl-C/SIGTERM: opens the store, mounts the service, serves.
pub async fn run_standalone(
    args: StandaloneArgs,
    name: &str,
    mount: impl FnOnce(Router, &HealthReporter, Arc<dyn EventStore>) -> Router,
) -> anyhow::Result<()> {
    run_standalone_async(args, name, |router, health, store| async move { Ok(mount(router, &health, store)) }).await
}

/// `run_standalone` for a service whose mounting does I/O (e.g. migrating its read models).
pub async fn run_standalone_async<F: Future<Output = anyhow::Result<Router>>>(
    args: StandaloneArgs,
    name: &str,
    mount: impl FnOnce(Router, HealthReporter, Arc<dyn EventStore>) -> F,
) -> anyhow::Result<()> {
    let _telemetry = telemetry::init(name)?;
    let url = args.store.url()?;
    let store = carelog_store::open(&url).await.with_context(|| format!("opening the event store at {url}"))?;
    let (router, reporter) = router()?;
    let router = mount(router, reporter, store).await?;
    let (listener, addr) = bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(service = name, %addr, store = %url, "serving");
    eprintln!("{name} listening on {addr} (store {url})");
    serve(router, listener, shutdown_signal()).await?;
    Ok(())
}
