//! Leader election on PostgreSQL: a session-level advisory lock on a connection of its own,
//! outside the pool. PostgreSQL releases the lock the moment that session ends (process killed,
//! connection cut), so a follower that retries takes over without any lease timer.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use super::{LeaderLock, Lease};
use crate::ProjectionError;

/// The advisory lock's key is one per projection per schema, since locks are per database and
/// several logs (schemas) may share one. A hot standby grants advisory locks too, but cannot take
/// the projection's writes: during a failover a connection may land on a node that is (still or
/// already) a standby, and a process must not lead from there.
const TRY_LOCK: &str = "SELECT CASE WHEN pg_is_in_recovery() THEN false
     ELSE pg_try_advisory_lock(hashtextextended('carelog.projection:' || current_schema() || ':' || $1, 0)) END";

#[derive(Debug, Clone)]
pub struct PostgresLock {
    connect: Box<PgConnectOptions>,
}

impl PostgresLock {
    /// The lock on the server and schema `connect` reaches.
    pub fn new(connect: PgConnectOptions) -> Self {
        Self { connect: Box::new(connect) }
    }
}

#[async_trait]
impl LeaderLock for PostgresLock {
    async fn try_take(&self, projection: &str) -> Result<Option<Box<dyn Lease>>, ProjectionError> {
        let mut conn = carelog_store::postgres_ha::connect_bounded(&self.connect).await?;
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
        Ok(Some(Box::new(SessionLease(conn))))
    }
}

/// The session holding the lock.
#[derive(Debug)]
struct SessionLease(PgConnection);

#[async_trait]
impl Lease for SessionLease {
    async fn check(&mut self, within: Duration) -> Result<(), ProjectionError> {
        match tokio::time::timeout(within, self.0.ping()).await {
            Ok(answer) => Ok(answer?),
            Err(_) => {
                Err(ProjectionError::Database(format!("the leader's lock session did not answer within {within:?}")))
            }
        }
    }

    async fn release(mut self: Box<Self>) {
        let _ = sqlx::query("SELECT pg_advisory_unlock_all()").execute(&mut self.0).await;
        let _ = self.0.close().await;
    }
}
