//! A records replica that reads a hot standby (`--read-store`). Read-your-writes holds because the
//! checkpoint it publishes is one the standby has replayed: a read with `min_position` waits until
//! the standby has the caller's write, bounded, and then fails with UNAVAILABLE, never NOT_FOUND.
//!
//! A pool of several connections behind a load balancer may span standbys that replayed different
//! amounts, and a standby failing over moves the connections to another one that may be behind.
//! So a connection is handed out only once its server has replayed at least the checkpoint already
//! published (the floor; one short query per checkout, in place of the pool's ping): a read then
//! shows every document the published checkpoint promises, whichever standby it lands on.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use carelog_projections::persist::{PostgresReadModels, ReadModels};
use carelog_projections::{ProjectorRole, RECORDS};
use carelog_store::postgres_ha;
use sqlx::PgPool;
use tokio::sync::watch;

/// Connections of a replica's pool on its standby.
const READ_POOL: u32 = 16;
/// Longest a new connection waits for its standby to catch up with the published checkpoint.
const CATCH_UP: Duration = Duration::from_secs(5);

const LIVE_CHECKPOINT: &str = "SELECT g.checkpoint FROM projections p
     JOIN projection_generations g ON g.generation = p.live_generation WHERE p.name = $1";

/// The standby's pool and the floor its connections must have replayed.
pub(crate) struct Standby {
    pub pool: PgPool,
    floor: Arc<AtomicU64>,
}

impl Standby {
    /// The read models as the standby has replayed them (read-only: never migrated from here).
    pub(crate) fn read_models(&self) -> ReadModels {
        ReadModels::on(Arc::new(PostgresReadModels::new(self.pool.clone())))
    }
}

pub(crate) async fn connect(url: &str) -> anyhow::Result<Standby> {
    let floor = Arc::new(AtomicU64::new(0));
    let (fresh, reused) = (Arc::clone(&floor), Arc::clone(&floor));
    let pool = postgres_ha::pool_options(READ_POOL)
        // The check below is a round trip on every checkout anyway: it replaces the ping.
        .test_before_acquire(false)
        .after_connect(move |conn, _| {
            let floor = fresh.load(Ordering::Acquire);
            Box::pin(async move { caught_up(conn, floor).await })
        })
        .before_acquire(move |conn, _| {
            let floor = reused.load(Ordering::Acquire);
            Box::pin(async move { caught_up(conn, floor).await.map(|()| true) })
        })
        .connect_with(postgres_ha::standby_options(url)?)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to the read store (--read-store): {e}; is the standby up?"))?;
    Ok(Standby { pool, floor })
}

/// Waits (bounded) until the connection's server has replayed checkpoint `floor`.
async fn caught_up(conn: &mut sqlx::PgConnection, floor: u64) -> Result<(), sqlx::Error> {
    let deadline = tokio::time::Instant::now() + CATCH_UP;
    loop {
        let found: Option<(i64,)> = sqlx::query_as(LIVE_CHECKPOINT).bind(RECORDS).fetch_optional(&mut *conn).await?;
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

/// Publishes the checkpoint the standby has replayed; the replica is Following while it can read
/// it and Stalled (RecordsService NOT_SERVING) while the standby does not answer.
pub(crate) async fn follow(
    standby: Standby,
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
        let found: Result<Option<(i64,)>, _> =
            sqlx::query_as(LIVE_CHECKPOINT).bind(RECORDS).fetch_optional(&standby.pool).await;
        match found {
            Ok(Some((checkpoint,))) => {
                let committed = checkpoint.max(0) as u64;
                standby.floor.fetch_max(committed, Ordering::AcqRel);
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
