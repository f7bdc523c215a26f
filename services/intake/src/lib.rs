//! Carelog IntakeService: the client's record (`client-{uuid}`): registration, episodes of care,
//! consents, PHQ-9/GAD-7 assessments with risk flags, diagnoses and Good Faith Estimates.

#![forbid(unsafe_code)]

mod convert;
mod grpc;
pub mod handlers;

use std::sync::Arc;

use carelog_proto::v1::intake_service_server::IntakeServiceServer;
use carelog_runtime::server::Router;
use carelog_store::EventStore;
use tonic_health::server::HealthReporter;

pub use carelog_domain::sessions::LATE_ENTRY_AFTER;
pub use grpc::Intake;

/// The service with the default late-entry threshold, ready to add to a tonic router.
pub fn service(store: Arc<dyn EventStore>) -> IntakeServiceServer<Intake> {
    IntakeServiceServer::new(Intake::new(store, LATE_ENTRY_AFTER))
}

/// Adds this service, with the default late-entry threshold, to a router and marks it serving.
pub fn mount(router: Router, health: &HealthReporter, store: Arc<dyn EventStore>) -> Router {
    mount_with(router, health, store, LATE_ENTRY_AFTER)
}

/// Adds this service, with the practice's late-entry threshold (the same setting as the
/// SessionService's `--late-entry-hours`), to a router and marks it serving.
pub fn mount_with(
    router: Router,
    health: &HealthReporter,
    store: Arc<dyn EventStore>,
    late_entry_after: chrono::Duration,
) -> Router {
    let health = health.clone();
    tokio::spawn(async move { health.set_serving::<IntakeServiceServer<Intake>>().await });
    router.add_service(IntakeServiceServer::new(Intake::new(store, late_entry_after)))
}
