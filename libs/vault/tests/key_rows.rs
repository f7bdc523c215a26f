//! The contract of the vault's storage port ([`ClientKeyRows`]), one suite run on every backend's
//! adapter: a real SQLite file and the real PostgreSQL (a schema of its own per test).

use std::path::PathBuf;
use std::sync::Arc;

use carelog_store::{EventStore, OpenedStore, PostgresOptions, PostgresStore, SqliteStore};
use carelog_vault::{ClientKeyRows, StoredKey, key_rows};
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// The port on a backend, with the store that keeps its database open (and the SQLite directory).
struct Backend {
    rows: Arc<dyn ClientKeyRows>,
    has_wal: bool,
    place: Place,
    _store: Arc<dyn EventStore>,
    _dir: Option<tempfile::TempDir>,
}

/// Where the backend's database is, to open it again.
#[derive(Clone)]
enum Place {
    Sqlite(PathBuf),
    Postgres { url: String, schema: String },
}

impl Place {
    /// The key rows as another process, or this one after a restart, opens them.
    async fn open(&self) -> (Arc<dyn ClientKeyRows>, Arc<dyn EventStore>) {
        let opened = match self {
            Place::Sqlite(path) => OpenedStore::sqlite(SqliteStore::open(path).await.unwrap()),
            Place::Postgres { url, schema } => OpenedStore::postgres(
                PostgresStore::connect_with(PostgresOptions::new(url).schema(schema))
                    .await
                    .unwrap_or_else(|e| panic!("these tests need PostgreSQL: {e}")),
            ),
        };
        (key_rows(opened.database).await.unwrap(), opened.log)
    }
}

async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let place = Place::Sqlite(dir.path().join("log.db"));
    let (rows, store) = place.open().await;
    Backend { rows, has_wal: true, place, _store: store, _dir: Some(dir) }
}

async fn postgres() -> Backend {
    let url = carelog_testkit::postgres_url().await;
    let place = Place::Postgres { url, schema: format!("carelog_keyrows_{}", Uuid::new_v4().simple()) };
    let (rows, store) = place.open().await;
    Backend { rows, has_wal: false, place, _store: store, _dir: None }
}

fn client() -> String {
    Uuid::now_v7().to_string()
}

/// Times as both backends keep them: whole microseconds.
fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap()
}

async fn the_first_key_stored_stays_and_nobody_else_sees_it(b: Backend) {
    let (alice, bob) = (client(), client());
    assert_eq!(b.rows.lookup(&alice).await.unwrap(), StoredKey::default());
    let first = StoredKey { wrapped: Some(b"first".to_vec()), shredded: false };
    assert_eq!(b.rows.get_or_insert(&alice, b"first", Utc::now()).await.unwrap(), first);
    assert_eq!(b.rows.get_or_insert(&alice, b"second", Utc::now()).await.unwrap(), first, "the stored key, not ours");
    assert_eq!(b.rows.lookup(&alice).await.unwrap(), first);
    assert_eq!(b.rows.lookup(&bob).await.unwrap(), StoredKey::default(), "another client's key leaked");
}

async fn concurrent_creators_store_one_key_and_all_read_it(b: Backend) {
    let alice = client();
    let creators = (0..8u8).map(|i| {
        let (rows, alice) = (Arc::clone(&b.rows), alice.clone());
        tokio::spawn(async move {
            let got = rows.get_or_insert(&alice, &[i; 40], Utc::now()).await.unwrap();
            (got, rows.lookup(&alice).await.unwrap())
        })
    });
    let seen: Vec<(StoredKey, StoredKey)> = futures::future::try_join_all(creators).await.unwrap();
    let winner = seen[0].1.wrapped.clone().expect("a key");
    assert!(seen.iter().all(|(got, looked_up)| got == looked_up && got.wrapped.as_ref() == Some(&winner)), "{seen:?}");
}

async fn a_shred_deletes_the_key_for_good_and_is_harmless_to_repeat(b: Backend) {
    let (alice, bob) = (client(), client());
    b.rows.get_or_insert(&alice, b"alice", Utc::now()).await.unwrap();
    b.rows.get_or_insert(&bob, b"bob", Utc::now()).await.unwrap();
    assert_eq!(b.rows.shredded_at(&alice).await.unwrap(), None);
    let at = Utc::now() - Duration::days(3);

    let first = b.rows.shred(&alice, "Art. 17 request", at).await.unwrap();
    assert!(first.key_deleted);
    assert_eq!(first.wal_truncated, b.has_wal.then_some(true), "no reader holds the WAL here");
    assert_eq!(b.rows.lookup(&alice).await.unwrap(), StoredKey { wrapped: None, shredded: true });
    assert_eq!(b.rows.shredded_at(&alice).await.unwrap(), Some(micros(at)));

    let again = b.rows.shred(&alice, "repeated", Utc::now()).await.unwrap();
    assert!(!again.key_deleted);
    assert_eq!(b.rows.shredded_at(&alice).await.unwrap(), Some(micros(at)), "the first shred's time stays");
    let tombstone = StoredKey { wrapped: None, shredded: true };
    assert_eq!(b.rows.get_or_insert(&alice, b"reborn", Utc::now()).await.unwrap(), tombstone);
    assert_eq!(b.rows.lookup(&alice).await.unwrap().wrapped, None, "a shredded client got a key again");
    assert_eq!(b.rows.lookup(&bob).await.unwrap().wrapped, Some(b"bob".to_vec()), "shredding took a neighbour");
}

async fn a_client_never_registered_can_be_shredded(b: Backend) {
    let ghost = client();
    let report = b.rows.shred(&ghost, "never had a key", Utc::now()).await.unwrap();
    assert!(!report.key_deleted);
    assert_eq!(b.rows.lookup(&ghost).await.unwrap(), StoredKey { wrapped: None, shredded: true });
}

/// Hostile client ids (quotes, wildcards, a long one, Unicode) are kept exactly and never match
/// another id; a NUL is either kept exactly or refused, never confused with the id without it.
async fn hostile_client_ids_are_kept_apart(b: Backend) {
    let base = client();
    let hostile = [
        format!("{base}' OR '1'='1"),
        format!("{base}%"),
        format!("{base}_"),
        base.repeat(300),
        format!("{base}é\u{202e}"),
    ];
    for (i, id) in hostile.iter().enumerate() {
        b.rows.get_or_insert(id, &[u8::try_from(i).unwrap(); 8], Utc::now()).await.unwrap();
    }
    assert_eq!(b.rows.lookup(&base).await.unwrap(), StoredKey::default());
    for (i, id) in hostile.iter().enumerate() {
        assert_eq!(b.rows.lookup(id).await.unwrap().wrapped, Some(vec![u8::try_from(i).unwrap(); 8]), "{id:?}");
    }
    let nul = format!("{base}\0x");
    if b.rows.get_or_insert(&nul, b"nul", Utc::now()).await.is_ok() {
        assert_eq!(b.rows.lookup(&nul).await.unwrap().wrapped, Some(b"nul".to_vec()));
    }
    assert_eq!(b.rows.lookup(&base).await.unwrap(), StoredKey::default(), "the NUL id matched its prefix");
}

/// A key is committed by the write that stores it (without waiting for its WAL flush, but
/// committed): the database opened again, here after this store is gone, has it.
async fn a_stored_key_is_there_when_the_database_is_opened_again(b: Backend) {
    let alice = client();
    b.rows.get_or_insert(&alice, b"kept", Utc::now()).await.unwrap();
    let Backend { rows, place, _store, _dir, .. } = b;
    drop((rows, _store));
    let (reopened, _store) = place.open().await;
    assert_eq!(reopened.lookup(&alice).await.unwrap(), StoredKey { wrapped: Some(b"kept".to_vec()), shredded: false });
}

carelog_testkit::on_every_backend!(
    sqlite: sqlite, postgres: postgres;
    the_first_key_stored_stays_and_nobody_else_sees_it,
    concurrent_creators_store_one_key_and_all_read_it,
    a_shred_deletes_the_key_for_good_and_is_harmless_to_repeat,
    a_client_never_registered_can_be_shredded,
    hostile_client_ids_are_kept_apart,
    a_stored_key_is_there_when_the_database_is_opened_again,
);
