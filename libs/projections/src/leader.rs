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

use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use crate::ProjectionError;
use crate::persist::ReadModels;

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
pub enum Election {
    /// SQLite: the only process that can write the file leads.
    Alone,
    Postgres {
        connect: Box<PgConnectOptions>,
        projection: String,
        options: ElectionOptions,
    },
}

impl Election {
    /// The election for `projection` in the read models' database. On PostgreSQL the lock session
    /// uses the pool's connection settings (same server, same schema).
    pub fn new(models: &ReadModels, projection: &str, options: ElectionOptions) -> Self {
        match models {
            ReadModels::Sqlite(_) => Election::Alone,
            ReadModels::Postgres(pool) => Election::Postgres {
                connect: Box::new((*pool.connect_options()).clone()),
                projection: projection.to_owned(),
                options,
            },
        }
    }

    pub fn options(&self) -> ElectionOptions {
        match self {
            Election::Alone => ElectionOptions::default(),
            Election::Postgres { options, .. } => *options,
        }
    }

    /// One attempt to lead: `Some` if this process now holds the lock, `None` if another does.
    pub async fn try_lead(&self) -> Result<Option<Leadership>, ProjectionError> {
        let Election::Postgres { connect, projection, options } = self else {
            return Ok(Some(Leadership { session: None, check: Duration::MAX }));
        };
        let mut conn = carelog_store::postgres_ha::connect_bounded(connect).await?;
        // Without keepalives a leader cut off by the network would hold its session (and the lock)
        // until the server's TCP stack gives up, which by default takes hours.
        sqlx::raw_sql("SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3")
            .execute(&mut conn)
            .await?;
        let (won,): (bool,) = sqlx::query_as(TRY_LOCK).bind(projection).fetch_one(&mut conn).await?;
        if !won {
            // Closing politely keeps the server's log free of "unexpected EOF" lines.
            let _ = conn.close().await;
            return Ok(None);
        }
        Ok(Some(Leadership { session: Some(conn), check: options.check }))
    }
}

/// The advisory lock's key is one per projection per schema, since locks are per database and
/// several logs (schemas) may share one. A hot standby grants advisory locks too, but cannot take
/// the projection's writes: during a failover a connection may land on a node that is (still or
/// already) a standby, and a process must not lead from there.
const TRY_LOCK: &str = "SELECT CASE WHEN pg_is_in_recovery() THEN false
     ELSE pg_try_advisory_lock(hashtextextended('carelog.projection:' || current_schema() || ':' || $1, 0)) END";

/// Held while this process leads; dropping it gives up the lead.
#[derive(Debug)]
pub struct Leadership {
    /// The session holding the lock; `None` when alone (SQLite).
    session: Option<PgConnection>,
    check: Duration,
}

impl Leadership {
    /// Resolves when the lead is lost: the lock session died or stopped answering. Never resolves
    /// for a process that leads alone.
    pub async fn lost(&mut self) -> ProjectionError {
        let Some(session) = self.session.as_mut() else {
            return std::future::pending().await;
        };
        loop {
            tokio::time::sleep(self.check).await;
            // A slow answer counts as an unhealthy session: stop projecting rather than risk it.
            let answer = tokio::time::timeout(self.check.max(Duration::from_secs(1)), session.ping()).await;
            match answer {
                Ok(Ok(())) => continue,
                Ok(Err(error)) => return error.into(),
                Err(_) => {
                    return ProjectionError::Database(format!(
                        "the leader's lock session did not answer within {:?}",
                        self.check.max(Duration::from_secs(1))
                    ));
                }
            }
        }
    }

    /// Gives up the lead at once (a follower can take it on its next try) and closes the session.
    pub async fn release(mut self) {
        if let Some(mut session) = self.session.take() {
            let _ = sqlx::query("SELECT pg_advisory_unlock_all()").execute(&mut session).await;
            let _ = session.close().await;
        }
    }

    /// Whether this process leads alone (no other process can project this log).
    pub fn is_alone(&self) -> bool {
        self.session.is_none()
    }
}

#[cfg(test)]
#[path = "leader_tests.rs"]
mod tests;
