//! The contract of the vault's storage port ([`ClientKeyRows`]), one suite run on every backend's
//! adapter: a real SQLite file and the real PostgreSQL (a schema of its own per test).

use std::path::PathBuf;
use std::sync::Arc;

use carelog_store::{EventStore, OpenedStore, PostgresOptions, PostgresStore, SqliteStore};
use carelog_vault::{ClientKey, ClientKeyRows, KeyStore, NewKey, SecretKey, StoredKey, key_rows};
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

/// Several clients in one write: a new one gets its key stored, one with a key keeps it, a
/// shredded one gets the tombstone — each answer in the order asked.
async fn keys_stored_together_answer_each_client(b: Backend) {
    let (new, known, erased) = (client(), client(), client());
    b.rows.get_or_insert(&known, b"known", Utc::now()).await.unwrap();
    b.rows.shred(&erased, "Art. 17 request", Utc::now()).await.unwrap();
    let keys: Vec<NewKey> = [(&new, b"fresh"), (&known, b"other"), (&erased, b"again")]
        .into_iter()
        .map(|(client, wrapped)| NewKey { client: client.clone(), wrapped: wrapped.to_vec() })
        .collect();
    let stored = b.rows.get_or_insert_all(&keys, Utc::now()).await.unwrap();
    let key = |wrapped: &[u8]| StoredKey { wrapped: Some(wrapped.to_vec()), shredded: false };
    assert_eq!(stored, [key(b"fresh"), key(b"known"), StoredKey { wrapped: None, shredded: true }]);
    assert_eq!(b.rows.lookup(&new).await.unwrap(), key(b"fresh"));
}

/// The key store combines concurrent creators into shared writes: every caller gets the one key
/// stored for its client, whoever's write stored it.
async fn concurrent_new_clients_in_one_process_each_get_their_stored_key(b: Backend) {
    let master = SecretKey::generate();
    let store = KeyStore::with_rows(Arc::clone(&b.rows), master.clone());
    let clients: Vec<String> = (0..24).map(|_| client()).collect();
    let callers = (0..96).map(|i| {
        let (store, client) = (store.clone(), clients[i % clients.len()].clone());
        tokio::spawn(async move { (client.clone(), store.key_for_writing(&client).await.unwrap()) })
    });
    let got: Vec<(String, ClientKey)> = futures::future::try_join_all(callers).await.unwrap();
    // Another process (no cache): it reads what was stored.
    let fresh = KeyStore::with_rows(Arc::clone(&b.rows), master);
    for (client, key) in got {
        assert!(matches!(key, ClientKey::Key(_)), "{client}");
        assert_eq!(fresh.key_for_reading(&client).await.unwrap(), Some(key), "{client}: not the stored key");
    }
}

carelog_testkit::on_every_backend!(
    sqlite: sqlite, postgres: postgres;
    the_first_key_stored_stays_and_nobody_else_sees_it,
    concurrent_creators_store_one_key_and_all_read_it,
    a_shred_deletes_the_key_for_good_and_is_harmless_to_repeat,
    a_client_never_registered_can_be_shredded,
    hostile_client_ids_are_kept_apart,
    a_stored_key_is_there_when_the_database_is_opened_again,
    keys_stored_together_answer_each_client,
    concurrent_new_clients_in_one_process_each_get_their_stored_key,
);

/// The keys of a file an earlier build wrote (sqlx's migrator, `carelog demo` at f7a732b) open
/// their sealed PHI: nothing migrated again, the demo client's record read in clear through the
/// vault with the master key kept beside it, and a new client's key stored and a shred recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keys_of_a_file_the_sqlx_era_build_wrote_open_its_sealed_record() {
    use carelog_store::{StreamName, StreamQuery};
    let dir = tempfile::tempdir().unwrap();
    let path = carelog_testkit::sqlx_era_demo_file(dir.path());
    let records = || {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let sql = "SELECT version, description, installed_on, success, checksum, execution_time
                   FROM _carelog_vault_migrations ORDER BY version";
        type Record = (i64, String, String, bool, Vec<u8>, i64);
        let row = |r: &rusqlite::Row<'_>| -> rusqlite::Result<Record> {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        };
        let rows = conn.prepare(sql).unwrap().query_map([], row).unwrap().collect::<Result<Vec<_>, _>>();
        rows.unwrap()
    };
    let before = records();
    assert_eq!(before.len(), 1);
    let opened = OpenedStore::sqlite(SqliteStore::open(&path).await.unwrap());
    let master = SecretKey::from_base64(carelog_testkit::SQLX_ERA_DEMO.master_key).unwrap();
    let sealed = carelog_vault::seal(&opened, master).await.expect("the earlier key tables open");
    assert_eq!(records(), before, "nothing migrated again");

    let demo = carelog_testkit::SQLX_ERA_DEMO.client;
    let stream = StreamName::new(format!("client-{demo}")).unwrap();
    let events = sealed.read_stream(&stream, StreamQuery::all()).await.expect("the record opens");
    let registered = events.iter().find(|e| e.event_type == "ClientRegistered").expect("registered");
    let name = registered.data["demographics"]["legal_name"].as_str().expect("a name");
    assert!(!name.is_empty() && !name.starts_with("enc:"), "still sealed: {name}");

    let rows = key_rows(opened.database.clone()).await.unwrap();
    assert!(rows.lookup(demo).await.unwrap().wrapped.is_some(), "the demo client's key");
    let newcomer = client();
    assert_eq!(rows.get_or_insert(&newcomer, b"new", Utc::now()).await.unwrap().wrapped, Some(b"new".to_vec()));
    assert!(rows.shred(&newcomer, "test", Utc::now()).await.unwrap().key_deleted);
    assert!(rows.shredded_at(&newcomer).await.unwrap().is_some());
}
