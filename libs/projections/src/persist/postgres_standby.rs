//! The read models on a hot standby of the primary's PostgreSQL, for a records replica that never
//! projects (`--read-store`). Read-your-writes holds because the checkpoint it publishes is one
//! the standby has replayed.
//!
//! A pool of several connections behind a load balancer may span standbys that replayed different
//! amounts, and a standby failing over moves the connections to another one that may be behind.
//! So a connection is handed out only once its server has replayed at least the checkpoint already
//! published (the floor; one short query per checkout, in place of the pool's ping): a read then
//! shows every document the published checkpoint promises, whichever standby it lands on.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use carelog_store::postgres_ha;

use super::postgres::LIVE_CHECKPOINT;
use super::{PostgresReadModels, ReadModels};
use crate::ProjectionError;

/// Connections of a replica's pool on its standby.
const READ_POOL: u32 = 16;
/// Longest a new connection waits for its standby to catch up with the published checkpoint.
const CATCH_UP: Duration = Duration::from_secs(5);

/// One projection's read models on a standby, and the floor its connections must have replayed.
#[derive(Debug, Clone)]
pub struct StandbyReadModels {
    models: ReadModels,
    projection: &'static str,
    floor: Arc<AtomicU64>,
}

impl StandbyReadModels {
    /// Connects to the standby `url` names (`?schema=NAME` as for the store) for `projection`.
    pub async fn connect(url: &str, projection: &'static str) -> Result<Self, ProjectionError> {
        let floor = Arc::new(AtomicU64::new(0));
        let (fresh, reused) = (Arc::clone(&floor), Arc::clone(&floor));
        let pool = postgres_ha::pool_options(READ_POOL)
            // The check below is a round trip on every checkout anyway: it replaces the ping.
            .test_before_acquire(false)
            .after_connect(move |conn, _| {
                let floor = fresh.load(Ordering::Acquire);
                Box::pin(async move { caught_up(conn, projection, floor).await })
            })
            .before_acquire(move |conn, _| {
                let floor = reused.load(Ordering::Acquire);
                Box::pin(async move { caught_up(conn, projection, floor).await.map(|()| true) })
            })
            .connect_with(postgres_ha::standby_options(url)?)
            .await?;
        let models = ReadModels::on(Arc::new(PostgresReadModels::new(pool)));
        Ok(Self { models, projection, floor })
    }

    /// The read models as the standby has replayed them (read-only: never migrated from here).
    pub fn read_models(&self) -> ReadModels {
        self.models.clone()
    }

    /// The live checkpoint the standby has replayed (None before the primary created the
    /// projection). Connections handed out from now on have replayed at least this far.
    pub async fn replayed_checkpoint(&self) -> Result<Option<u64>, ProjectionError> {
        let replayed = self.models.live_checkpoint(self.projection).await?;
        if let Some(checkpoint) = replayed {
            self.floor.fetch_max(checkpoint, Ordering::AcqRel);
        }
        Ok(replayed)
    }
}

/// Waits (bounded) until the connection's server has replayed checkpoint `floor`.
async fn caught_up(conn: &mut sqlx::PgConnection, projection: &str, floor: u64) -> Result<(), sqlx::Error> {
    let deadline = tokio::time::Instant::now() + CATCH_UP;
    loop {
        let found: Option<(i64,)> = sqlx::query_as(LIVE_CHECKPOINT).bind(projection).fetch_optional(&mut *conn).await?;
        let replayed = found.map_or(0, |(c,)| c.max(0) as u64);
        if replayed >= floor {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(sqlx::Error::Protocol(format!(
                "this standby replayed checkpoint {replayed}, behind {floor} already served; trying another"
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
