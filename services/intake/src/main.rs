//! `carelog-intake`: the IntakeService alone, for a deployment with one process per service.

use carelog_platform::server::{self, StandaloneArgs};
use carelog_proto::v1::intake_service_server::IntakeServiceServer;
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = StandaloneArgs::parse();
    server::run_standalone(args, "IntakeService", |router, reporter, store| {
        let reporter = reporter.clone();
        tokio::spawn(async move { reporter.set_serving::<IntakeServiceServer<carelog_intake::Intake>>().await });
        router.add_service(carelog_intake::service(store))
    })
    .await
}
