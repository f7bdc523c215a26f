//! Options every binary shares: where the log lives, where to listen, how to log.

use std::sync::Arc;

use anyhow::Context;
use carelog_store::{EventStore, OpenedStore, StoreUrl};
use carelog_vault::SealedStore;

/// The embedded default: a SQLite file in the working directory.
pub const DEFAULT_STORE: &str = "sqlite:carelog.db";

#[derive(Debug, Clone, clap::Args)]
pub struct StoreArg {
    /// Where the event log lives: `sqlite:PATH` (default `sqlite:carelog.db`) or `postgres://USER@HOST/DB`.
    /// Falls back to CARELOG_STORE, then DATABASE_URL.
    #[arg(long, env = "CARELOG_STORE")]
    store: Option<String>,
    /// File holding the master key (base64 of 32 bytes) that wraps every client's data key.
    /// Without it: CARELOG_MASTER_KEY, else (SQLite only) `<database>.master-key`, created once.
    #[arg(long, env = "CARELOG_MASTER_KEY_FILE")]
    master_key_file: Option<std::path::PathBuf>,
}

impl StoreArg {
    /// The store the user named (flag or environment), if any.
    pub fn explicit_url(&self) -> anyhow::Result<Option<StoreUrl>> {
        let named = self.store.clone().or_else(|| std::env::var("DATABASE_URL").ok().filter(|url| !url.is_empty()));
        named.map(|raw| raw.parse::<StoreUrl>().map_err(anyhow::Error::msg).context("--store")).transpose()
    }

    /// Opens the store the user named with PHI sealed under per-client keys (see carelog-vault).
    pub async fn open(&self) -> anyhow::Result<(Arc<dyn EventStore>, StoreUrl)> {
        let ServiceStorage { sealed, url, .. } = self.open_sealed().await?;
        Ok((sealed, url))
    }

    /// [`open`](Self::open), keeping the vault's type (for commands that manage keys, `erase`) and
    /// the store as opened (for the read models and the Merkle tree).
    pub async fn open_sealed(&self) -> anyhow::Result<ServiceStorage> {
        let url = self.url()?;
        let stored = carelog_store::open(&url).await.with_context(|| format!("opening the event store at {url}"))?;
        let sealed = seal_store(&stored, &url, self.master_key_file.as_deref()).await?;
        Ok(ServiceStorage { sealed, stored, url })
    }

    pub fn url(&self) -> anyhow::Result<StoreUrl> {
        let raw = self
            .store
            .clone()
            .or_else(|| std::env::var("DATABASE_URL").ok().filter(|url| !url.is_empty()))
            .unwrap_or_else(|| DEFAULT_STORE.to_owned());
        raw.parse::<StoreUrl>().map_err(anyhow::Error::msg).context("--store")
    }
}

/// The store a binary opened once at start-up.
#[derive(Debug, Clone)]
pub struct ServiceStorage {
    /// The log with PHI sealed under per-client keys: what services append to and read.
    pub sealed: Arc<SealedStore>,
    /// The log as stored, and the database where the read models and the Merkle tree are kept.
    pub stored: OpenedStore,
    pub url: StoreUrl,
}

/// Wraps an opened store in the vault: PHI is sealed on append and opened (or shown erased) on read.
pub async fn seal_store(
    stored: &OpenedStore,
    url: &StoreUrl,
    master_key_file: Option<&std::path::Path>,
) -> anyhow::Result<Arc<SealedStore>> {
    let sqlite = match url {
        StoreUrl::Sqlite(path) => Some(path.as_path()),
        _ => None,
    };
    let (master, source) = carelog_vault::load_master_key(master_key_file, sqlite).map_err(anyhow::Error::msg)?;
    if let carelog_vault::MasterKeySource::CreatedBeside(path) = &source {
        crate::telemetry::notice(
            true,
            &format!(
                "WARNING: no master key given; created {} to wrap client keys. Anyone with that file and the \
                 database can read the PHI: keep it elsewhere in production (CARELOG_MASTER_KEY or \
                 --master-key-file / CARELOG_MASTER_KEY_FILE).",
                path.display()
            ),
        );
    }
    tracing::info!(source = ?source, "master key loaded");
    carelog_vault::seal(stored, master).await.context("opening the client key store")
}

/// Where a service listens by default.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

/// Logs, traces and metrics for a binary named `service`: see [`crate::telemetry::init`]. Keep the
/// guard until exit so buffered spans and metrics are flushed.
pub fn init_tracing(service: &str) -> Result<crate::telemetry::TelemetryGuard, crate::telemetry::TelemetryError> {
    crate::telemetry::init(service)
}
