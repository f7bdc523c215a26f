//! A records replica that reads a hot standby (`--read-store`). Read-your-writes holds because the
//! checkpoint it publishes is one the standby has replayed: a read with `min_position` waits until
//! the standby has the caller's write, bounded, and then fails with UNAVAILABLE, never NOT_FOUND.
//! The standby's connections, and the floor of replayed checkpoints they keep, are the projections'
//! [`StandbyReadModels`].

use std::time::Duration;

use carelog_projections::persist::StandbyReadModels;
use carelog_projections::{ProjectorRole, RECORDS};
use tokio::sync::watch;

pub(crate) async fn connect(url: &str) -> anyhow::Result<StandbyReadModels> {
    StandbyReadModels::connect(url, RECORDS)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to the read store (--read-store): {e}; is the standby up?"))
}

/// Publishes the checkpoint the standby has replayed; the replica is Following while it can read
/// it and Stalled (RecordsService NOT_SERVING) while the standby does not answer.
pub(crate) async fn follow(
    standby: StandbyReadModels,
    poll: Duration,
    checkpoints: watch::Sender<u64>,
    roles: watch::Sender<ProjectorRole>,
) {
    let mut ticks = tokio::time::interval(poll);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            () = checkpoints.closed() => return,
            _ = ticks.tick() => {}
        }
        match standby.replayed_checkpoint().await {
            Ok(Some(committed)) => {
                checkpoints.send_if_modified(|known| {
                    let moved = committed > *known;
                    if moved {
                        *known = committed;
                    }
                    moved
                });
                roles.send_if_modified(|role| {
                    std::mem::replace(role, ProjectorRole::Following) != ProjectorRole::Following
                });
                failing = false;
            }
            // The primary has not created the projection yet (a cold start): nothing to serve yet.
            Ok(None) => {}
            Err(error) => {
                if !failing {
                    tracing::warn!(%error, "cannot read the projection checkpoint on the read store; retrying");
                }
                failing = true;
                roles
                    .send_if_modified(|role| std::mem::replace(role, ProjectorRole::Stalled) != ProjectorRole::Stalled);
            }
        }
    }
}
