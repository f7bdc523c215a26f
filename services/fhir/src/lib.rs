//! Carelog's FHIR R4 server for EHR connectors, at `http://ADDR/fhir`: read, search and
//! `$everything` over the same mapping as `ExportEpisodeFhir` (`carelog-fhir`), errors as
//! OperationOutcomes, authenticated with Carelog bearer tokens (or SMART Backend Services access
//! tokens), and every read through the read gate and the access log ([`gate`]).

#![forbid(unsafe_code)]

mod auth;
pub mod bulk;
mod capability;
mod config;
pub mod gate;
mod history;
pub mod outcome;
mod patients;
mod records;
mod routes;
pub mod search;
pub mod smart;
mod token;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use carelog_auth::Authenticator;
use carelog_store::EventStore;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use auth::Auth;
pub use config::FhirArgs;
use outcome::{FhirError, fhir_json};

/// What the FHIR server needs besides its store.
#[derive(Debug, Clone)]
pub struct FhirConfig {
    /// How callers authenticate (the gRPC server's authenticator).
    pub authenticator: Authenticator,
    /// The public base URL (`https://ehr-gw.example/fhir`); default `http://{bound address}/fhir`.
    pub base_url: Option<String>,
    /// SMART Backend Services clients; none: the token endpoint is off.
    pub smart_clients: Vec<smart::Registration>,
    /// Where bulk export jobs and their files live.
    pub export_dir: std::path::PathBuf,
    /// Whether this process runs bulk exports (off: it accepts and reports on them only).
    pub export_workers: bool,
}

/// Shared by every handler.
#[derive(Debug)]
pub struct FhirState {
    /// The base URL without a trailing slash, e.g. `http://127.0.0.1:8090/fhir`.
    pub base: String,
    pub auth: Auth,
    pub gate: gate::FhirGate,
    pub records: records::Records,
    pub bulk: bulk::Bulk,
}

impl FhirState {
    pub fn progress(&self) -> &bulk::Progress {
        &self.bulk.progress
    }
}

/// The routes under `/fhir`.
pub fn router(state: Arc<FhirState>) -> Router {
    let fhir = Router::new()
        .route("/metadata", get(metadata))
        .route("/.well-known/smart-configuration", get(token::configuration))
        .route("/auth/token", post(token::token))
        .route("/$export", get(bulk::kick_off))
        .route("/Patient/$export", get(bulk::kick_off))
        .route("/Group/{group}/$export", get(bulk::group_kick_off))
        .route("/bulk/{job}", get(bulk::status).delete(bulk::cancel))
        .route("/bulk/{job}/{file}", get(bulk::download))
        .route("/Patient/{id}/$everything", get(routes::everything))
        .route("/{type}", get(routes::search))
        .route("/{type}/{id}", get(routes::read))
        .route("/{type}/_history", get(history::of_type))
        .route("/{type}/{id}/_history", get(history::instance))
        .route("/{type}/{id}/_history/{vid}", get(history::vread))
        .fallback(unknown)
        .method_not_allowed_fallback(read_only);
    Router::new().nest("/fhir", fhir).fallback(unknown).with_state(state)
}

async fn metadata(State(state): State<Arc<FhirState>>) -> Response {
    fhir_json(StatusCode::OK, &capability::capability_statement(&state.base, state.auth.smart.is_some()))
}

async fn read_only() -> FhirError {
    FhirError::MethodNotAllowed("this FHIR server is read-only: see GET /fhir/metadata".into())
}

async fn unknown() -> FhirError {
    FhirError::NotFound("no such FHIR endpoint; see GET /fhir/metadata".into())
}

/// The FHIR server running in the background.
#[derive(Debug)]
pub struct RunningFhir {
    pub addr: SocketAddr,
    pub base: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

/// Serves FHIR on `listen` (port 0 picks one) over `store`.
pub async fn start(listen: SocketAddr, store: Arc<dyn EventStore>, config: FhirConfig) -> anyhow::Result<RunningFhir> {
    let listener =
        tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding the FHIR server to {listen}"))?;
    let addr = listener.local_addr()?;
    let base = config.base_url.clone().unwrap_or_else(|| format!("http://{}/fhir", reachable(addr)));
    let base = base.trim_end_matches('/').to_owned();
    let smart = if config.smart_clients.is_empty() {
        None
    } else {
        Some(Arc::new(smart::Smart::new(config.smart_clients.clone(), format!("{base}/auth/token"))?))
    };
    let state = Arc::new(FhirState {
        auth: Auth { carelog: config.authenticator.clone(), smart },
        gate: gate::FhirGate::new(Arc::clone(&store)),
        records: records::Records::new(store),
        bulk: bulk::Bulk {
            jobs: bulk::jobs::JobStore::open(&config.export_dir)
                .map_err(|e| anyhow::anyhow!("the bulk export folder {}: {e}", config.export_dir.display()))?,
            progress: bulk::Progress::default(),
            workers: config.export_workers,
            running: tokio::sync::Semaphore::new(bulk::CONCURRENT_EXPORTS),
        },
        base: base.clone(),
    });
    bulk::resume(&state).map_err(|e| anyhow::anyhow!("resuming bulk exports: {e}"))?;
    let app = router(state);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Ok(RunningFhir { addr, base, stop, task })
}

/// A wildcard address is reached over loopback.
fn reachable(addr: SocketAddr) -> String {
    match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => format!("127.0.0.1:{}", addr.port()),
        ip if ip.is_unspecified() => format!("[::1]:{}", addr.port()),
        _ => addr.to_string(),
    }
}

impl RunningFhir {
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await.context("FHIR server task panicked")?.context("FHIR server failed")?;
        Ok(())
    }
}
