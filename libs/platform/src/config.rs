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

/// Logs go to stderr; `RUST_LOG` filters them (default `info` for Carelog, `warn` for dependencies).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,carelog=info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
