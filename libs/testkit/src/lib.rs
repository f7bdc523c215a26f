//! Which databases the tests run against, decided once per test process and printed once:
//! `DATABASE_URL` when set; otherwise a PostgreSQL container (testcontainers) when a Docker engine is
//! reachable; otherwise the local default server. An unreachable server fails the tests; nothing skips.

#![forbid(unsafe_code)]

mod earlier_files;

use std::path::Path;

use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerRequest, GenericImage, ImageExt, ReuseDirective};
use testcontainers_modules::postgres::Postgres;
use tokio::sync::OnceCell;

pub use earlier_files::{SQLX_ERA_DEMO, SqlxEraDemo, sqlx_era_demo_file};

/// The local server CI and developers run.
pub const LOCAL_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Where the PostgreSQL tests get their server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostgresSource {
    Configured(String),
    Container,
    LocalDefault,
}

/// The choice, from `DATABASE_URL` and whether a Docker engine is there: pure, so it is tested here.
pub fn choose_postgres(database_url: Option<&str>, docker: bool) -> PostgresSource {
    match database_url.map(str::trim).filter(|url| !url.is_empty()) {
        Some(url) => PostgresSource::Configured(url.to_owned()),
        None if docker => PostgresSource::Container,
        None => PostgresSource::LocalDefault,
    }
}

/// Whether testcontainers can reach an engine: `DOCKER_HOST` set, or the default socket present.
pub fn docker_available(docker_host: Option<&str>, default_socket_exists: bool) -> bool {
    docker_host.is_some_and(|host| !host.trim().is_empty()) || default_socket_exists
}

fn docker_here() -> bool {
    docker_available(std::env::var("DOCKER_HOST").ok().as_deref(), Path::new("/var/run/docker.sock").exists())
}

/// The one line printed per test process.
pub fn describe(source: &PostgresSource, url: &str) -> String {
    match source {
        PostgresSource::Configured(_) => format!("carelog tests: PostgreSQL from DATABASE_URL={}", redact(url)),
        PostgresSource::Container => format!("carelog tests: PostgreSQL from testcontainers at {}", redact(url)),
        PostgresSource::LocalDefault => format!("carelog tests: PostgreSQL at the local default {url}"),
    }
}

fn redact(url: &str) -> String {
    match url.split_once("://").and_then(|(scheme, rest)| Some((scheme, rest.split_once('@')?))) {
        Some((scheme, (userinfo, host))) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_owned(),
    }
}

static POSTGRES: OnceCell<String> = OnceCell::const_new();

/// The PostgreSQL URL for this test process (the container, if one is needed, starts on first call).
pub async fn postgres_url() -> String {
    POSTGRES
        .get_or_init(|| async {
            let source = choose_postgres(std::env::var("DATABASE_URL").ok().as_deref(), docker_here());
            let url = match &source {
                PostgresSource::Configured(url) => url.clone(),
                PostgresSource::LocalDefault => LOCAL_POSTGRES.to_owned(),
                PostgresSource::Container => start(Postgres::default().with_tag("17-alpine"), 5432, |host, port| {
                    format!("postgres://postgres:postgres@{host}:{port}/postgres")
                })
                .await
                .unwrap_or_else(|e| panic!("testcontainers could not start PostgreSQL: {e}; set DATABASE_URL instead")),
            };
            eprintln!("{}", describe(&source, &url));
            url
        })
        .await
        .clone()
}

static KURRENTDB: OnceCell<Option<String>> = OnceCell::const_new();

/// The KurrentDB URL for this test process: `KURRENTDB_URL`, else a container when Docker is there,
/// else None (the caller skips the KurrentDB tests with a notice: there is no local default).
pub async fn kurrentdb_url() -> Option<String> {
    KURRENTDB
        .get_or_init(|| async {
            if let Some(url) = std::env::var("KURRENTDB_URL").ok().filter(|url| !url.trim().is_empty()) {
                eprintln!("carelog tests: KurrentDB from KURRENTDB_URL={}", redact(&url));
                return Some(url);
            }
            if !docker_here() {
                eprintln!("carelog tests: KurrentDB tests skipped: set KURRENTDB_URL or run a Docker engine");
                return None;
            }
            let image = GenericImage::new("docker.kurrent.io/kurrent-latest/kurrentdb", "latest")
                .with_exposed_port(testcontainers::core::ContainerPort::Tcp(2113))
                .with_wait_for(testcontainers::core::WaitFor::message_on_stdout("IS LEADER"))
                .with_env_var("KURRENTDB_INSECURE", "true")
                .with_env_var("KURRENTDB_RUN_PROJECTIONS", "None");
            let url = start(image, 2113, |host, port| format!("kurrentdb://{host}:{port}?tls=false"))
                .await
                .unwrap_or_else(|e| panic!("testcontainers could not start KurrentDB: {e}; set KURRENTDB_URL"));
            eprintln!("carelog tests: KurrentDB from testcontainers at {url}");
            Some(url)
        })
        .await
        .clone()
}

/// Starts (or reuses) a container shared by every test process of the run: one per process would
/// mean one per test under nextest. Reused containers outlive the run; `docker rm -f` removes them.
async fn start<I: testcontainers::Image>(
    image: impl Into<ContainerRequest<I>>,
    port: u16,
    url: impl Fn(&str, u16) -> String,
) -> Result<String, testcontainers::TestcontainersError> {
    let container = image.into().with_reuse(ReuseDirective::Always).start().await?;
    let host = container.get_host().await?.to_string();
    let port = container.get_host_port_ipv4(port).await?;
    // Reused: dropping the handle leaves the container running for the next test process.
    drop(container);
    Ok(url(&host, port))
}

/// Declares each contract case (`async fn case(backend)` in the calling module) twice, as
/// `on_sqlite::case` and `on_postgres::case`, each given a fresh backend by the named fixture.
#[macro_export]
macro_rules! on_every_backend {
    (sqlite: $sqlite:ident, postgres: $postgres:ident; $($case:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test] async fn $case() { super::$case(super::$sqlite().await).await })*
        }
        mod on_postgres {
            $(#[tokio::test] async fn $case() { super::$case(super::$postgres().await).await })*
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_wins_then_docker_then_the_local_default() {
        let configured = "postgres://ci@db:5432/ci";
        assert_eq!(choose_postgres(Some(configured), true), PostgresSource::Configured(configured.into()));
        assert_eq!(choose_postgres(Some(configured), false), PostgresSource::Configured(configured.into()));
        assert_eq!(choose_postgres(None, true), PostgresSource::Container);
        assert_eq!(choose_postgres(Some("  "), true), PostgresSource::Container, "an empty DATABASE_URL is unset");
        assert_eq!(choose_postgres(None, false), PostgresSource::LocalDefault);
    }

    #[test]
    fn docker_is_there_with_a_docker_host_or_the_default_socket() {
        assert!(docker_available(Some("tcp://127.0.0.1:2375"), false));
        assert!(docker_available(None, true));
        assert!(!docker_available(Some(""), false));
        assert!(!docker_available(None, false));
    }

    #[test]
    fn the_printed_choice_names_the_source_and_hides_passwords() {
        let line = describe(&PostgresSource::Configured("x".into()), "postgres://u:secret@db/x");
        assert_eq!(line, "carelog tests: PostgreSQL from DATABASE_URL=postgres://u:***@db/x");
        let line = describe(&PostgresSource::LocalDefault, LOCAL_POSTGRES);
        assert_eq!(line, format!("carelog tests: PostgreSQL at the local default {LOCAL_POSTGRES}"));
        assert!(describe(&PostgresSource::Container, "postgres://p:p@h:1/p").contains("testcontainers"));
    }
}
