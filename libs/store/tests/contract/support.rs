//! Fresh stores for the contract suite: a temp SQLite file, or a fresh schema on the real PostgreSQL.

use std::sync::Arc;

use carelog_store::{
    Actor, Database, EventStore, Metadata, NewEvent, OpenedStore, PostgresOptions, PostgresStore, SqliteStore,
    StreamName, Tags,
};
use chrono::Utc;
use serde_json::Value;
use sqlx::AssertSqlSafe;
use uuid::Uuid;

/// A store under test plus raw access to its database, to tamper with it as an attacker would.
pub struct Harness {
    pub store: Arc<dyn EventStore>,
    /// The database handle the store was opened with, for the tables kept beside the log.
    pub database: Database,
    /// Appends that carry new clients' keys (the vault's port on this backend).
    pub first_keys: Option<Arc<dyn carelog_store::AppendWithKeys>>,
    backend: Backend,
}

enum Backend {
    Sqlite { path: std::path::PathBuf, _dir: tempfile::TempDir },
    Postgres { url: String, schema: String, pool: sqlx::PgPool },
}

/// DATABASE_URL, else a testcontainers PostgreSQL when Docker is there, else the local server.
pub async fn postgres_url() -> String {
    carelog_testkit::postgres_url().await
}

pub async fn sqlite() -> Harness {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("carelog.db");
    let store = SqliteStore::open(&path).await.expect("open sqlite store");
    let OpenedStore { log, database, first_keys } = OpenedStore::sqlite(store);
    Harness { store: log, database, first_keys, backend: Backend::Sqlite { path, _dir: dir } }
}

/// A fresh schema per test on the configured server. An unreachable server fails the test: the
/// PostgreSQL half of the contract is never skipped silently.
pub async fn postgres() -> Harness {
    let url = postgres_url().await;
    let schema = format!("carelog_test_{}", Uuid::new_v4().simple());
    let store = PostgresStore::connect_with(PostgresOptions::new(&url).schema(&schema)).await.unwrap_or_else(|e| {
        panic!("the PostgreSQL contract tests need a server: {e}\nstart it (see README) or set DATABASE_URL")
    });
    let pool = store.pool().clone();
    let OpenedStore { log, database, first_keys } = OpenedStore::postgres(store);
    Harness { store: log, database, first_keys, backend: Backend::Postgres { url, schema, pool } }
}

impl Harness {
    /// The store as `carelog_store::open` hands it out.
    pub fn opened(&self) -> OpenedStore {
        OpenedStore {
            log: Arc::clone(&self.store),
            database: self.database.clone(),
            first_keys: self.first_keys.clone(),
        }
    }

    /// The SQLite file under test; `None` on a server.
    pub fn sqlite_file(&self) -> Option<&std::path::Path> {
        match &self.backend {
            Backend::Sqlite { path, .. } => Some(path),
            Backend::Postgres { .. } => None,
        }
    }

    /// A second, independent store on the same database: another process, or the same one after a restart.
    pub async fn reopen(&self) -> Arc<dyn EventStore> {
        match &self.backend {
            Backend::Sqlite { path, .. } => Arc::new(SqliteStore::open(path).await.expect("reopen sqlite")),
            Backend::Postgres { url, schema, .. } => Arc::new(
                PostgresStore::connect_with(PostgresOptions::new(url).schema(schema)).await.expect("reconnect"),
            ),
        }
    }

    /// Runs SQL behind the store's back, after switching off the guards that make events immutable.
    pub async fn tamper(&self, sql: &str) {
        match &self.backend {
            Backend::Sqlite { path, .. } => {
                let conn = rusqlite::Connection::open(path).expect("open the file");
                conn.execute("DROP TRIGGER IF EXISTS events_no_update", []).expect("drop trigger");
                conn.execute("DROP TRIGGER IF EXISTS events_no_delete", []).expect("drop trigger");
                conn.execute_batch(sql).expect("tamper");
            }
            Backend::Postgres { pool, .. } => {
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

    /// Runs SQL as an ordinary database user would, returning the database's answer.
    pub async fn raw_sql(&self, sql: &str) -> anyhow::Result<()> {
        match &self.backend {
            Backend::Sqlite { path, .. } => Ok(rusqlite::Connection::open(path)?.execute_batch(sql)?),
            Backend::Postgres { pool, .. } => {
                Ok(sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(pool).await.map(drop)?)
            }
        }
    }

    pub async fn cleanup(self) {
        if let Backend::Postgres { schema, pool, .. } = &self.backend {
            let _ =
                sqlx::query(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))).execute(pool).await;
            pool.close().await;
        }
    }
}

pub fn stream(name: &str) -> StreamName {
    StreamName::new(name).expect("valid stream name")
}

pub fn metadata() -> Metadata {
    Metadata {
        actor: Actor::new("clinician-7", "clinician"),
        occurred_at: Utc::now(),
        correlation_id: Uuid::now_v7(),
        causation_id: Some(Uuid::now_v7()),
        trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
        reason: Some("weekly session".into()),
        tags: Tags { client: Some("client-1".into()), episode: Some("episode-1".into()) },
        command: None,
    }
}

pub fn event(event_type: &str, data: Value) -> NewEvent {
    NewEvent { event_id: Uuid::now_v7(), event_type: event_type.into(), schema_version: 1, data, metadata: metadata() }
}

pub fn events(n: usize) -> Vec<NewEvent> {
    (0..n).map(|i| event("Noted", serde_json::json!({ "n": i }))).collect()
}
