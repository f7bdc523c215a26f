//! Carelog IntakeService: the client's record (`client-{uuid}`): registration, episodes of care,
//! consents, PHQ-9/GAD-7 assessments with risk flags, diagnoses and Good Faith Estimates.

#![forbid(unsafe_code)]

pub mod commands;
mod convert;
mod grpc;

use std::sync::Arc;

use carelog_platform::server::Router;
use carelog_proto::v1::intake_service_server::IntakeServiceServer;
use carelog_store::EventStore;
use tonic_health::server::HealthReporter;

pub use grpc::Intake;

/// The service, ready to add to a tonic router.
pub fn service(store: Arc<dyn EventStore>) -> IntakeServiceServer<Intake> {
    IntakeServiceServer::new(Intake::new(store))
}

/// Adds this service to a router and marks it serving.
pub fn mount(router: Router, health: &HealthReporter, store: Arc<dyn EventStore>) -> Router {
    let health = health.clone();
    tokio::spawn(async move { health.set_serving::<IntakeServiceServer<Intake>>().await });
    router.add_service(service(store))
}
