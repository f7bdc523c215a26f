//! Carelog ProofService: the tamper-evident log. A background builder keeps an RFC 6962 Merkle tree
//! over every event in global order beside the log; a signer signs (size, root, time) checkpoints
//! with an Ed25519 key at an interval and on demand; the service proves inclusion and consistency.
//! [`offline`] checks a saved proof against a saved checkpoint with no database at all.
//!
//! The tree covers each event's stored chain hash, which covers the stored (encrypted) PHI, so
//! shredding a client's key changes no leaf and every proof stays valid.

#![forbid(unsafe_code)]

pub mod checkpoint;
mod convert;
mod error;
mod grpc;
pub mod keychain;
pub mod keylog;
pub mod keys;
pub mod note;
pub mod offline;
mod prover;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use carelog_proto::v1::proof_service_server::ProofServiceServer;
use carelog_runtime::server::Router;
use carelog_store::merkle::{MerkleTree, TreeBuilder};
use carelog_store::{EventStore, OpenedStore};
use tokio::sync::watch;
use tonic_health::server::HealthReporter;

pub use convert::{ReplyError, change_from_proto, signed_from_proto};
pub use error::ProofServiceError;
pub use grpc::Proofs;
pub use keys::KeySource;
pub use prover::{Prover, signed_from_stored};

/// How often the signer looks for a grown tree, unless `CARELOG_CHECKPOINT_INTERVAL_SECS` says
/// otherwise (0 turns interval signing off; on-demand signing always works).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(600);
pub const INTERVAL_ENV: &str = "CARELOG_CHECKPOINT_INTERVAL_SECS";

/// The C2SP origin of the log's checkpoints (and the key name of their signed notes).
pub const ORIGIN_ENV: &str = "CARELOG_LOG_ORIGIN";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofsConfig {
    pub key: KeySource,
    pub interval: Option<Duration>,
    /// No configured key: sign with one made at start (development only; refused otherwise on PostgreSQL).
    pub dev_ephemeral: bool,
    /// The key being replaced, to sign the handover (`CARELOG_PREVIOUS_SIGNING_KEY_FILE`).
    pub previous_key: Option<std::path::PathBuf>,
    /// Why a new key is introduced without the previous one (`CARELOG_SIGNING_KEY_INTRODUCTION`).
    pub introduction: Option<String>,
    pub origin: String,
}

impl Default for ProofsConfig {
    fn default() -> Self {
        Self {
            key: KeySource::Auto,
            interval: Some(DEFAULT_INTERVAL),
            dev_ephemeral: false,
            previous_key: None,
            introduction: None,
            origin: note::DEFAULT_ORIGIN.to_owned(),
        }
    }
}

fn env_set(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.trim().is_empty())
}

impl ProofsConfig {
    /// A given key, signing only on demand: for tests and programs that embed the server.
    pub fn with_key(key: ed25519_dalek::SigningKey) -> Self {
        Self { key: KeySource::Given(key), interval: None, ..Self::default() }
    }

    /// The key from `CARELOG_SIGNING_KEY_FILE` / `CARELOG_SIGNING_KEY` (else the embedded SQLite
    /// development key, or with `CARELOG_DEV_EPHEMERAL_SIGNING_KEY` a throw-away one), a key change
    /// from `CARELOG_PREVIOUS_SIGNING_KEY_FILE` / `CARELOG_SIGNING_KEY_INTRODUCTION`, the origin from
    /// `CARELOG_LOG_ORIGIN` and the interval from `CARELOG_CHECKPOINT_INTERVAL_SECS`.
    pub fn from_env() -> anyhow::Result<Self> {
        let interval = match std::env::var(INTERVAL_ENV) {
            Ok(raw) => {
                let secs: u64 =
                    raw.trim().parse().map_err(|_| anyhow::anyhow!("{INTERVAL_ENV}={raw:?}: give seconds"))?;
                (secs > 0).then(|| Duration::from_secs(secs))
            }
            Err(_) => Some(DEFAULT_INTERVAL),
        };
        let origin = env_set(ORIGIN_ENV).unwrap_or_else(|| note::DEFAULT_ORIGIN.to_owned());
        note::check_origin(&origin).map_err(|e| anyhow::anyhow!("{ORIGIN_ENV}: {e}"))?;
        Ok(Self {
            key: KeySource::Auto,
            interval,
            dev_ephemeral: env_set(keys::DEV_EPHEMERAL_ENV).is_some_and(|v| v.trim() != "0"),
            previous_key: env_set(keylog::PREVIOUS_ENV).map(Into::into),
            introduction: env_set(keylog::INTRODUCTION_ENV),
            origin,
        })
    }

    /// Whether a signing key is configured (`CARELOG_SIGNING_KEY_FILE` or `CARELOG_SIGNING_KEY`).
    pub fn key_configured() -> bool {
        env_set(keys::KEY_FILE_ENV).is_some() || env_set(keys::KEY_ENV).is_some()
    }
}

/// What the proofs service keeps beside the log, handed to it at start-up.
#[derive(Debug, Clone)]
pub struct ProofsStorage {
    /// The log as stored, and the database its Merkle tables live in: leaves are stored hashes,
    /// so the tree builder has no use for opened PHI.
    pub stored: OpenedStore,
    /// An embedded log's file, beside which a development signing key is kept (None on a server).
    pub embedded_file: Option<PathBuf>,
}

impl ProofsStorage {
    /// The storage of an opened store.
    pub async fn of(stored: OpenedStore) -> Self {
        let embedded_file = stored.database.embedded_file().await;
        Self { stored, embedded_file }
    }
}

/// Starts the tree builder and the interval signer and adds the ProofService to a router, with the
/// key and interval from the environment. `store` is the log the services use (PHI opened).
pub async fn mount(
    router: Router,
    health: HealthReporter,
    store: Arc<dyn EventStore>,
    storage: ProofsStorage,
) -> anyhow::Result<Router> {
    mount_with(router, health, store, storage, ProofsConfig::from_env()?).await
}

pub async fn mount_with(
    router: Router,
    health: HealthReporter,
    store: Arc<dyn EventStore>,
    storage: ProofsStorage,
    config: ProofsConfig,
) -> anyhow::Result<Router> {
    let key = keys::load(&config.key, config.dev_ephemeral, storage.embedded_file.as_deref())?;
    let previous = config.previous_key.as_deref().map(keys::read_signing_key).transpose()?;
    let change = keylog::ChangeConfig {
        previous,
        introduction: config.introduction.clone(),
        dev_ephemeral: config.dev_ephemeral,
    };
    let tree = MerkleTree::new(storage.stored.database.clone());
    let log_key = keylog::current_key(store.as_ref(), &tree).await?;
    // Refuses to start on a key change nobody configured: a restart must never look like an attack.
    let pending = keylog::plan(log_key, &key, &change)?;
    let (sizes_tx, sizes) = watch::channel(0);
    let prover = Arc::new(Prover::new(Arc::clone(&store), tree, key, config.origin.clone(), pending, sizes));
    let gate = carelog_auth::Gate::new(Arc::clone(&store));
    tokio::spawn(keep_building(TreeBuilder::new(&storage.stored), sizes_tx, health));
    if let Some(interval) = config.interval {
        tokio::spawn(sign_every(Arc::downgrade(&prover), interval));
    }
    Ok(router.add_service(ProofServiceServer::new(Proofs::new(prover, gate))))
}

/// Runs the builder for as long as the service lives; after a failure (a gap in the log, a tree
/// table that disagrees with its root) it reports NOT_SERVING, waits and retries from the last commit.
async fn keep_building(builder: TreeBuilder, sizes: watch::Sender<u64>, health: HealthReporter) {
    loop {
        health.set_serving::<ProofServiceServer<Proofs>>().await;
        let outcome = tokio::select! {
            () = sizes.closed() => return,
            outcome = builder.run(&sizes) => outcome,
        };
        match outcome {
            Ok(()) => return,
            Err(error) => {
                if matches!(&error, carelog_store::merkle::TreeError::Store(e) if e.is_transient()) {
                    // A database failover or restart: it resumes on the new primary by itself.
                    tracing::warn!(%error, "Merkle tree builder paused: database unavailable; retrying in 5 s");
                } else {
                    tracing::error!(%error, "Merkle tree builder stopped; retrying in 5 s");
                }
                health.set_not_serving::<ProofServiceServer<Proofs>>().await;
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

/// Signs a checkpoint every `interval` if the tree grew; ends when the service is dropped.
async fn sign_every(prover: std::sync::Weak<Prover>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(prover) = prover.upgrade() else { return };
        if let Err(error) = prover.sign_if_grown().await {
            tracing::warn!(%error, "could not sign a checkpoint");
        }
    }
}
