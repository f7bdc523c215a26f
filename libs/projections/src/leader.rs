//! Leader election for the projection runner: one process projects, the others stand by.
//!
//! On PostgreSQL the leader holds a session-level advisory lock on a connection of its own, outside
//! the pool. PostgreSQL releases the lock the moment that session ends (process killed, connection
//! cut), so a follower that retries `pg_try_advisory_lock` takes over without any lease timer. On
//! SQLite one process owns the file, so it always leads.
//!
//! The election saves work; it is not what keeps the read models exact. Every batch still commits
//! only if the checkpoint it started from is current, so even two leaders for a moment (a leader
//! that has not yet noticed its session died) never apply an event twice.

mod postgres;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::ProjectionError;
use crate::persist::ReadModels;

pub use postgres::PostgresLock;

/// The lock processes take turns on to project (the port; one adapter per backend that has one).
#[async_trait]
pub trait LeaderLock: Send + Sync + std::fmt::Debug {
    /// One attempt to take the lock for `projection`: the lease if this process now holds it.
    async fn try_take(&self, projection: &str) -> Result<Option<Box<dyn Lease>>, ProjectionError>;
}

/// A held lock.
#[async_trait]
pub trait Lease: Send + std::fmt::Debug {
    /// Fails if the session holding the lock died or did not answer within `within`.
    async fn check(&mut self, within: Duration) -> Result<(), ProjectionError>;
    /// Gives the lock up at once and ends the session.
    async fn release(self: Box<Self>);
}

/// How a process takes part in the election.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElectionOptions {
    /// How often a follower tries to take the lock.
    pub retry: Duration,
    /// How often the leader checks that its lock session is still alive (and gives up leading
    /// within this long of losing it).
    pub check: Duration,
}

impl Default for ElectionOptions {
    fn default() -> Self {
        Self { retry: Duration::from_secs(1), check: Duration::from_secs(1) }
    }
}

/// The election for one projection in one log.
#[derive(Debug, Clone)]
pub struct Election {
    /// `None` where one process owns the database (SQLite): it always leads.
    lock: Option<Arc<dyn LeaderLock>>,
    projection: String,
    options: ElectionOptions,
}

impl Election {
    /// The election for `projection` in the read models' database.
    pub fn new(models: &ReadModels, projection: &str, options: ElectionOptions) -> Self {
        Self { lock: models.leader_lock(), projection: projection.to_owned(), options }
    }

    pub fn options(&self) -> ElectionOptions {
        if self.is_alone() { ElectionOptions::default() } else { self.options }
    }

    /// Whether this process leads alone: no other process can project this log.
    pub fn is_alone(&self) -> bool {
        self.lock.is_none()
    }

    /// One attempt to lead: `Some` if this process now holds the lock, `None` if another does.
    pub async fn try_lead(&self) -> Result<Option<Leadership>, ProjectionError> {
        let Some(lock) = &self.lock else {
            return Ok(Some(Leadership { lease: None, check: Duration::MAX }));
        };
        let lease = lock.try_take(&self.projection).await?;
        Ok(lease.map(|lease| Leadership { lease: Some(lease), check: self.options.check }))
    }
}

/// Held while this process leads; dropping it gives up the lead.
#[derive(Debug)]
pub struct Leadership {
    /// The held lock; `None` when alone (SQLite).
    lease: Option<Box<dyn Lease>>,
    check: Duration,
}

impl Leadership {
    /// Resolves when the lead is lost: the lock session died or stopped answering. Never resolves
    /// for a process that leads alone.
    pub async fn lost(&mut self) -> ProjectionError {
        let Some(lease) = self.lease.as_mut() else {
            return std::future::pending().await;
        };
        loop {
            tokio::time::sleep(self.check).await;
            // A slow answer counts as an unhealthy session: stop projecting rather than risk it.
            if let Err(error) = lease.check(self.check.max(Duration::from_secs(1))).await {
                return error;
            }
        }
    }

    /// Gives up the lead at once (a follower can take it on its next try) and closes the session.
    pub async fn release(mut self) {
        if let Some(lease) = self.lease.take() {
            lease.release().await;
        }
    }

    /// Whether this process leads alone (no other process can project this log).
    pub fn is_alone(&self) -> bool {
        self.lease.is_none()
    }
}

#[cfg(test)]
#[path = "leader_tests.rs"]
mod tests;
