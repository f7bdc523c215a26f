//! Carelog RecordsService: the read side over the projections — the client's record now and as it
//! stood at any past moment, the audit trail, caseloads, ledgers, a live feed of the log for EHR
//! connectors, and hash-chain verification. Every records process also takes part in electing the
//! one that runs the projection keeping the read models beside the log.

#![forbid(unsafe_code)]

mod convert;
mod feed;
pub mod fhir;
mod grpc;
mod notes;
mod projector;
mod queries;

use std::sync::Arc;

use carelog_platform::server::Router;
use carelog_projections::{Projector, Role, Runner};
use carelog_proto::v1::records_service_server::RecordsServiceServer;
use carelog_store::EventStore;
use tokio::sync::watch;
use tonic_health::server::HealthReporter;

pub use grpc::{Records, RecordsConfig};
pub use projector::{PROJECTOR_HEALTH, ProjectorArgs};
pub use queries::Queries;

/// Starts the (elected) projection and adds the RecordsService to a router.
pub async fn mount(router: Router, health: HealthReporter, store: Arc<dyn EventStore>) -> anyhow::Result<Router> {
    mount_with(router, health, store, RecordsConfig::default()).await
}

/// `mount` with an operator's settings.
pub async fn mount_with(
    router: Router,
    health: HealthReporter,
    store: Arc<dyn EventStore>,
    config: RecordsConfig,
) -> anyhow::Result<Router> {
    let runner = Runner::new(Arc::clone(&store)).await?;
    let (checkpoints_tx, checkpoints) = watch::channel(0);
    let (roles_tx, roles) = watch::channel(Role::Starting);
    let queries = Queries::new(store, runner.models().clone(), checkpoints.clone());
    tokio::spawn(projector::report_completeness(runner.models().clone(), checkpoints, health.clone()));
    // Every records process serves reads; only the elected one projects. The projector stops once
    // every reader is gone (the server stopped).
    tokio::spawn(Projector::new(runner, config.projector).run(checkpoints_tx, roles_tx));
    tokio::spawn(projector::report_health(roles, health));
    Ok(router.add_service(RecordsServiceServer::new(Records::new(queries, config))))
}
