//! The election on a real PostgreSQL (a fresh schema per test) and a real SQLite file.

use std::time::{Duration, Instant};

use carelog_store::{PostgresOptions, PostgresStore, SqliteStore};
use sqlx::AssertSqlSafe;

use super::*;
use crate::RECORDS;

const FAST: ElectionOptions = ElectionOptions { retry: Duration::from_millis(20), check: Duration::from_millis(50) };

/// The read models of a fresh schema, and the store whose pool drops it.
async fn postgres(schema: &str) -> (ReadModels, PostgresStore) {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let store = PostgresStore::connect_with(PostgresOptions::new(&url).schema(schema))
        .await
        .unwrap_or_else(|e| panic!("the election tests need PostgreSQL: {e}\nstart it or set DATABASE_URL"));
    (ReadModels::open(store.database()).await.expect("read models"), store)
}

async fn drop_schema(store: &PostgresStore, schema: &str) {
    let drop = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
    sqlx::query(AssertSqlSafe(drop)).execute(store.pool()).await.expect("drop schema");
}

fn fresh_schema() -> String {
    format!("carelog_leader_{}", uuid::Uuid::new_v4().simple())
}

/// The session holding `projection`'s advisory lock in the store's schema.
async fn session_pid(store: &PostgresStore, projection: &str) -> i32 {
    let (pid,): (i32,) = sqlx::query_as(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
           AND (classid::bigint << 32 | objid::bigint)
             = hashtextextended('carelog.projection:' || current_schema() || ':' || $1, 0)",
    )
    .bind(projection)
    .fetch_one(store.pool())
    .await
    .expect("the lock is held by one session");
    pid
}

#[tokio::test]
async fn one_process_leads_and_another_takes_over_when_the_leaders_session_dies() {
    let schema = fresh_schema();
    let (models, store) = postgres(&schema).await;
    let first = Election::new(&models, RECORDS, FAST);
    let second = Election::new(&models, RECORDS, FAST);

    let mut leader = first.try_lead().await.expect("try").expect("the first try leads");
    assert!(second.try_lead().await.expect("try").is_none(), "a second process must not lead too");

    // What PostgreSQL does when the leading process is killed: its session ends.
    let pid = session_pid(&store, RECORDS).await;
    sqlx::query("SELECT pg_terminate_backend($1)").bind(pid).execute(store.pool()).await.expect("terminate");

    let noticed = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), leader.lost()).await.expect("the old leader notices its loss");
    assert!(noticed.elapsed() < Duration::from_secs(2), "noticed within a few checks: {:?}", noticed.elapsed());
    let taken_over = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(lead) = second.try_lead().await.expect("try") {
                return lead;
            }
            tokio::time::sleep(FAST.retry).await;
        }
    })
    .await
    .expect("the follower takes over");
    assert!(!taken_over.is_alone());
    taken_over.release().await;
    drop_schema(&store, &schema).await;
}

#[tokio::test]
async fn a_released_lead_is_taken_at_the_next_try_and_a_live_lead_is_kept() {
    let schema = fresh_schema();
    let (models, store) = postgres(&schema).await;
    let first = Election::new(&models, RECORDS, FAST);
    let second = Election::new(&models, RECORDS, FAST);
    let mut leader = first.try_lead().await.expect("try").expect("leads");
    // A healthy session is never reported lost.
    assert!(tokio::time::timeout(Duration::from_millis(300), leader.lost()).await.is_err());
    leader.release().await;
    let next = second.try_lead().await.expect("try").expect("a released lock is free at once");
    assert!(first.try_lead().await.expect("try").is_none());
    next.release().await;
    drop_schema(&store, &schema).await;
}

#[tokio::test]
async fn logs_in_different_schemas_elect_their_own_leaders() {
    let (a, b) = (fresh_schema(), fresh_schema());
    let ((models_a, store_a), (models_b, store_b)) = (postgres(&a).await, postgres(&b).await);
    let lead_a = Election::new(&models_a, RECORDS, FAST).try_lead().await.expect("try").expect("leads a");
    let lead_b = Election::new(&models_b, RECORDS, FAST).try_lead().await.expect("try").expect("leads b");
    // Another projection name in the same schema is its own election too.
    let other = Election::new(&models_a, "other", FAST).try_lead().await.expect("try").expect("leads other");
    for lead in [lead_a, lead_b, other] {
        lead.release().await;
    }
    drop_schema(&store_a, &a).await;
    drop_schema(&store_b, &b).await;
}

#[tokio::test]
async fn on_sqlite_the_one_process_always_leads_and_never_loses_the_lead() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path().join("carelog.db")).await.expect("sqlite");
    let models = ReadModels::open(store.database()).await.expect("read models");
    let election = Election::new(&models, RECORDS, FAST);
    assert!(election.is_alone());
    let mut lead = election.try_lead().await.expect("try").expect("always leads");
    assert!(lead.is_alone());
    assert!(tokio::time::timeout(Duration::from_millis(200), lead.lost()).await.is_err());
}
