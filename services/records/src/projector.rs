//! The records service's part in the projection: its command-line settings, and its role (leading,
//! following, stalled) shown on grpc.health.v1.

use std::time::Duration;

use carelog_projections::leader::ElectionOptions;
use carelog_projections::persist::ReadModels;
use carelog_projections::{ProjectorOptions, ProjectorRole, RECORDS};
use carelog_proto::v1::records_service_server::RecordsServiceServer;
use tokio::sync::watch;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::Records;

/// The health service name that is SERVING only in the process that currently projects.
pub const PROJECTOR_HEALTH: &str = "carelog.projector";

/// The health service name that is SERVING while no event is quarantined in the live read
/// models, NOT_SERVING while some client's view is incomplete (see `carelog projections status`).
/// The RecordsService itself keeps serving: one client's incomplete view stops no other reader.
pub const COMPLETE_HEALTH: &str = "carelog.read_models.complete";

/// How often, at most, completeness is looked up again after the checkpoint moved.
const COMPLETENESS_EVERY: Duration = Duration::from_secs(1);

/// Leader election settings (PostgreSQL; with SQLite the one process always projects).
#[derive(Debug, Clone, clap::Args)]
pub struct ProjectorArgs {
    /// How often a standby records process tries to take the projection lock, in milliseconds.
    #[arg(long, env = "CARELOG_PROJECTOR_RETRY_MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub projector_retry_ms: u64,
    /// How often the projecting process checks its lock session is alive, in milliseconds.
    #[arg(long, env = "CARELOG_PROJECTOR_CHECK_MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub projector_check_ms: u64,
    /// How often a standby reads the committed checkpoint (bounds read-your-writes latency), in milliseconds.
    #[arg(long, env = "CARELOG_CHECKPOINT_POLL_MS", default_value_t = 50,
          value_parser = clap::value_parser!(u64).range(5..=10_000))]
    pub checkpoint_poll_ms: u64,
    #[command(flatten)]
    pub commit: ProjectorCommitArg,
    /// Read the read models from this PostgreSQL hot standby (`postgres://…`, same `?schema=` as the
    /// store) instead of the primary; the process then only serves reads and never projects.
    #[arg(long, env = "CARELOG_READ_STORE")]
    pub read_store: Option<String>,
}

/// How often the projecting process commits: a setting of its own, so every command that starts a
/// projector (`carelog serve`, `carelog-records`, `carelog seed`) reads it the same way.
#[derive(Debug, Clone, clap::Args)]
pub struct ProjectorCommitArg {
    /// How often, at most, the projecting process commits read-model changes no reader is waiting
    /// for, in milliseconds: how stale a read without `min_position` may be. A read with
    /// `min_position` in the projecting process makes commits come 2 ms apart until it is answered.
    #[arg(long, env = "CARELOG_PROJECTOR_COMMIT_MS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub projector_commit_ms: u64,
}

impl ProjectorCommitArg {
    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.projector_commit_ms)
    }
}

impl ProjectorArgs {
    pub fn options(&self) -> ProjectorOptions {
        ProjectorOptions {
            election: ElectionOptions {
                retry: Duration::from_millis(self.projector_retry_ms),
                check: Duration::from_millis(self.projector_check_ms),
            },
            checkpoint_poll: Duration::from_millis(self.checkpoint_poll_ms),
            commit_interval: self.commit.interval(),
        }
    }
}

/// Mirrors the projector's role into health: the RecordsService serves unless the projection is
/// stalled here; `carelog.projector` is SERVING only where it leads.
pub(crate) async fn report_health(mut roles: watch::Receiver<ProjectorRole>, health: HealthReporter) {
    loop {
        let role = *roles.borrow_and_update();
        let (records, projector) = match role {
            ProjectorRole::Leading => (ServingStatus::Serving, ServingStatus::Serving),
            ProjectorRole::Starting | ProjectorRole::Following => (ServingStatus::Serving, ServingStatus::NotServing),
            ProjectorRole::Stalled => (ServingStatus::NotServing, ServingStatus::NotServing),
        };
        match records {
            ServingStatus::Serving => health.set_serving::<RecordsServiceServer<Records>>().await,
            _ => health.set_not_serving::<RecordsServiceServer<Records>>().await,
        }
        health.set_service_status(PROJECTOR_HEALTH, projector).await;
        if roles.changed().await.is_err() {
            return;
        }
    }
}

/// Mirrors the live read models' quarantine into health ([`COMPLETE_HEALTH`]) as the checkpoint
/// moves (a rebuild that clears it moves it too). A failed lookup is UNKNOWN, not an alarm.
pub(crate) async fn report_completeness(
    models: ReadModels,
    mut checkpoints: watch::Receiver<u64>,
    health: HealthReporter,
) {
    loop {
        let status = match models.quarantined(RECORDS).await {
            Ok(quarantined) if quarantined.is_empty() => ServingStatus::Serving,
            Ok(_) => ServingStatus::NotServing,
            Err(error) => {
                tracing::warn!(%error, "could not read the quarantine of the read models");
                ServingStatus::Unknown
            }
        };
        health.set_service_status(COMPLETE_HEALTH, status).await;
        tokio::time::sleep(COMPLETENESS_EVERY).await;
        if checkpoints.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        projector: ProjectorArgs,
    }

    fn commit_interval(value: &str) -> Result<Duration, clap::Error> {
        Cli::try_parse_from(["carelog-records", "--projector-commit-ms", value])
            .map(|cli| cli.projector.options().commit_interval)
    }

    #[test]
    fn the_commit_interval_is_refused_outside_1_to_10000_ms() {
        assert_eq!(commit_interval("1").unwrap(), Duration::from_millis(1));
        assert_eq!(commit_interval("10000").unwrap(), Duration::from_secs(10));
        for hostile in ["0", "10001", "-1", "18446744073709551616", "20ms", "", "2\0"] {
            assert!(commit_interval(hostile).is_err(), "{hostile:?} is refused");
        }
        let default = Cli::try_parse_from(["carelog-records"]).unwrap().projector.options();
        assert_eq!(default.commit_interval, ProjectorOptions::default().commit_interval);
    }
}
