//! The contract of the vault's storage port ([`ClientKeyRows`]), one suite run on every backend's
//! adapter: a real SQLite file and the real PostgreSQL (a schema of its own per test).

use std::sync::Arc;

use carelog_store::{EventStore, PostgresOptions, PostgresStore, SqliteStore};
use carelog_vault::{ClientKeyRows, StoredKey, key_rows};
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// The port on a backend, with the store that keeps its database open (and the SQLite directory).
struct Backend {
    rows: Arc<dyn ClientKeyRows>,
    has_wal: bool,
    _store: Arc<dyn EventStore>,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn EventStore> = Arc::new(SqliteStore::open(dir.path().join("log.db")).await.unwrap());
    let rows = key_rows(store.database()).await.unwrap();
    Backend { rows, has_wal: true, _store: store, _dir: Some(dir) }
}

async fn postgres() -> Backend {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("carelog_keyrows_{}", Uuid::new_v4().simple());
    let store: Arc<dyn EventStore> = Arc::new(
        PostgresStore::connect_with(PostgresOptions::new(&url).schema(&schema))
            .await
            .unwrap_or_else(|e| panic!("these tests need PostgreSQL: {e}")),
    );
    let rows = key_rows(store.database()).await.unwrap();
    Backend { rows, has_wal: false, _store: store, _dir: None }
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
    b.rows.insert_if_absent(&alice, b"first", Utc::now()).await.unwrap();
    b.rows.insert_if_absent(&alice, b"second", Utc::now()).await.unwrap();
    assert_eq!(b.rows.lookup(&alice).await.unwrap(), StoredKey { wrapped: Some(b"first".to_vec()), shredded: false });
    assert_eq!(b.rows.lookup(&bob).await.unwrap(), StoredKey::default(), "another client's key leaked");
}

async fn concurrent_creators_store_one_key_and_all_read_it(b: Backend) {
    let alice = client();
    let creators = (0..8u8).map(|i| {
        let (rows, alice) = (Arc::clone(&b.rows), alice.clone());
        tokio::spawn(async move {
            rows.insert_if_absent(&alice, &[i; 40], Utc::now()).await.unwrap();
            rows.lookup(&alice).await.unwrap()
        })
    });
    let seen: Vec<StoredKey> = futures::future::try_join_all(creators).await.unwrap();
    let winner = seen[0].wrapped.clone().expect("a key");
    assert!(seen.iter().all(|s| s.wrapped.as_ref() == Some(&winner)), "{seen:?}");
}

async fn a_shred_deletes_the_key_for_good_and_is_harmless_to_repeat(b: Backend) {
    let (alice, bob) = (client(), client());
    b.rows.insert_if_absent(&alice, b"alice", Utc::now()).await.unwrap();
    b.rows.insert_if_absent(&bob, b"bob", Utc::now()).await.unwrap();
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
    b.rows.insert_if_absent(&alice, b"reborn", Utc::now()).await.unwrap();
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
        b.rows.insert_if_absent(id, &[u8::try_from(i).unwrap(); 8], Utc::now()).await.unwrap();
    }
    assert_eq!(b.rows.lookup(&base).await.unwrap(), StoredKey::default());
    for (i, id) in hostile.iter().enumerate() {
        assert_eq!(b.rows.lookup(id).await.unwrap().wrapped, Some(vec![u8::try_from(i).unwrap(); 8]), "{id:?}");
    }
    let nul = format!("{base}\0x");
    if b.rows.insert_if_absent(&nul, b"nul", Utc::now()).await.is_ok() {
        assert_eq!(b.rows.lookup(&nul).await.unwrap().wrapped, Some(b"nul".to_vec()));
    }
    assert_eq!(b.rows.lookup(&base).await.unwrap(), StoredKey::default(), "the NUL id matched its prefix");
}

macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test] async fn $case() { super::$case(super::sqlite().await).await })*
        }
        mod on_postgres {
            $(#[tokio::test] async fn $case() { super::$case(super::postgres().await).await })*
        }
    };
}

on_every_backend!(
    the_first_key_stored_stays_and_nobody_else_sees_it,
    concurrent_creators_store_one_key_and_all_read_it,
    a_shred_deletes_the_key_for_good_and_is_harmless_to_repeat,
    a_client_never_registered_can_be_shredded,
    hostile_client_ids_are_kept_apart,
);
