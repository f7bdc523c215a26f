//! Mounting every service on one router, and running it in the background (for `serve`, `demo`
//! and the black-box tests).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use carelog_runtime::config::ServiceStorage;
use carelog_runtime::server;
use carelog_runtime::server::Router;
use carelog_store::{EventStore, OpenedStore};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic_health::server::HealthReporter;

/// A practice's settings for the all-in-one server.
#[derive(Debug, Clone, Default)]
pub struct AppConfig {
    pub planning: carelog_planning::PlanningConfig,
    pub sessions: carelog_sessions::SessionSettings,
    pub billing: carelog_billing::BillingConfig,
    pub records: carelog_records::RecordsConfig,
    /// Authentication, TLS and limits.
    pub server: server::ServerSettings,
    /// The checkpoint signing key and interval; `None` reads them from the environment.
    pub proofs: Option<carelog_proofs::ProofsConfig>,
}

/// What the server runs on, opened once at start-up.
#[derive(Debug, Clone)]
pub struct AppStore {
    /// The log the services append to and read: PHI sealed by the vault in every binary.
    pub log: Arc<dyn EventStore>,
    /// The log as stored, and the database the read models and the Merkle tree are kept in.
    pub stored: OpenedStore,
}

impl AppStore {
    /// The log without the vault: for tests whose events carry no PHI.
    pub fn unsealed(stored: OpenedStore) -> Self {
        Self { log: Arc::clone(&stored.log), stored }
    }
}

/// A store as a binary opens it: sealed by the vault.
impl From<&ServiceStorage> for AppStore {
    fn from(storage: &ServiceStorage) -> Self {
        Self { log: storage.sealed.clone(), stored: storage.stored.clone() }
    }
}

/// The client-search key of a store sealed by the vault (the records service indexes and
/// searches with it; it never touches the database).
pub fn search_key_of(sealed: &carelog_vault::SealedStore) -> carelog_projections::search::SearchKey {
    carelog_projections::search::SearchKey::new(sealed.keys().search_key())
}

/// The proofs settings of a server a tool starts for itself (`demo`, `seed`, `bench`): the
/// configured key if there is one, else a throw-away one; never signing on an interval, so a tool
/// run leaves no checkpoint or key change in the log.
pub fn tool_proofs() -> anyhow::Result<carelog_proofs::ProofsConfig> {
    let mut config = carelog_proofs::ProofsConfig::from_env()?;
    config.interval = None;
    config.dev_ephemeral |= !carelog_proofs::ProofsConfig::key_configured();
    Ok(config)
}

/// Every Carelog service, health and reflection, on one router; starts the projection runner.
pub async fn router(store: AppStore, config: AppConfig) -> anyhow::Result<(Router, HealthReporter)> {
    let (router, health) = server::router(&config.server).context("building the server")?;
    let AppStore { log, stored } = store;
    let router = carelog_intake::mount_with(router, &health, Arc::clone(&log), config.sessions.late_entry_after);
    let router = carelog_planning::mount_with(router, &health, Arc::clone(&log), config.planning);
    let router = carelog_sessions::mount_with(router, &health, Arc::clone(&log), config.sessions);
    let router = carelog_billing::mount_with(router, &health, Arc::clone(&log), config.billing);
    let proofs = match config.proofs {
        Some(proofs) => proofs,
        None => carelog_proofs::ProofsConfig::from_env()?,
    };
    let database = stored.database.clone();
    let storage = carelog_proofs::ProofsStorage::of(stored).await;
    let router = carelog_proofs::mount_with(router, health.clone(), Arc::clone(&log), storage, proofs).await?;
    let router = carelog_records::mount_with(router, health.clone(), log, database, config.records).await?;
    Ok((router, health))
}

/// A server running in the background until stopped.
#[derive(Debug)]
pub struct RunningServer {
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
}

/// Binds `listen` (port 0 picks a free port) and serves every service on it with default settings.
pub async fn start(store: AppStore, listen: SocketAddr) -> anyhow::Result<RunningServer> {
    start_with(store, listen, AppConfig::default()).await
}

/// `start` with a practice's settings.
pub async fn start_with(store: AppStore, listen: SocketAddr, config: AppConfig) -> anyhow::Result<RunningServer> {
    let mut config = config;
    let (closing, closing_rx) = tokio::sync::watch::channel(false);
    config.records.closing = Some(closing_rx);
    let limits = config.server.limits.clone();
    let (router, _health) = router(store, config).await?;
    let (listener, addr) = server::bind(listen).await.with_context(|| format!("binding {listen}"))?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server::serve_with(router, listener, limits, async move {
        let _ = stopped.await;
        // Log subscriptions end (with their resume position) so the graceful stop can finish.
        let _ = closing.send(true);
    }));
    Ok(RunningServer { addr, stop, task })
}

impl RunningServer {
    /// The URL a gRPC client connects to.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting calls, finishes those in flight, and waits for the server to end.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await.context("server task panicked")?.context("server failed")?;
        Ok(())
    }
}
