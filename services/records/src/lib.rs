//! Carelog RecordsService: the read side over the projections — the client's record now and as it
//! stood at any past moment, the audit trail, caseloads, ledgers, a live feed of the log for EHR
//! connectors, and hash-chain verification. Every records process also takes part in electing the
//! one that runs the projection keeping the read models beside the log.

#![forbid(unsafe_code)]

mod convert;
mod disclosures;
mod feed;
pub mod fhir;
mod grpc;
mod late_entries;
mod notes;
mod projector;
mod queries;
mod search;
mod standby;

use std::sync::Arc;

use carelog_projections::{Projector, ProjectorRole, ReadDemand, Runner};
use carelog_proto::v1::records_service_server::RecordsServiceServer;
use carelog_runtime::server::Router;
use carelog_store::{Database, EventStore};
use tokio::sync::watch;
use tonic_health::server::HealthReporter;

pub use grpc::{Records, RecordsConfig};
pub use projector::{PROJECTOR_HEALTH, ProjectorArgs, ProjectorCommitArg};
pub use queries::Queries;

/// Starts the (elected) projection and adds the RecordsService to a router: `store` is the log
/// the services use (PHI opened), `database` where the read models are kept (the handle the store
/// was opened with).
pub async fn mount(
    router: Router,
    health: HealthReporter,
    store: Arc<dyn EventStore>,
    database: Database,
) -> anyhow::Result<Router> {
    mount_with(router, health, store, database, RecordsConfig::default()).await
}

/// `mount` with an operator's settings.
pub async fn mount_with(
    router: Router,
    health: HealthReporter,
    store: Arc<dyn EventStore>,
    database: Database,
    config: RecordsConfig,
) -> anyhow::Result<Router> {
    // Creates or upgrades the read-model tables on the primary, also for a replica reading a standby.
    let runner = Runner::new(Arc::clone(&store), database).await?.with_search_key(config.search_key.clone());
    let (checkpoints_tx, checkpoints) = watch::channel(0);
    let (roles_tx, roles) = watch::channel(ProjectorRole::Starting);
    let (queries, models) = match &config.read_store {
        None => {
            let (models, demand) = (runner.models().clone(), runner.demand().clone());
            // Every records process serves reads; only the elected one projects. The projector stops
            // once every reader is gone (the server stopped).
            tokio::spawn(Projector::new(runner, config.projector).run(checkpoints_tx, roles_tx));
            (Queries::new(store, models.clone(), checkpoints.clone(), demand), models)
        }
        Some(url) => {
            // Reads from a hot standby: the checkpoint it reports is the one the standby has
            // replayed, so `min_position` waits for replication as well as for the projector.
            let standby = standby::connect(url).await?;
            let models = standby.read_models().with_search_key(config.search_key.clone());
            tokio::spawn(standby::follow(standby, config.projector.checkpoint_poll, checkpoints_tx, roles_tx));
            // Nothing here projects: a wait is for the standby's replay of the primary's commits.
            let demand = ReadDemand::default();
            (Queries::new(store, models.clone(), checkpoints.clone(), demand), models)
        }
    };
    tokio::spawn(projector::report_completeness(models, checkpoints, health.clone()));
    tokio::spawn(projector::report_health(roles, health));
    Ok(router.add_service(RecordsServiceServer::new(Records::new(queries, config))))
}
