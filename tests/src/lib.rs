//! The black-box test harness: starts the all-in-one server on port 0 over a fresh store (a temp
//! SQLite file or a fresh PostgreSQL schema) and hands out gRPC clients that name their caller.

#![forbid(unsafe_code)]

use std::sync::Arc;

use carelog_proto::v1::CommandContext;
use carelog_proto::v1::billing_service_client::BillingServiceClient;
use carelog_proto::v1::intake_service_client::IntakeServiceClient;
use carelog_proto::v1::records_service_client::RecordsServiceClient;
use carelog_proto::v1::session_service_client::SessionServiceClient;
use carelog_proto::v1::treatment_planning_service_client::TreatmentPlanningServiceClient;
use carelog_store::{EventStore, PostgresOptions, PostgresStore, SqliteStore};
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

/// A caller: the headers every request carries until bearer tokens arrive.
#[derive(Debug, Clone)]
pub struct Caller {
    pub id: Uuid,
    pub role: &'static str,
}

impl Caller {
    pub fn new(role: &'static str) -> Self {
        Self { id: Uuid::now_v7(), role }
    }
}

/// Adds the caller's headers to every request.
#[derive(Debug, Clone)]
pub struct CallerHeaders(Caller);

impl CallerHeaders {
    pub fn new(caller: Caller) -> Self {
        Self(caller)
    }
}

impl tonic::service::Interceptor for CallerHeaders {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let id = self.0.id.to_string().parse().map_err(|_| Status::internal("caller id"))?;
        let role = self.0.role.parse().map_err(|_| Status::internal("caller role"))?;
        request.metadata_mut().insert("x-carelog-actor", id);
        request.metadata_mut().insert("x-carelog-role", role);
        Ok(request)
    }
}

pub type Authed = InterceptedService<Channel, CallerHeaders>;

/// The server under test and its store.
#[derive(Debug)]
pub struct TestApp {
    pub backend: Backend,
    pub store: Arc<dyn EventStore>,
    server: Option<carelog::app::RunningServer>,
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

    /// `spawn` with a practice's settings (review interval, fees, overdue-review policy).
    pub async fn spawn_with(backend: Backend, config: carelog::app::AppConfig) -> Self {
        let (store, cleanup): (Arc<dyn EventStore>, Cleanup) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let store = SqliteStore::open(dir.path().join("carelog.db")).await.expect("open sqlite");
                (Arc::new(store), Cleanup::Sqlite(dir))
            }
            Backend::Postgres => {
                let url = std::env::var("DATABASE_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
                let schema = format!("carelog_api_{}", Uuid::new_v4().simple());
                let store = PostgresStore::connect_with(PostgresOptions::new(&url).schema(&schema))
                    .await
                    .unwrap_or_else(|e| panic!("these tests need PostgreSQL: {e}\nstart it or set DATABASE_URL"));
                let pool = store.pool().clone();
                (Arc::new(store), Cleanup::Postgres { pool, schema })
            }
        };
        let server = carelog::app::start_with(Arc::clone(&store), "127.0.0.1:0".parse().expect("addr"), config)
            .await
            .expect("start server");
        let channel = Channel::from_shared(server.url()).expect("url").connect().await.expect("connect");
        let addr = server.addr;
        Self { backend, store, server: Some(server), addr, channel, cleanup }
    }

    pub fn intake(&self, caller: &Caller) -> IntakeServiceClient<Authed> {
        IntakeServiceClient::with_interceptor(self.channel.clone(), CallerHeaders(caller.clone()))
    }

    pub fn planning(&self, caller: &Caller) -> TreatmentPlanningServiceClient<Authed> {
        TreatmentPlanningServiceClient::with_interceptor(self.channel.clone(), CallerHeaders(caller.clone()))
    }

    pub fn sessions(&self, caller: &Caller) -> SessionServiceClient<Authed> {
        SessionServiceClient::with_interceptor(self.channel.clone(), CallerHeaders(caller.clone()))
    }

    pub fn billing(&self, caller: &Caller) -> BillingServiceClient<Authed> {
        BillingServiceClient::with_interceptor(self.channel.clone(), CallerHeaders(caller.clone()))
    }

    pub fn records(&self, caller: &Caller) -> RecordsServiceClient<Authed> {
        RecordsServiceClient::with_interceptor(self.channel.clone(), CallerHeaders(caller.clone()))
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
        match self.store.database() {
            carelog_store::Database::Sqlite(pool) => {
                for trigger in ["events_no_update", "events_no_delete"] {
                    let drop = format!("DROP TRIGGER IF EXISTS {trigger}");
                    sqlx::query(AssertSqlSafe(drop)).execute(&pool).await.expect("drop trigger");
                }
                sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(&pool).await.expect("tamper");
            }
            carelog_store::Database::Postgres(pool) => {
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
