//! The SQLite writer runs on a thread of its own (its calls block): a commit never waits for a
//! free thread of the caller's runtime, and the thread ends with the store.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use carelog_store::{AppendRequest, EventStore, ExpectedRevision, SqliteStore};

use crate::support::{events, stream};

const PATIENCE: Duration = Duration::from_secs(5);

fn stored_events(path: &Path) -> i64 {
    let conn = rusqlite::Connection::open(path).expect("open the log beside the store");
    conn.query_row("SELECT count(*) FROM events", [], |row| row.get(0)).expect("count the log's events")
}

/// The store is opened on a runtime with one thread, which the test then blocks while another
/// thread appends: the commit still lands, because no task of the opening runtime takes part in it.
#[tokio::test(flavor = "current_thread")]
async fn an_append_commits_while_the_runtime_that_opened_the_store_is_blocked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("carelog.db");
    let store = Arc::new(SqliteStore::open(&path).await.expect("open sqlite store"));
    let (answer, answered) = std::sync::mpsc::channel();
    let caller = Arc::clone(&store);
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("caller's runtime");
        let request = AppendRequest::new(stream("client-1"), ExpectedRevision::NoStream, events(2));
        let _ = answer.send(runtime.block_on(caller.append(request)));
    });
    // Blocks this runtime's only thread until the answer comes.
    let appended =
        answered.recv_timeout(PATIENCE).expect("the append was not answered while the opening runtime was blocked");
    assert_eq!(appended.expect("append").first_position.0, 1);
    assert_eq!(stored_events(&path), 2);
}

/// Dropping the store ends its writer thread, which closes the last connection to the file: SQLite
/// then folds the WAL into the file and removes it. A writer that outlived its store would keep it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writer_thread_ends_with_its_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("carelog.db");
    let store = SqliteStore::open(&path).await.expect("open sqlite store");
    store.append(AppendRequest::new(stream("client-1"), ExpectedRevision::NoStream, events(1))).await.expect("append");
    let wal = dir.path().join("carelog.db-wal");
    assert!(wal.exists(), "a store in WAL mode keeps a WAL while open");
    drop(store);
    let deadline = Instant::now() + PATIENCE;
    while wal.exists() {
        assert!(Instant::now() < deadline, "a connection to the file outlived its store (the WAL is still there)");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(stored_events(&path), 1);
}
