//! The sealed store over the real SQLite file and the real PostgreSQL: no plaintext PHI at rest,
//! retries still recognised, shredding erases the PHI everywhere while every chain verifies.

use std::sync::Arc;

use carelog_domain::intake::{ClientRegistered, Contact, Demographics, IntakeEvent, Payer};
use carelog_domain::types::{ActorId, ClientId, Email, MemberId, PersonName, ShortText};
use carelog_store::{
    Actor, AppendRequest, AppendWithKeys, Database, EventStore, ExpectedRevision, Metadata, NewEvent, OpenedStore,
    PostgresOptions, PostgresStore, SqliteStore, StoreError, StreamName, StreamQuery, VerifyScope,
};
use carelog_vault::{KeyStore, SealedStore, SecretKey};
use chrono::{NaiveDate, Utc};
use uuid::Uuid;

const NAME: &str = "Zephyrine Quillfeather";
const EMAIL: &str = "zq.vault.test@example.org";

struct Fixture {
    store: SealedStore,
    /// Appends that store a new client's key in their own commit (the store's port).
    first_keys: Option<Arc<dyn AppendWithKeys>>,
    /// The database the store was opened with: the key tables live there.
    database: Database,
    master: SecretKey,
    sqlite_dir: Option<tempfile::TempDir>,
}

impl Fixture {
    async fn new(opened: OpenedStore, sqlite_dir: Option<tempfile::TempDir>) -> Self {
        let master = SecretKey::generate();
        let keys = KeyStore::open(opened.database.clone(), master.clone()).await.unwrap();
        let first_keys = opened.first_keys.clone();
        assert!(first_keys.is_some(), "SQLite and PostgreSQL keep the key table in the log's database");
        let store = SealedStore::new(opened.log, keys).with_first_keys(first_keys.clone());
        Fixture { store, first_keys, database: opened.database, master, sqlite_dir }
    }

    /// Another vault over the same log and keys, with an empty cache: another process.
    async fn fresh_vault(&self) -> SealedStore {
        self.fresh_vault_storing_keys_first().await.with_first_keys(self.first_keys.clone())
    }

    /// A vault that stores each new key (durably) before the append sealed with it, as it does
    /// over a log whose database keeps no key table (KurrentDB).
    async fn fresh_vault_storing_keys_first(&self) -> SealedStore {
        SealedStore::new(
            Arc::clone(self.store.inner()),
            KeyStore::open(self.database.clone(), self.master.clone()).await.unwrap(),
        )
    }
}

async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let opened = OpenedStore::sqlite(SqliteStore::open(dir.path().join("log.db")).await.unwrap());
    Fixture::new(opened, Some(dir)).await
}

async fn postgres() -> Fixture {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("carelog_vault_{}", Uuid::new_v4().simple());
    let opened = OpenedStore::postgres(
        PostgresStore::connect_with(PostgresOptions::new(&url).schema(&schema))
            .await
            .unwrap_or_else(|e| panic!("these tests need PostgreSQL: {e}")),
    );
    Fixture::new(opened, None).await
}

fn registration(client: ClientId) -> NewEvent {
    let event: IntakeEvent = ClientRegistered {
        client_id: client,
        demographics: Demographics {
            legal_name: PersonName::parse(NAME).unwrap(),
            preferred_name: None,
            date_of_birth: NaiveDate::from_ymd_opt(1979, 4, 1),
            contact: Contact { phone: None, email: Some(Email::parse(EMAIL).unwrap()), address: None },
            payer: Payer::Insurance {
                payer_name: ShortText::parse("Blue Plan").unwrap(),
                member_id: MemberId::parse("QZV-778812").unwrap(),
            },
        },
        registered_by: ActorId::new_v4(),
        registered_at: Utc::now(),
    }
    .into();
    let mut metadata = Metadata::by(Actor::new(Uuid::now_v7().to_string(), "intake"), Utc::now());
    metadata.tags.client = Some(client.to_string());
    metadata.reason = Some(format!("walk-in, {NAME} asked for evening slots"));
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: event.event_type().into(),
        schema_version: event.schema_version(),
        data: event.to_data().unwrap(),
        metadata,
    }
}

/// Every byte of the SQLite file and its WAL, or every row of every table in the PostgreSQL schema.
async fn everything_at_rest(f: &Fixture) -> String {
    match (&f.sqlite_dir, f.database.clone()) {
        (Some(dir), _) => {
            let mut all = Vec::new();
            for entry in std::fs::read_dir(dir.path()).unwrap() {
                all.extend(std::fs::read(entry.unwrap().path()).unwrap());
            }
            String::from_utf8_lossy(&all).into_owned()
        }
        (None, Database::Postgres(pool)) => {
            let tables: Vec<(String,)> = sqlx::query_as(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            let mut all = String::new();
            for (table,) in tables {
                let sql = format!("SELECT coalesce(string_agg(t::text, ' '), '') FROM \"{table}\" t");
                let (rows,): (String,) = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_one(&pool).await.unwrap();
                all.push_str(&rows);
            }
            all
        }
        _ => unreachable!(),
    }
}

async fn phi_is_sealed_at_rest_readable_through_the_vault_and_erased_by_shredding(f: Fixture) {
    let client = ClientId::new_v7();
    let stream = StreamName::new(format!("client-{client}")).unwrap();
    let event = registration(client);
    let request = AppendRequest::new(stream.clone(), ExpectedRevision::NoStream, vec![event.clone()]);
    f.store.append(request.clone()).await.unwrap();

    let stored = &f.store.inner().read_stream(&stream, StreamQuery::all()).await.unwrap()[0];
    let raw = stored.data.to_string();
    assert!(!raw.contains(NAME) && !raw.contains(EMAIL) && !raw.contains("1979-04-01"), "{raw}");
    assert!(raw.contains("enc:v1:") && raw.contains("Blue Plan"), "payer names are not PHI: {raw}");
    assert!(!stored.metadata.reason.as_deref().unwrap().contains(NAME));
    let at_rest = everything_at_rest(&f).await;
    assert!(!at_rest.contains(NAME) && !at_rest.contains(EMAIL));

    let read = &f.store.read_stream(&stream, StreamQuery::all()).await.unwrap()[0];
    assert_eq!(read.data, event.data);
    assert_eq!(read.metadata, event.metadata);
    assert!(f.store.append(request).await.unwrap().already_stored, "a retry seals to the same bytes");

    let report = f.store.keys().shred(&client.to_string(), "test erasure").await.unwrap();
    assert!(report.key_deleted);
    let erased = &f.store.read_stream(&stream, StreamQuery::all()).await.unwrap()[0];
    let IntakeEvent::ClientRegistered(e) =
        IntakeEvent::from_stored(&erased.event_type, erased.schema_version, &erased.data).unwrap()
    else {
        unreachable!()
    };
    assert!(e.demographics.legal_name.is_erased());
    assert_eq!(e.demographics.date_of_birth, None);
    assert!(e.demographics.contact.email.unwrap().is_erased());
    assert_eq!(erased.metadata.reason.as_deref(), Some("[erased]"));
    assert_eq!(erased.hash, stored.hash, "the stored event is untouched");
    assert!(f.store.verify(&VerifyScope::All, &|_| {}).await.unwrap().problems.is_empty());
    assert!(!f.store.keys().shred(&client.to_string(), "again").await.unwrap().key_deleted);

    // An erased client gets no new key: PHI about them is refused, not stored readable.
    let later = registration(client);
    let refused = f.store.append(AppendRequest::new(stream, ExpectedRevision::Any, vec![later])).await;
    assert!(matches!(&refused, Err(StoreError::Database(m)) if m.contains("was erased")), "{refused:?}");
}

async fn a_tampered_ciphertext_is_a_corrupt_event_not_a_panic(f: Fixture) {
    let client = ClientId::new_v7();
    let stream = StreamName::new(format!("client-{client}")).unwrap();
    f.store
        .append(AppendRequest::new(stream.clone(), ExpectedRevision::NoStream, vec![registration(client)]))
        .await
        .unwrap();
    let sql_sqlite = "UPDATE events SET data = json_set(data, '$.demographics.legal_name',
                      'enc:v1:' || substr(json_extract(data, '$.demographics.legal_name'), 9))";
    match f.database.clone() {
        Database::Sqlite(db) => {
            let file = rusqlite::Connection::open(db.file().await.unwrap()).unwrap();
            // The log refuses updates; an attacker with the file drops the guard first.
            file.execute("DROP TRIGGER IF EXISTS events_no_update", []).unwrap();
            file.execute(sql_sqlite, []).unwrap();
        }
        Database::Postgres(pool) => {
            sqlx::query("ALTER TABLE events DISABLE TRIGGER events_immutable").execute(&pool).await.unwrap();
            sqlx::query(
                "UPDATE events SET data = jsonb_set(data::jsonb, '{demographics,legal_name}',
                 to_jsonb('enc:v1:' || substr(data::jsonb #>> '{demographics,legal_name}', 9)))::json",
            )
            .execute(&pool)
            .await
            .unwrap();
        }
    }
    let err = f.store.read_stream(&stream, StreamQuery::all()).await.unwrap_err();
    assert!(matches!(&err, StoreError::Corrupt { reason, .. } if reason.contains("demographics.legal_name")), "{err}");
}

async fn stored_keys(f: &Fixture, client: ClientId) -> i64 {
    let (count,): (i64,) = match f.database.clone() {
        Database::Sqlite(db) => {
            let file = rusqlite::Connection::open(db.file().await.unwrap()).unwrap();
            let sql = "SELECT count(*) FROM client_keys WHERE client_id = ?1";
            (file.query_row(sql, [client.to_string()], |r| r.get(0)).unwrap(),)
        }
        Database::Postgres(pool) => sqlx::query_as("SELECT count(*) FROM client_keys WHERE client_id = $1")
            .bind(client.to_string())
            .fetch_one(&pool)
            .await
            .unwrap(),
    };
    count
}

/// How a vault stores a new client's key.
#[derive(Clone, Copy, PartialEq)]
enum NewKeys {
    /// In the commit of the first append sealed with it.
    WithTheAppend,
    /// Get or create, before the append.
    First,
}

/// A new client's key is stored with the first append sealed with it, or (get or create) before
/// it: concurrent first appends, from vaults that share no cache (other processes), all land
/// under the one key that was stored. A refused first append leaves no key when the key goes with
/// the append, and at most one, which the next append uses, when it goes first.
async fn a_new_clients_key_is_stored_with_or_before_its_first_append(f: Fixture, new_keys: NewKeys) {
    let vault = async || match new_keys {
        NewKeys::WithTheAppend => f.fresh_vault().await,
        NewKeys::First => f.fresh_vault_storing_keys_first().await,
    };
    let client = ClientId::new_v7();
    let stream = |i: usize| match i {
        0 => StreamName::new(client.stream_name()).unwrap(),
        i => StreamName::new(format!("client-{client}-{i}")).unwrap(),
    };
    let mut vaults = Vec::new();
    for _ in 0..8 {
        vaults.push(vault().await);
    }
    let firsts = vaults.into_iter().enumerate().map(|(i, vault)| {
        let request = AppendRequest::new(stream(i), ExpectedRevision::NoStream, vec![registration(client)]);
        async move { vault.append(request).await }
    });
    for outcome in futures::future::join_all(firsts).await {
        outcome.expect("every concurrent first append is stored");
    }
    assert_eq!(stored_keys(&f, client).await, 1);
    let fresh = f.fresh_vault().await;
    for i in 0..8 {
        let events = fresh.read_stream(&stream(i), StreamQuery::all()).await.unwrap();
        assert_eq!(events[0].data["demographics"]["legal_name"], NAME, "stream {i}");
    }

    let other = ClientId::new_v7();
    let own = StreamName::new(other.stream_name()).unwrap();
    let refused = AppendRequest::new(own.clone(), ExpectedRevision::Exact(3), vec![registration(other)]);
    assert!(matches!(vault().await.append(refused).await, Err(StoreError::Conflict { .. })));
    match new_keys {
        NewKeys::WithTheAppend => assert_eq!(stored_keys(&f, other).await, 0, "a refused append stores no key"),
        NewKeys::First => assert!(stored_keys(&f, other).await <= 1, "at most an orphan key"),
    }
    let request = AppendRequest::new(own.clone(), ExpectedRevision::NoStream, vec![registration(other)]);
    vault().await.append(request).await.expect("stored");
    assert_eq!(stored_keys(&f, other).await, 1, "one key, used");
    if new_keys == NewKeys::WithTheAppend {
        a_refused_append_takes_its_key_with_it_from_a_batch_that_commits(&f).await;
    }
    let read = f.fresh_vault().await.read_stream(&own, StreamQuery::all()).await.unwrap();
    assert_eq!(read[0].data["demographics"]["legal_name"], NAME);
}

/// Concurrent first appends of one process share a commit; the refused one's key is not kept.
async fn a_refused_append_takes_its_key_with_it_from_a_batch_that_commits(f: &Fixture) {
    let first = |client: ClientId, expected| {
        AppendRequest::new(StreamName::new(client.stream_name()).unwrap(), expected, vec![registration(client)])
    };
    let vault = f.fresh_vault().await;
    let refused_client = ClientId::new_v7();
    let others: Vec<ClientId> = (0..7).map(|_| ClientId::new_v7()).collect();
    let (refused, stored) = tokio::join!(
        vault.append(first(refused_client, ExpectedRevision::Exact(3))),
        futures::future::join_all(others.iter().map(|c| vault.append(first(*c, ExpectedRevision::NoStream)))),
    );
    assert!(matches!(refused, Err(StoreError::Conflict { .. })), "{refused:?}");
    assert!(stored.iter().all(Result::is_ok), "{stored:?}");
    assert_eq!(stored_keys(f, refused_client).await, 0, "the refused append's key went with it");
    for client in others {
        assert_eq!(stored_keys(f, client).await, 1);
    }
}

/// A vault that has not seen the client guesses that the append starting the client's own stream
/// is their first and creates a key without looking first; the store refuses a new key when one
/// is stored, or the client was erased, and the append then goes ahead sealed with the stored key,
/// or is refused, as if looked up first.
async fn a_wrong_guess_of_a_first_key_is_corrected_by_the_store(f: Fixture) {
    let fresh_vault = || f.fresh_vault();
    let own_stream = |client: ClientId| StreamName::new(client.stream_name()).unwrap();
    let other_stream = |client: ClientId| StreamName::new(format!("client-{client}-earlier")).unwrap();

    let keyed = ClientId::new_v7();
    f.store
        .append(AppendRequest::new(other_stream(keyed), ExpectedRevision::NoStream, vec![registration(keyed)]))
        .await
        .unwrap();
    let registration_request =
        AppendRequest::new(own_stream(keyed), ExpectedRevision::NoStream, vec![registration(keyed)]);
    fresh_vault().await.append(registration_request).await.expect("stored under the existing key");
    assert_eq!(stored_keys(&f, keyed).await, 1);
    let read = fresh_vault().await.read_stream(&own_stream(keyed), StreamQuery::all()).await.unwrap();
    assert_eq!(read[0].data["demographics"]["legal_name"], NAME);

    let erased = ClientId::new_v7();
    f.store
        .append(AppendRequest::new(other_stream(erased), ExpectedRevision::NoStream, vec![registration(erased)]))
        .await
        .unwrap();
    f.store.keys().shred(&erased.to_string(), "test erasure").await.unwrap();
    let request = AppendRequest::new(own_stream(erased), ExpectedRevision::NoStream, vec![registration(erased)]);
    let refused = fresh_vault().await.append(request).await;
    assert!(matches!(&refused, Err(StoreError::Database(m)) if m.contains("was erased")), "{refused:?}");
    assert_eq!(f.store.inner().stream_revision(&own_stream(erased)).await.unwrap(), None);
    assert_eq!(stored_keys(&f, erased).await, 0);
}

#[tokio::test]
async fn sqlite_wrong_first_key_guess_is_corrected() {
    a_wrong_guess_of_a_first_key_is_corrected_by_the_store(sqlite().await).await;
}

#[tokio::test]
async fn postgres_wrong_first_key_guess_is_corrected() {
    a_wrong_guess_of_a_first_key_is_corrected_by_the_store(postgres().await).await;
}

#[tokio::test]
async fn sqlite_new_client_key_is_stored_with_its_first_append() {
    a_new_clients_key_is_stored_with_or_before_its_first_append(sqlite().await, NewKeys::WithTheAppend).await;
}

#[tokio::test]
async fn postgres_new_client_key_is_stored_with_its_first_append() {
    a_new_clients_key_is_stored_with_or_before_its_first_append(postgres().await, NewKeys::WithTheAppend).await;
}

#[tokio::test]
async fn sqlite_new_client_key_is_stored_before_its_first_append() {
    a_new_clients_key_is_stored_with_or_before_its_first_append(sqlite().await, NewKeys::First).await;
}

#[tokio::test]
async fn postgres_new_client_key_is_stored_before_its_first_append() {
    a_new_clients_key_is_stored_with_or_before_its_first_append(postgres().await, NewKeys::First).await;
}

#[tokio::test]
async fn sqlite_phi_is_sealed_and_shredded() {
    phi_is_sealed_at_rest_readable_through_the_vault_and_erased_by_shredding(sqlite().await).await;
}

#[tokio::test]
async fn postgres_phi_is_sealed_and_shredded() {
    phi_is_sealed_at_rest_readable_through_the_vault_and_erased_by_shredding(postgres().await).await;
}

#[tokio::test]
async fn sqlite_tampered_ciphertext_is_corrupt() {
    a_tampered_ciphertext_is_a_corrupt_event_not_a_panic(sqlite().await).await;
}

#[tokio::test]
async fn postgres_tampered_ciphertext_is_corrupt() {
    a_tampered_ciphertext_is_a_corrupt_event_not_a_panic(postgres().await).await;
}
