//! Carelog TreatmentPlanningService: the treatment plan (`plan-{uuid}`): drafts addressing the
//! episode's active diagnoses, measurable goals with objectives and interventions, signed immutable
//! versions with a configurable review interval, reviews, goal status and planned termination.

#![forbid(unsafe_code)]

mod convert;
mod grpc;
pub mod handlers;

use std::sync::Arc;

use carelog_domain::ValidationError;
use carelog_domain::planning::ReviewRule;
use carelog_proto::v1::treatment_planning_service_server::TreatmentPlanningServiceServer;
use carelog_runtime::server::Router;
use carelog_store::EventStore;
use tonic_health::server::HealthReporter;

pub use grpc::Planning;

/// What a practice can tune about planning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanningConfig {
    /// How far ahead the next review falls due after signing or a `continue` review (default 90 days).
    pub review_rule: ReviewRule,
}

impl PlanningConfig {
    /// Reviews every `days` days (7 to 365).
    pub fn review_every_days(days: u32) -> Result<Self, ValidationError> {
        Ok(Self { review_rule: ReviewRule::every_days(days)? })
    }
}

/// The service, ready to add to a tonic router.
pub fn service(store: Arc<dyn EventStore>, config: PlanningConfig) -> TreatmentPlanningServiceServer<Planning> {
    TreatmentPlanningServiceServer::new(Planning::new(store, config))
}

/// Adds this service with the default configuration to a router and marks it serving.
pub fn mount(router: Router, health: &HealthReporter, store: Arc<dyn EventStore>) -> Router {
    mount_with(router, health, store, PlanningConfig::default())
}

/// Adds this service to a router and marks it serving.
pub fn mount_with(
    router: Router,
    health: &HealthReporter,
    store: Arc<dyn EventStore>,
    config: PlanningConfig,
) -> Router {
    let health = health.clone();
    tokio::spawn(async move { health.set_serving::<TreatmentPlanningServiceServer<Planning>>().await });
    router.add_service(service(store, config))
}
