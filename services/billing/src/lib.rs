//! Carelog BillingService: the client's account (`account-{uuid}`): charges derived from held
//! sessions with signed notes, claims (original, replacement, void), remittances with CARC/RARC
//! adjustments, client payments, write-offs and superbills.

#![forbid(unsafe_code)]

pub mod config;
mod convert;
mod grpc;
pub mod handlers;

use std::sync::Arc;

use carelog_proto::v1::billing_service_server::BillingServiceServer;
use carelog_runtime::server::Router;
use carelog_store::EventStore;
use tonic_health::server::HealthReporter;

pub use config::{BillingArgs, BillingConfig};
pub use grpc::Billing;

/// The service with the default fee schedule and overdue policy, ready to add to a tonic router.
pub fn service(store: Arc<dyn EventStore>) -> BillingServiceServer<Billing> {
    service_with(store, BillingConfig::default())
}

/// The service with a practice's own billing configuration.
pub fn service_with(store: Arc<dyn EventStore>, config: BillingConfig) -> BillingServiceServer<Billing> {
    BillingServiceServer::new(Billing::new(store, config))
}

/// Adds this service, with the default configuration, to a router and marks it serving.
pub fn mount(router: Router, health: &HealthReporter, store: Arc<dyn EventStore>) -> Router {
    mount_with(router, health, store, BillingConfig::default())
}

/// Adds this service, with a practice's configuration, to a router and marks it serving.
pub fn mount_with(
    router: Router,
    health: &HealthReporter,
    store: Arc<dyn EventStore>,
    config: BillingConfig,
) -> Router {
    let health = health.clone();
    tokio::spawn(async move { health.set_serving::<BillingServiceServer<Billing>>().await });
    router.add_service(service_with(store, config))
}
