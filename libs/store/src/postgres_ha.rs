//! Connecting to a PostgreSQL that can fail over (Patroni behind HAProxy, CloudNativePG, a managed
//! Multi-AZ service): every session is bounded in time, so a primary that vanishes mid-call turns
//! into `Unavailable` within seconds and the next call opens a fresh connection to whichever node
//! leads now — never a wait for the operating system to give up on a dead socket.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, PgConnection, PgPool};

use crate::error::StoreError;
use crate::open::redact_password;

/// Longest wait for one connection (TCP, TLS, authentication); through HAProxy during a failover
/// the attempt fails at once or hangs on a half-dead node, and a caller would rather retry.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a group commit may take before the writer gives up on its connection: the batch then
/// fails with `Unavailable` (its outcome unknown to the callers, who retry with the same command ids,
/// which are idempotent), and the next batch reconnects instead of queueing behind a dead socket.
pub const BATCH_TIMEOUT: Duration = Duration::from_secs(30);
/// Pooled connections are replaced this often, so a pool drifts back onto a node that was away.
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);
const IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The settings every session of the store gets: server-side TCP keepalives, so the server ends a
/// session whose client vanished (and releases its locks: the projector's advisory lock, a writer's
/// `log_head` row) within about 25 s instead of hours. A statement timeout, if wanted, comes from the
/// URL (`?options=-c%20statement_timeout%3D30s`), as with libpq.
pub fn with_session_settings(connect: PgConnectOptions) -> PgConnectOptions {
    connect.options([("tcp_keepalives_idle", "10"), ("tcp_keepalives_interval", "5"), ("tcp_keepalives_count", "3")])
}

/// A pool whose dead connections are found before use and replaced: each checkout pings its
/// connection, and opening one is bounded by [`CONNECT_TIMEOUT`].
pub fn pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections.max(2))
        .acquire_timeout(CONNECT_TIMEOUT * 2)
        .test_before_acquire(true)
        .max_lifetime(MAX_LIFETIME)
        .idle_timeout(IDLE_TIMEOUT)
}

/// One connection outside the pool (the writer's, a listener's), bounded by [`CONNECT_TIMEOUT`].
pub async fn connect_bounded(connect: &PgConnectOptions) -> Result<PgConnection, StoreError> {
    match tokio::time::timeout(CONNECT_TIMEOUT, connect.connect()).await {
        Ok(connected) => Ok(connected?),
        Err(_) => Err(StoreError::Unavailable(format!(
            "no PostgreSQL connection within {CONNECT_TIMEOUT:?} (a failover in progress?); retry"
        ))),
    }
}

/// `CREATE SCHEMA IF NOT EXISTS` is not safe against itself: two processes starting together on a
/// fresh database both pass the "not exists" check and one fails on `pg_namespace_nspname_index`.
/// A transaction-scoped advisory lock makes the second wait and then find the schema there.
pub async fn create_schema(pool: &PgPool, schema: &str) -> Result<(), StoreError> {
    let mut tx = crate::postgres_begin::begin_uncancellable(pool).await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('carelog.create_schema:' || $1, 0))")
        .bind(schema)
        .execute(&mut *tx)
        .await?;
    sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// The connection settings of a hot standby to read from (`--read-store URL`, with `?schema=NAME` as
/// in the store's URL): read-only sessions in the log's schema. No migrations run there (a standby
/// refuses writes; the primary's reach it through replication).
pub fn standby_options(url: &str) -> Result<PgConnectOptions, StoreError> {
    let shown = redact_password(url);
    let (url, schema) = crate::open::schema_parameter(url);
    let mut connect = PgConnectOptions::from_str(&url)
        .map_err(|e| StoreError::Unavailable(format!("--read-store {shown} is not a PostgreSQL URL: {e}")))?
        .options([("plan_cache_mode", "force_custom_plan"), ("default_transaction_read_only", "on")]);
    if let Some(schema) = &schema {
        crate::open::validate_schema(schema).map_err(|e| StoreError::Unavailable(format!("--read-store: {e}")))?;
        connect = connect.options([("search_path", schema.as_str())]);
    }
    Ok(with_session_settings(connect))
}
