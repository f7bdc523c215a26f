//! Carelog RecordsService: the read side over the projections — the client's record now and as it
//! stood at any past moment, the audit trail, caseloads, ledgers, a live feed of the log for EHR
//! connectors, and hash-chain verification. It also runs the projection runner that keeps the read
//! models beside the log.

#![forbid(unsafe_code)]

mod convert;
mod feed;
pub mod fhir;
mod grpc;
mod queries;

use std::sync::Arc;
use std::time::Duration;

use carelog_platform::server::Router;
use carelog_projections::Runner;
use carelog_proto::v1::records_service_server::RecordsServiceServer;
use carelog_store::EventStore;
use tokio::sync::watch;
use tonic_health::server::HealthReporter;

pub use grpc::{Records, RecordsConfig};
pub use queries::Queries;

/// Starts the projection runner and adds the RecordsService to a router.
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
    let queries = Queries::new(store, runner.models().clone(), checkpoints);
    tokio::spawn(keep_projecting(runner, checkpoints_tx, health));
    Ok(router.add_service(RecordsServiceServer::new(Records::new(queries, config))))
}

/// Runs the live projection for as long as the process lives; after a failure it reports the
/// service NOT_SERVING, waits and resumes from the last committed checkpoint.
async fn keep_projecting(runner: Runner, checkpoints: watch::Sender<u64>, health: HealthReporter) {
    let (_stop, stopped) = watch::channel(false);
    loop {
        health.set_serving::<RecordsServiceServer<Records>>().await;
        // Once every reader is gone (the server stopped), so is the reason to project.
        let outcome = tokio::select! {
            () = checkpoints.closed() => return,
            outcome = runner.run_live(stopped.clone(), checkpoints.clone()) => outcome,
        };
        match outcome {
            Ok(()) => return,
            Err(error) => {
                tracing::error!(%error, "projection stopped; retrying in 2 s");
                health.set_not_serving::<RecordsServiceServer<Records>>().await;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}
