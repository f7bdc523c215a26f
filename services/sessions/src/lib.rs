//! Carelog SessionService: one session of care (`session-{uuid}`): scheduling, the session held,
//! cancelled or missed, its progress note (locked once signed; changed only by addenda and accepted
//! HIPAA §164.526 amendments), psychotherapy notes in their own `psynote-{uuid}` streams, and
//! closing the episode of care once every note is signed.

#![forbid(unsafe_code)]

pub mod config;
mod content;
mod convert;
pub mod episode;
mod grpc;
pub mod handlers;

use std::sync::Arc;

use carelog_proto::v1::session_service_server::SessionServiceServer;
use carelog_runtime::server::Router;
use carelog_store::EventStore;
use tonic_health::server::HealthReporter;

pub use carelog_domain::sessions::SessionSettings;
pub use config::SessionsArgs;
pub use grpc::Sessions;

/// The service with the default settings, ready to add to a tonic router.
pub fn service(store: Arc<dyn EventStore>) -> SessionServiceServer<Sessions> {
    SessionServiceServer::new(Sessions::new(store, SessionSettings::default()))
}

/// Adds this service, with the default settings, to a router and marks it serving.
pub fn mount(router: Router, health: &HealthReporter, store: Arc<dyn EventStore>) -> Router {
    mount_with(router, health, store, SessionSettings::default())
}

/// Adds this service, with a practice's settings, to a router and marks it serving.
pub fn mount_with(
    router: Router,
    health: &HealthReporter,
    store: Arc<dyn EventStore>,
    settings: SessionSettings,
) -> Router {
    let health = health.clone();
    tokio::spawn(async move { health.set_serving::<SessionServiceServer<Sessions>>().await });
    router.add_service(SessionServiceServer::new(Sessions::new(store, settings)))
}
