//! Choosing a backend from a store URL: `sqlite:PATH` (the default) or `postgres://…`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use crate::first_keys::{self, AppendWithKeys};
use crate::{Database, EventStore, PostgresOptions, PostgresStore, SqliteStore, StoreError};

/// Where the log lives.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreUrl {
    Sqlite(PathBuf),
    Postgres(String),
    /// A KurrentDB connection string (`kurrentdb://…`, `esdb://…`): see `open_kurrentdb.rs`.
    KurrentDb(String),
}

impl FromStr for StoreUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(kurrentdb) = crate::open_kurrentdb::parse(s) {
            return kurrentdb;
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            if let Some(schema) = schema_parameter(s).1 {
                validate_schema(&schema)?;
            }
            return Ok(StoreUrl::Postgres(s.to_owned()));
        }
        let path = s.strip_prefix("sqlite://").or_else(|| s.strip_prefix("sqlite:")).unwrap_or(s);
        if path.is_empty() {
            return Err(format!("{s:?} names no file; use sqlite:PATH or postgres://USER@HOST/DB"));
        }
        if path.contains("://") {
            return Err(format!("{s:?} is not a store URL; use sqlite:PATH or postgres://USER@HOST/DB"));
        }
        Ok(StoreUrl::Sqlite(PathBuf::from(path)))
    }
}

/// Shows the URL without its password, so it can go to logs.
impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            StoreUrl::Postgres(url) | StoreUrl::KurrentDb(url) => f.write_str(&redact_password(url)),
        }
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreUrl({self})")
    }
}

pub(crate) fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((userinfo, host)) = rest.split_once('@') else { return url.to_owned() };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// A store URL opened once, at start-up: the log, and the database handle from which the crates
/// that keep tables beside it (the vault's client keys, the read models, the Merkle tree) build
/// their adapters. Nothing asks the log for its backend later.
#[derive(Debug, Clone)]
pub struct OpenedStore {
    /// The log exactly as stored.
    pub log: Arc<dyn EventStore>,
    /// Where the port owners keep their tables: the log's own database, or for KurrentDB (which
    /// holds only the log) the relational database named by `CARELOG_READ_MODELS`.
    pub database: Database,
    /// Where the key table is in the log's own database: appends that commit a client's first key
    /// with them (`None` for KurrentDB, whose keys are stored before the append).
    pub first_keys: Option<Arc<dyn AppendWithKeys>>,
}

impl OpenedStore {
    pub fn sqlite(store: SqliteStore) -> Self {
        Self { database: store.database(), first_keys: first_keys::of(store.clone()), log: Arc::new(store) }
    }

    pub fn postgres(store: PostgresStore) -> Self {
        Self { database: store.database(), first_keys: first_keys::of(store.clone()), log: Arc::new(store) }
    }
}

/// Opens the store a URL names, applying migrations. A PostgreSQL URL may name the schema the log
/// lives in with `schema=NAME` (created if missing): several logs can then share one database.
pub async fn open(url: &StoreUrl) -> Result<OpenedStore, StoreError> {
    Ok(match url {
        StoreUrl::Sqlite(path) => OpenedStore::sqlite(SqliteStore::open(path).await?),
        StoreUrl::Postgres(url) => {
            let (url, schema) = schema_parameter(url);
            let options = PostgresOptions::new(url);
            let options = match schema {
                Some(schema) => options.schema(schema),
                None => options,
            };
            OpenedStore::postgres(PostgresStore::connect_with(options).await?)
        }
        StoreUrl::KurrentDb(url) => crate::open_kurrentdb::open(url).await?,
    })
}

/// Splits `schema=NAME` off a PostgreSQL URL's query (the driver does not know the parameter).
pub(crate) fn schema_parameter(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else { return (url.to_owned(), None) };
    let mut schema = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.strip_prefix("schema=") {
            Some(name) => {
                schema = Some(name.to_owned());
                false
            }
            None => !pair.is_empty(),
        })
        .collect();
    let url = if rest.is_empty() { base.to_owned() } else { format!("{base}?{}", rest.join("&")) };
    (url, schema)
}

/// A schema name must be a plain lower-case identifier: it is quoted into DDL and search_path.
pub(crate) fn validate_schema(schema: &str) -> Result<(), String> {
    let plain = schema.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && schema.len() <= 63
        && schema.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        Ok(())
    } else {
        Err(format!("schema={schema:?}: a schema must be 1-63 characters of a-z, 0-9 and _, not starting with a digit"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_backends_and_hides_passwords() {
        assert_eq!("sqlite:carelog.db".parse(), Ok(StoreUrl::Sqlite("carelog.db".into())));
        assert_eq!("sqlite:///tmp/x.db".parse(), Ok(StoreUrl::Sqlite("/tmp/x.db".into())));
        assert_eq!("./x.db".parse(), Ok(StoreUrl::Sqlite("./x.db".into())));
        let pg: StoreUrl = "postgres://carelog:s3cret@db:5432/carelog".parse().expect("url");
        assert_eq!(pg.to_string(), "postgres://carelog:***@db:5432/carelog");
        assert!("mysql://x".parse::<StoreUrl>().is_err());
        assert!("sqlite:".parse::<StoreUrl>().is_err());
    }

    #[test]
    fn a_postgres_url_may_name_its_schema() {
        let split = |url: &str| schema_parameter(url);
        assert_eq!(split("postgres://u@h/db?schema=carelog_a"), ("postgres://u@h/db".into(), Some("carelog_a".into())));
        assert_eq!(
            split("postgres://u@h/db?sslmode=require&schema=s1&application_name=x"),
            ("postgres://u@h/db?sslmode=require&application_name=x".into(), Some("s1".into()))
        );
        assert_eq!(split("postgres://u@h/db?sslmode=disable"), ("postgres://u@h/db?sslmode=disable".into(), None));
        assert_eq!(split("postgres://u@h/db"), ("postgres://u@h/db".into(), None));
    }

    #[test]
    fn a_schema_that_is_not_a_plain_identifier_is_refused_naming_it() {
        for bad in ["Carelog", "1st", "a-b", "x\"; DROP", ""] {
            let error = format!("postgres://u@h/db?schema={bad}").parse::<StoreUrl>().expect_err(bad);
            assert!(error.starts_with("schema="), "{error}");
        }
        assert!("postgres://u@h/db?schema=carelog_api_01".parse::<StoreUrl>().is_ok());
    }
}
