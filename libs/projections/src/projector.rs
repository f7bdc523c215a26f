//! The elected projection: every process that serves the read models runs one. It follows — keeps
//! learning the committed checkpoint, so a caller waiting for its own write is answered whichever
//! process projects — until it wins the election, then projects until it loses the lead.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use crate::leader::{Election, ElectionOptions, Leadership};
use crate::live_commit::LIVE_COMMIT_INTERVAL;
use crate::{ProjectionError, RECORDS, Runner, metrics};

/// Pause after a failed projection before trying again (from the last committed checkpoint).
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(2);

/// What this process does for the projection right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectorRole {
    /// Not yet decided (just started).
    Starting,
    /// Another process projects; this one serves the read models it writes.
    Following,
    /// This process projects.
    Leading,
    /// The projection or the election failed here; retrying. Reads may be stale.
    Stalled,
}

/// How a process takes part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectorOptions {
    pub election: ElectionOptions,
    /// How often a follower reads the committed checkpoint.
    pub checkpoint_poll: Duration,
    /// Leading, how often at most document changes are committed when no reader waits for them
    /// (while a reader waits for its own write, commits come 2 ms apart: [`crate::ReadDemand`]).
    pub commit_interval: Duration,
}

impl Default for ProjectorOptions {
    fn default() -> Self {
        Self {
            election: ElectionOptions::default(),
            checkpoint_poll: Duration::from_millis(50),
            commit_interval: LIVE_COMMIT_INTERVAL,
        }
    }
}

#[derive(Debug)]
pub struct Projector {
    runner: Runner,
    election: Election,
    checkpoint_poll: Duration,
}

impl Projector {
    pub fn new(runner: Runner, options: ProjectorOptions) -> Self {
        let election = Election::new(runner.models(), RECORDS, options.election);
        let runner = runner.with_live_commit_interval(options.commit_interval);
        Self { runner, election, checkpoint_poll: options.checkpoint_poll }
    }

    /// Runs until every receiver of `checkpoints` is gone (the server stopped). `checkpoints` learns
    /// every committed checkpoint; `roles` every change of role.
    pub async fn run(self, checkpoints: watch::Sender<u64>, roles: watch::Sender<ProjectorRole>) {
        tokio::select! {
            () = checkpoints.closed() => {}
            () = self.elect_and_project(&checkpoints, &roles) => {}
        }
        metrics::leading(RECORDS, false);
    }

    async fn elect_and_project(&self, checkpoints: &watch::Sender<u64>, roles: &watch::Sender<ProjectorRole>) {
        loop {
            let mut leadership = self.follow_until_elected(checkpoints, roles).await;
            set_role(roles, ProjectorRole::Leading);
            let (_keep_running, stop) = watch::channel(false);
            tokio::select! {
                error = leadership.lost() => {
                    // The session is gone, so is the lock: another process may already project.
                    tracing::warn!(%error, projection = RECORDS, "lost the projector lock; stopped projecting");
                    set_role(roles, ProjectorRole::Following);
                }
                outcome = self.runner.run_live(stop, checkpoints.clone()) => {
                    match outcome {
                        // A failover or restart of the database: nothing for an operator to do.
                        Err(error) if error.is_transient() => {
                            tracing::warn!(%error, projection = RECORDS, "projection paused: database unavailable; retrying in 2 s");
                            set_role(roles, ProjectorRole::Stalled);
                        }
                        Err(error) => {
                            tracing::error!(%error, projection = RECORDS, "projection stopped; retrying in 2 s");
                            set_role(roles, ProjectorRole::Stalled);
                        }
                        Ok(()) => {}
                    }
                    // Let a healthy process take over while this one recovers.
                    leadership.release().await;
                    tokio::time::sleep(RETRY_AFTER_FAILURE).await;
                }
            }
        }
    }

    /// Serves as a follower (tracking the committed checkpoint) until this process wins the lock.
    async fn follow_until_elected(
        &self,
        checkpoints: &watch::Sender<u64>,
        roles: &watch::Sender<ProjectorRole>,
    ) -> Leadership {
        let mut retry = tokio::time::interval(self.election.options().retry);
        retry.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut poll = tokio::time::interval(self.checkpoint_poll);
        poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = retry.tick() => match self.election.try_lead().await {
                    Ok(Some(leadership)) => return leadership,
                    Ok(None) => set_role(roles, ProjectorRole::Following),
                    Err(error) => {
                        tracing::warn!(%error, projection = RECORDS, "cannot take part in the projector election");
                        set_role(roles, ProjectorRole::Stalled);
                    }
                },
                _ = poll.tick() => if let Err(error) = self.refresh(checkpoints).await {
                    tracing::warn!(%error, projection = RECORDS, "cannot read the projection checkpoint");
                },
            }
        }
    }

    /// Publishes the checkpoint the leader last committed (waking only readers it concerns).
    async fn refresh(&self, checkpoints: &watch::Sender<u64>) -> Result<(), ProjectionError> {
        let committed = self.runner.models().live(RECORDS).await?.checkpoint;
        checkpoints.send_if_modified(|known| std::mem::replace(known, committed) != committed);
        Ok(())
    }
}

fn set_role(roles: &watch::Sender<ProjectorRole>, role: ProjectorRole) {
    let changed = roles.send_if_modified(|known| std::mem::replace(known, role) != role);
    if changed {
        metrics::leading(RECORDS, role == ProjectorRole::Leading);
        match role {
            ProjectorRole::Leading => {
                tracing::info!(projection = RECORDS, "projector: leading (holds the projection lock)")
            }
            ProjectorRole::Following => {
                tracing::info!(projection = RECORDS, "projector: following (another process projects)")
            }
            ProjectorRole::Stalled | ProjectorRole::Starting => {
                tracing::warn!(projection = RECORDS, ?role, "projector: stalled")
            }
        }
    }
}
