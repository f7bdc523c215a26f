//! Options every binary shares: where the log lives, where to listen, how to log.

use anyhow::Context;
use carelog_store::StoreUrl;

/// The embedded default: a SQLite file in the working directory.
pub const DEFAULT_STORE: &str = "sqlite:carelog.db";

#[derive(Debug, Clone, clap::Args)]
pub struct StoreArg {
    /// Where the event log lives: `sqlite:PATH` (default `sqlite:carelog.db`) or `postgres://USER@HOST/DB`.
    /// Falls back to CARELOG_STORE, then DATABASE_URL.
    #[arg(long, env = "CARELOG_STORE")]
    store: Option<String>,
}

impl StoreArg {
    /// The store the user named (flag or environment), if any.
    pub fn explicit_url(&self) -> anyhow::Result<Option<StoreUrl>> {
        let named = self.store.clone().or_else(|| std::env::var("DATABASE_URL").ok().filter(|url| !url.is_empty()));
        named.map(|raw| raw.parse::<StoreUrl>().map_err(anyhow::Error::msg).context("--store")).transpose()
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

/// Where a service listens by default.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

/// Logs, traces and metrics for a binary named `service`: see [`crate::telemetry::init`]. Keep the
/// guard until exit so buffered spans and metrics are flushed.
pub fn init_tracing(service: &str) -> Result<crate::telemetry::TelemetryGuard, crate::telemetry::TelemetryError> {
    crate::telemetry::init(service)
}
