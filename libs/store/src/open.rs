//! Choosing a backend from a store URL: `sqlite:PATH` (the default) or `postgres://…`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use crate::{EventStore, PostgresOptions, PostgresStore, SqliteStore, StoreError};

/// Where the log lives.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl FromStr for StoreUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
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
            StoreUrl::Postgres(url) => f.write_str(&redact_password(url)),
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

/// Opens the store a URL names, applying migrations.
pub async fn open(url: &StoreUrl) -> Result<Arc<dyn EventStore>, StoreError> {
    Ok(match url {
        StoreUrl::Sqlite(path) => Arc::new(SqliteStore::open(path).await?),
        StoreUrl::Postgres(url) => Arc::new(PostgresStore::connect_with(PostgresOptions::new(url)).await?),
    })
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
}
