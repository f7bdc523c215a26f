//! Starting a gRPC server the same way in every binary: health, reflection, graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Server, ServerTlsConfig};
use tower_layer::{Identity, Stack};

use anyhow::Context;
use carelog_store::EventStore;
use tonic_health::server::HealthReporter;

use crate::config::{DEFAULT_LISTEN, ServiceStorage, StoreArg};
use crate::grpc_telemetry::GrpcTelemetryLayer;
use crate::server_setup::ServerSetupError;
use crate::telemetry;
use carelog_auth::{AuthArgs, AuthLayer, Authenticator};

/// Every Carelog router: each call gets a server span joined to the caller's trace, then is authenticated.
pub type Router = tonic::transport::server::Router<
    Stack<crate::frames::MalformedFramesLayer, Stack<AuthLayer, Stack<GrpcTelemetryLayer, Identity>>>,
>;

/// Largest request a service decodes, and largest reply it sends (a long episode's FHIR bundle).
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;
pub const MAX_REPLY_BYTES: usize = 64 * 1024 * 1024;

/// How a server protects itself: who may call, over what transport, and how much they may ask.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SecurityArgs {
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// TLS for the server; with a client CA, mutual TLS (clients must present a certificate it signed).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsArgs {
    /// PEM certificate chain the server presents.
    #[arg(long, env = "CARELOG_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of that certificate.
    #[arg(long, env = "CARELOG_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// PEM CA certificate that signs client certificates: turns on mutual TLS.
    #[arg(long, env = "CARELOG_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// Serve without TLS. Local use only.
    #[arg(long, env = "CARELOG_ALLOW_PLAINTEXT")]
    pub allow_plaintext: bool,
}

impl TlsArgs {
    /// The server's TLS settings, or `None` for plaintext (refused unless allowed).
    pub fn config(&self) -> Result<Option<ServerTlsConfig>, ServerSetupError> {
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            if !self.allow_plaintext {
                return Err(ServerSetupError::NoTls);
            }
            tracing::warn!("TLS is OFF (--allow-plaintext): traffic is readable on the network; local use only");
            crate::telemetry::notice(
                true,
                "warning: serving without TLS (--allow-plaintext); never expose this server",
            );
            return Ok(None);
        };
        let read = |path: &PathBuf, what: &'static str| {
            std::fs::read(path).map_err(|error| ServerSetupError::Read { what, path: path.clone(), error })
        };
        let mut config = ServerTlsConfig::new()
            .identity(tonic::transport::Identity::from_pem(read(cert, "TLS certificate")?, read(key, "TLS key")?));
        if let Some(ca) = &self.tls_client_ca {
            config = config.client_ca_root(tonic::transport::Certificate::from_pem(read(ca, "client CA")?));
        }
        Ok(Some(config))
    }
}

/// Bounds on what one caller can hold.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// Longest a unary call may run, whatever deadline the caller sets.
    #[arg(long, env = "CARELOG_REQUEST_TIMEOUT_SECONDS", default_value_t = 30)]
    pub request_timeout_seconds: u64,
    /// Concurrent calls (HTTP/2 streams) one connection may have open.
    #[arg(long, env = "CARELOG_MAX_STREAMS_PER_CONNECTION", default_value_t = 128)]
    pub max_streams_per_connection: u32,
    /// HTTP/2 PING sent after this many seconds without a frame from the peer; a peer that does
    /// not answer within `keepalive_timeout_seconds` is disconnected (a half-open connection
    /// whose client vanished is closed instead of held for ever). 1–3600.
    #[arg(long, env = "CARELOG_KEEPALIVE_INTERVAL_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub keepalive_interval_seconds: u64,
    /// How long a PING may go unanswered. 1–600.
    #[arg(long, env = "CARELOG_KEEPALIVE_TIMEOUT_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub keepalive_timeout_seconds: u64,
    /// A connection is asked to close (GOAWAY) after this many seconds, idle or not, and cut a
    /// minute later if calls still run: idle connections never pile up, and clients spread over
    /// replicas as they reconnect (Subscribe resumes from its last position). 60–86400.
    #[arg(long, env = "CARELOG_MAX_CONNECTION_AGE_SECONDS", default_value_t = 1800,
          value_parser = clap::value_parser!(u64).range(60..=86_400))]
    pub max_connection_age_seconds: u64,
}

impl Default for LimitArgs {
    fn default() -> Self {
        Self {
            request_timeout_seconds: 30,
            max_streams_per_connection: 128,
            keepalive_interval_seconds: 30,
            keepalive_timeout_seconds: 10,
            max_connection_age_seconds: 1800,
        }
    }
}

/// How long a connection past its age may finish its calls before it is cut.
const CONNECTION_AGE_GRACE: Duration = Duration::from_secs(60);

/// Everything `router` needs, resolved from the arguments.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub authenticator: Authenticator,
    pub tls: Option<ServerTlsConfig>,
    pub limits: LimitArgs,
}

impl ServerSettings {
    pub fn from_args(args: &SecurityArgs) -> Result<Self, ServerSetupError> {
        Ok(Self { authenticator: args.auth.authenticator()?, tls: args.tls.config()?, limits: args.limits.clone() })
    }

    /// Plaintext on loopback with the given authenticator: the embedded demo and tests.
    pub fn local(authenticator: Authenticator) -> Self {
        Self { authenticator, tls: None, limits: LimitArgs::default() }
    }
}

/// Plaintext and self-named callers: what code that embeds a server for itself gets unless it says
/// otherwise. The command line never falls back to it: `carelog serve` needs explicit flags.
impl Default for ServerSettings {
    fn default() -> Self {
        Self::local(Authenticator::Anonymous)
    }
}

/// A router with grpc.health.v1 and server reflection (v1 and v1alpha) already mounted.
pub fn router(settings: &ServerSettings) -> Result<(Router, HealthReporter), ServerSetupError> {
    let (reporter, health) = tonic_health::server::health_reporter();
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(carelog_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(carelog_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let limits = &settings.limits;
    let mut builder = Server::builder()
        .timeout(Duration::from_secs(limits.request_timeout_seconds))
        .max_concurrent_streams(limits.max_streams_per_connection)
        .http2_keepalive_interval(Some(Duration::from_secs(limits.keepalive_interval_seconds)))
        .http2_keepalive_timeout(Some(Duration::from_secs(limits.keepalive_timeout_seconds)))
        .max_connection_age(Duration::from_secs(limits.max_connection_age_seconds))
        .max_connection_age_grace(CONNECTION_AGE_GRACE);
    if let Some(tls) = &settings.tls {
        builder = builder.tls_config(tls.clone()).map_err(ServerSetupError::Tls)?;
    }
    let router = builder
        .layer(GrpcTelemetryLayer)
        .layer(AuthLayer::new(settings.authenticator.clone()))
        .layer(crate::frames::MalformedFramesLayer)
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

/// Serves until `shutdown` resolves, then finishes in-flight calls, with the default limits.
pub async fn serve(
    router: Router,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    serve_with(router, listener, LimitArgs::default(), shutdown).await
}

/// [`serve`] with the connection limits the router was built with: TCP keepalive probes, and a
/// connection whose peer says nothing for two keepalive intervals and a timeout is closed
/// ([`crate::idle`]).
pub async fn serve_with(
    router: Router,
    listener: TcpListener,
    limits: LimitArgs,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let every = Duration::from_secs(limits.keepalive_interval_seconds);
    let idle = every * 2 + Duration::from_secs(limits.keepalive_timeout_seconds);
    // Small gRPC frames must leave at once: with Nagle's algorithm on, a reply waits for the peer's
    // delayed ACK and every call costs ~40 ms.
    let connections = TcpListenerStream::new(listener).map(move |accepted| {
        accepted.map(|stream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::warn!(%error, "could not disable Nagle's algorithm on a connection");
            }
            if let Err(error) = crate::idle::tcp_keepalive(&stream, every) {
                tracing::warn!(%error, "could not turn on TCP keepalive on a connection");
            }
            crate::idle::IdleTimeout::new(stream, idle)
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
    #[command(flatten)]
    pub security: SecurityArgs,
}

/// Runs one service until Ctrl-C/SIGTERM: opens the store, mounts the service, serves.
pub async fn run_standalone(
    args: StandaloneArgs,
    name: &str,
    mount: impl FnOnce(Router, &HealthReporter, Arc<dyn EventStore>) -> Router,
) -> anyhow::Result<()> {
    run_standalone_async(
        args,
        name,
        |router, health, storage| async move { Ok(mount(router, &health, storage.sealed)) },
    )
    .await
}

/// `run_standalone` for a service whose mounting does I/O (e.g. migrating its read models).
pub async fn run_standalone_async<F: Future<Output = anyhow::Result<Router>>>(
    args: StandaloneArgs,
    name: &str,
    mount: impl FnOnce(Router, HealthReporter, ServiceStorage) -> F,
) -> anyhow::Result<()> {
    run_standalone_closing(args, name, tokio::sync::watch::channel(false).0, mount).await
}

/// `run_standalone_async` that also tells long-lived calls (log subscriptions) when shutdown begins
/// through `closing`, so they end with a resume position instead of holding the server open.
pub async fn run_standalone_closing<F: Future<Output = anyhow::Result<Router>>>(
    args: StandaloneArgs,
    name: &str,
    closing: tokio::sync::watch::Sender<bool>,
    mount: impl FnOnce(Router, HealthReporter, ServiceStorage) -> F,
) -> anyhow::Result<()> {
    let _telemetry = telemetry::init(name)?;
    let storage = args.store.open_sealed().await?;
    let url = storage.url.clone();
    let settings = ServerSettings::from_args(&args.security)?;
    let (router, reporter) = router(&settings)?;
    let router = mount(router, reporter, storage).await?;
    let (listener, addr) = bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(service = name, %addr, store = %url, "serving");
    crate::telemetry::notice(false, &format!("{name} listening on {addr} (store {url})"));
    serve_with(router, listener, settings.limits.clone(), async move {
        shutdown_signal().await;
        let _ = closing.send(true);
    })
    .await?;
    Ok(())
}
