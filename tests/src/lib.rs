//! The black-box test harness: starts the all-in-one server on port 0 over a fresh store (a temp
//! SQLite file or a fresh PostgreSQL schema) and hands out gRPC clients that name their caller.

#![forbid(unsafe_code)]

pub mod minimum_necessary;

use std::sync::Arc;

use carelog_auth::token::{DEFAULT_AUDIENCE, DEFAULT_ISSUER};
use carelog_auth::{Authenticator, CallAs, Credentials, TokenIssuer, TokenVerifier};
use carelog_proto::v1::CommandContext;
use carelog_proto::v1::billing_service_client::BillingServiceClient;
use carelog_proto::v1::intake_service_client::IntakeServiceClient;
use carelog_proto::v1::proof_service_client::ProofServiceClient;
use carelog_proto::v1::records_service_client::RecordsServiceClient;
use carelog_proto::v1::session_service_client::SessionServiceClient;
use carelog_proto::v1::treatment_planning_service_client::TreatmentPlanningServiceClient;
use carelog_store::{Database, EventStore, OpenedStore, PostgresOptions, PostgresStore, SqliteStore};
use sqlx::AssertSqlSafe;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;
use uuid::Uuid;

/// Which event store the server under test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A caller: a user in a role. Clinicians and supervisors act as the clinician whose id is `id`.
#[derive(Debug, Clone)]
pub struct Caller {
    pub id: Uuid,
    pub role: &'static str,
    /// The display name their token carries, if any.
    pub name: Option<String>,
}

impl Caller {
    pub fn new(role: &'static str) -> Self {
        Self { id: Uuid::now_v7(), role, name: None }
    }

    /// A caller with a known id: for a clinician, the clinician id they act as.
    pub fn with_id(role: &'static str, id: Uuid) -> Self {
        Self { id, role, name: None }
    }

    /// The same caller whose token also carries a display name.
    pub fn named(self, name: &str) -> Self {
        Self { name: Some(name.to_owned()), ..self }
    }

    /// The clinician `id` (as a string, the way requests carry it).
    pub fn clinician(id: &str) -> Self {
        Self::with_id("clinician", Uuid::parse_str(id).expect("a clinician id is a UUID"))
    }
}

/// The shared secret of every server the harness starts: tests mint their callers' tokens from it.
pub const TEST_SECRET: &str = "carelog-black-box-tests-shared-secret-0123456789";

/// The minter of test tokens.
pub fn test_issuer() -> TokenIssuer {
    TokenIssuer::hs256(TEST_SECRET.as_bytes(), DEFAULT_ISSUER, DEFAULT_AUDIENCE).expect("test secret")
}

/// The server side of `TEST_SECRET`.
pub fn test_authenticator() -> Authenticator {
    let verifier = TokenVerifier::hs256(TEST_SECRET.as_bytes(), DEFAULT_ISSUER, DEFAULT_AUDIENCE).expect("test secret");
    Authenticator::Tokens(Box::new(verifier))
}

/// Sends a bearer token minted for the caller with every request.
#[derive(Debug, Clone)]
pub struct CallerHeaders(CallAs);

impl CallerHeaders {
    pub fn new(caller: Caller) -> Self {
        let role = caller.role.parse().unwrap_or_else(|e| panic!("test caller: {e}"));
        Self(Credentials::Issuer(test_issuer()).named_caller(caller.id, role, caller.name.as_deref()))
    }
}

impl tonic::service::Interceptor for CallerHeaders {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        self.0.call(request)
    }
}

pub type Authed = InterceptedService<Channel, CallerHeaders>;

/// The server under test and its store.
#[derive(Debug)]
pub struct TestApp {
    pub backend: Backend,
    pub store: Arc<dyn EventStore>,
    /// The same store with its key store (erasure tests shred through it).
    pub sealed: Arc<carelog_vault::SealedStore>,
    /// The log as stored and its database, as the server was given them.
    pub stored: OpenedStore,
    /// The key the server signs checkpoints with (the one an auditor is given the public half of).
    pub signing_key: ed25519_dalek::SigningKey,
    server: Option<carelog::app::RunningServer>,
    /// What the server was started with, to start it again on the same store.
    config: carelog::app::AppConfig,
    addr: std::net::SocketAddr,
    channel: Channel,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { pool: sqlx::PgPool, schema: String },
}

impl TestApp {
    /// Starts every service on a free loopback port over a fresh store. An unreachable PostgreSQL
    /// fails the test: the PostgreSQL half is never skipped.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, carelog::app::AppConfig::default()).await
    }

    /// `spawn` with a practice's settings (review interval, fees, overdue-review policy). Unless the
    /// settings name one, checkpoints are signed with a fresh configured key, as in production.
    pub async fn spawn_with(backend: Backend, mut config: carelog::app::AppConfig) -> Self {
        config.server.authenticator = test_authenticator();
        let signing_key = match &config.proofs {
            Some(carelog_proofs::ProofsConfig { key: carelog_proofs::KeySource::Given(key), .. }) => key.clone(),
            Some(_) => panic!("give the test server's signing key as KeySource::Given"),
            None => {
                let key = carelog_proofs::keys::generate();
                config.proofs = Some(carelog_proofs::ProofsConfig::with_key(key.clone()));
                key
            }
        };
        let (stored, cleanup): (OpenedStore, Cleanup) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let store = SqliteStore::open(dir.path().join("carelog.db")).await.expect("open sqlite");
                (OpenedStore::sqlite(store), Cleanup::Sqlite(dir))
            }
            Backend::Postgres => {
                // DATABASE_URL, else a testcontainers PostgreSQL when Docker is there, else the local server.
                let url = carelog_testkit::postgres_url().await;
                let schema = format!("carelog_api_{}", Uuid::new_v4().simple());
                let store = PostgresStore::connect_with(PostgresOptions::new(&url).schema(&schema))
                    .await
                    .unwrap_or_else(|e| panic!("these tests need PostgreSQL: {e}\nstart it or set DATABASE_URL"));
                let pool = store.pool().clone();
                (OpenedStore::postgres(store), Cleanup::Postgres { pool, schema })
            }
        };
        // PHI sealed under per-client keys, as every binary opens the store.
        let sealed = carelog_vault::seal(&stored, carelog_vault::SecretKey::generate()).await.expect("open key store");
        let store: Arc<dyn EventStore> = sealed.clone();
        if config.records.search_key.is_none() {
            config.records.search_key = Some(carelog::app::search_key_of(&sealed));
        }
        let app_store = carelog::app::AppStore { log: Arc::clone(&store), stored: stored.clone() };
        let (server, channel) = start_server(app_store, config.clone()).await;
        let addr = server.addr;
        Self { backend, store, sealed, stored, signing_key, server: Some(server), config, addr, channel, cleanup }
    }

    /// What the server runs on: the sealed log, the log as stored and its database.
    pub fn app_store(&self) -> carelog::app::AppStore {
        carelog::app::AppStore { log: Arc::clone(&self.store), stored: self.stored.clone() }
    }

    /// The database the server keeps its read models, client keys and Merkle tree in.
    pub fn database(&self) -> Database {
        self.stored.database.clone()
    }

    /// Stops the server (if running) and starts it again on the same store with the same settings
    /// (the same signing key): an ordinary restart, on a new port. With `proofs`, the server signs
    /// with those settings' key from then on (a key change).
    pub async fn restart_server(&mut self, proofs: Option<carelog_proofs::ProofsConfig>) {
        self.stop_server().await;
        if let Some(proofs) = proofs {
            let carelog_proofs::KeySource::Given(key) = &proofs.key else { panic!("give the key as KeySource::Given") };
            self.signing_key = key.clone();
            self.config.proofs = Some(proofs);
        }
        let (server, channel) = start_server(self.app_store(), self.config.clone()).await;
        self.addr = server.addr;
        self.channel = channel;
        self.server = Some(server);
    }

    /// The folder holding the SQLite file and its WAL (None on PostgreSQL).
    pub fn sqlite_dir(&self) -> Option<&std::path::Path> {
        match &self.cleanup {
            Cleanup::Sqlite(dir) => Some(dir.path()),
            Cleanup::Postgres { .. } => None,
        }
    }

    pub fn intake(&self, caller: &Caller) -> IntakeServiceClient<Authed> {
        IntakeServiceClient::with_interceptor(self.channel.clone(), CallerHeaders::new(caller.clone()))
    }

    pub fn planning(&self, caller: &Caller) -> TreatmentPlanningServiceClient<Authed> {
        TreatmentPlanningServiceClient::with_interceptor(self.channel.clone(), CallerHeaders::new(caller.clone()))
    }

    pub fn sessions(&self, caller: &Caller) -> SessionServiceClient<Authed> {
        SessionServiceClient::with_interceptor(self.channel.clone(), CallerHeaders::new(caller.clone()))
    }

    pub fn billing(&self, caller: &Caller) -> BillingServiceClient<Authed> {
        BillingServiceClient::with_interceptor(self.channel.clone(), CallerHeaders::new(caller.clone()))
    }

    pub fn proofs(&self, caller: &Caller) -> ProofServiceClient<Authed> {
        ProofServiceClient::with_interceptor(self.channel.clone(), CallerHeaders::new(caller.clone()))
    }

    pub fn records(&self, caller: &Caller) -> RecordsServiceClient<Authed> {
        RecordsServiceClient::with_interceptor(self.channel.clone(), CallerHeaders::new(caller.clone()))
    }

    /// Runs the demo episode against this server with callers holding test tokens.
    pub async fn run_demo(&self) -> carelog::demo::Outcome {
        let credentials = Credentials::Issuer(test_issuer());
        carelog::demo::run_with(self.channel().into(), &credentials, |_, _| {})
            .await
            .expect("the demo episode completes")
    }

    /// Stops the server (and with it the live projection) but keeps the store for inspection.
    pub async fn stop_server(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.expect("server stopped cleanly");
        }
    }

    /// Runs SQL behind the services' back, with the guards that keep events immutable switched off:
    /// what an attacker with database access could do.
    pub async fn tamper(&self, sql: &str) {
        match self.database() {
            Database::Sqlite(db) => {
                let conn = rusqlite::Connection::open(db.file().await.expect("a file")).expect("open the file");
                for trigger in ["events_no_update", "events_no_delete"] {
                    conn.execute(&format!("DROP TRIGGER IF EXISTS {trigger}"), []).expect("drop trigger");
                }
                conn.execute_batch(sql).expect("tamper");
            }
            Database::Postgres(pool) => {
                let mut tx = pool.begin().await.expect("begin");
                sqlx::query("ALTER TABLE events DISABLE TRIGGER events_immutable")
                    .execute(&mut *tx)
                    .await
                    .expect("alter");
                sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(&mut *tx).await.expect("tamper");
                tx.commit().await.expect("commit");
            }
        }
    }

    /// Where the server under test listens.
    pub fn address(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// A channel without caller headers.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// The number of events in the log.
    pub async fn event_count(&self) -> u64 {
        self.store.head_position().await.expect("head").0
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.expect("server stopped cleanly");
        }
        if let Cleanup::Postgres { pool, schema } = &self.cleanup {
            let _ =
                sqlx::query(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))).execute(pool).await;
        }
    }
}

async fn start_server(
    store: carelog::app::AppStore,
    config: carelog::app::AppConfig,
) -> (carelog::app::RunningServer, Channel) {
    let server =
        carelog::app::start_with(store, "127.0.0.1:0".parse().expect("addr"), config).await.expect("start server");
    let channel = Channel::from_shared(server.url()).expect("url").connect().await.expect("connect");
    (server, channel)
}

/// A command context with a fresh command id.
pub fn ctx() -> Option<CommandContext> {
    Some(CommandContext { command_id: Uuid::now_v7().to_string(), ..CommandContext::default() })
}

/// A command context with a fresh command id and a reason.
pub fn ctx_because(reason: &str) -> Option<CommandContext> {
    Some(CommandContext {
        command_id: Uuid::now_v7().to_string(),
        reason: reason.to_owned(),
        ..CommandContext::default()
    })
}

/// Asserts a rejection's code and ErrorInfo reason, e.g. `(FailedPrecondition, "CONSENT_NOT_ACTIVE")`.
#[track_caller]
pub fn assert_rejected(status: &Status, code: Code, reason: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    let info = status.get_details_error_info().unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    assert_eq!(info.reason, reason, "{status:?}");
}

/// Asserts INVALID_ARGUMENT naming `field` among its field violations.
#[track_caller]
pub fn assert_invalid_field(status: &Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let bad = status.get_details_bad_request().unwrap_or_else(|| panic!("no BadRequest in {status:?}"));
    let fields: Vec<&str> = bad.field_violations.iter().map(|v| v.field.as_str()).collect();
    assert!(fields.contains(&field), "expected a violation of {field}, got {fields:?}");
}

/// Runs each listed `async fn(&TestApp)` of the calling module against SQLite and PostgreSQL, as
/// tests named `<module>::sqlite::<name>` and `<module>::postgres::<name>`.
#[macro_export]
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let app = $crate::TestApp::spawn($crate::Backend::Sqlite).await;
                    super::$test(&app).await;
                    app.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let app = $crate::TestApp::spawn($crate::Backend::Postgres).await;
                    super::$test(&app).await;
                    app.stop().await;
                }
            )*
        }
    };
}

/// [`on_both_backends`] for tests that restart the server: each gets `&mut TestApp`.
#[macro_export]
macro_rules! on_both_backends_mut {
    ($($test:ident),* $(,)?) => {
        $crate::on_backend_mut!(sqlite, Sqlite, $($test),*);
        $crate::on_backend_mut!(postgres, Postgres, $($test),*);
    };
}

/// One backend's module of [`on_both_backends_mut`].
#[doc(hidden)]
#[macro_export]
macro_rules! on_backend_mut {
    ($module:ident, $backend:ident, $($test:ident),*) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let mut app = $crate::TestApp::spawn($crate::Backend::$backend).await;
                    super::$test(&mut app).await;
                    app.stop().await;
                }
            )*
        }
    };
}
