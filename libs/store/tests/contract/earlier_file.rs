//! A SQLite file written by an earlier build (sqlx's migrator and pool, `carelog demo` at f7a732b)
//! opens with this one: nothing migrated again, every event read back with its chain intact, the
//! Merkle tree carried on from the nodes that build stored, and new appends chained on.

use carelog_store::merkle::TreeBuilder;
use carelog_store::{
    AppendRequest, EventStore, ExpectedRevision, LogQuery, OpenedStore, Position, SqliteStore, VerifyScope,
};
use carelog_testkit::{SQLX_ERA_DEMO, sqlx_era_demo_file};

use crate::support::{events, stream};

type Recorded = (i64, String, String, bool, Vec<u8>, i64);

/// The log's migration records, every column.
fn recorded_migrations(path: &std::path::Path) -> Vec<Recorded> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let sql = "SELECT version, description, installed_on, success, checksum, execution_time
               FROM _sqlx_migrations ORDER BY version";
    let mut statement = conn.prepare(sql).unwrap();
    let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)));
    rows.unwrap().collect::<Result<_, _>>().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_file_written_by_the_sqlx_era_build_opens_verifies_and_takes_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = sqlx_era_demo_file(dir.path());
    let before = recorded_migrations(&path);
    assert_eq!(before.iter().map(|m| m.0).collect::<Vec<_>>(), [1, 2, 3]);

    let store = SqliteStore::open(&path).await.expect("the earlier file opens");
    assert_eq!(recorded_migrations(&path), before, "nothing migrated again, the records untouched");
    let head = SQLX_ERA_DEMO.head;
    assert_eq!(store.head_position().await.unwrap(), Position(head));
    let all = store.read_all(&LogQuery::from(Position(1), 1_000)).await.unwrap();
    assert_eq!(all.iter().map(|e| e.position.0).collect::<Vec<_>>(), (1..=head).collect::<Vec<_>>());
    let by_id = store.event_by_id(all[7].event_id).await.unwrap().expect("found by id");
    assert_eq!(by_id.hash, all[7].hash);
    let report = store.verify(&VerifyScope::All, &|_| {}).await.unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!((report.events_checked, report.streams_checked), (head, SQLX_ERA_DEMO.streams));

    let s = stream("client-after-the-upgrade");
    store.append(AppendRequest::new(s.clone(), ExpectedRevision::NoStream, events(2))).await.unwrap();
    assert_eq!(store.head_position().await.unwrap(), Position(head + 2));
    let report = store.verify(&VerifyScope::All, &|_| {}).await.unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);

    let opened = OpenedStore::sqlite(store);
    let builder = TreeBuilder::new(&opened);
    assert_eq!(builder.tree().head().await.unwrap().0, SQLX_ERA_DEMO.merkle_size, "the earlier build's tree");
    assert_eq!(builder.catch_up().await.unwrap(), head + 2);
    builder.tree().check_rows(head + 2, &[SQLX_ERA_DEMO.merkle_size]).await.unwrap();
}
