//! KurrentDB store URLs (`kurrentdb://…`, `esdb://…`): parsed only when the cargo feature
//! `kurrentdb` is on, and opened with a relational database for the read side (`CARELOG_READ_MODELS`).

use crate::StoreError;
use crate::open::{OpenedStore, StoreUrl, redact_password};

/// The schemes of KurrentDB connection strings.
const SCHEMES: [&str; 4] = ["kurrentdb://", "kurrentdb+discover://", "esdb://", "esdb+discover://"];

/// Where a KurrentDB-backed process keeps its read models, checkpoints and Merkle tables.
pub const READ_MODELS_ENV: &str = "CARELOG_READ_MODELS";

/// None when `s` is not a KurrentDB URL; otherwise the URL, or an error naming the missing feature.
pub(crate) fn parse(s: &str) -> Option<Result<StoreUrl, String>> {
    if !SCHEMES.iter().any(|scheme| s.starts_with(scheme)) {
        return None;
    }
    Some(if cfg!(feature = "kurrentdb") {
        Ok(StoreUrl::KurrentDb(s.to_owned()))
    } else {
        Err(format!(
            "{}: this build has no KurrentDB backend; build it with the cargo feature `kurrentdb` \
             (cargo build --features carelog-store/kurrentdb)",
            redact_password(s)
        ))
    })
}

/// KurrentDB holds the log only: the read side goes to the database `CARELOG_READ_MODELS` names.
#[cfg(feature = "kurrentdb")]
pub(crate) async fn open(url: &str) -> Result<OpenedStore, StoreError> {
    let read_models = match read_models_url(std::env::var(READ_MODELS_ENV).ok().as_deref())? {
        StoreUrl::Sqlite(path) => crate::SqliteStore::open(path).await?.database(),
        // Through `open`, so `?schema=NAME` works here too (boxed: `open` also leads here).
        StoreUrl::Postgres(url) => Box::pin(crate::open(&StoreUrl::Postgres(url))).await?.database,
        StoreUrl::KurrentDb(_) => return Err(not_relational()),
    };
    let log = crate::KurrentDbStore::connect(crate::KurrentDbOptions::new(url)).await?;
    Ok(OpenedStore { log: std::sync::Arc::new(log), database: read_models, first_keys: None })
}

#[cfg(not(feature = "kurrentdb"))]
pub(crate) async fn open(url: &str) -> Result<OpenedStore, StoreError> {
    Err(StoreError::Unsupported {
        backend: "kurrentdb",
        what: format!("{}: build with the cargo feature `kurrentdb`", redact_password(url)),
    })
}

/// The read-model database of a KurrentDB-backed process, from the value of `CARELOG_READ_MODELS`.
pub fn read_models_url(value: Option<&str>) -> Result<StoreUrl, StoreError> {
    let value = value.map(str::trim).filter(|v| !v.is_empty()).ok_or_else(|| {
        StoreError::Database(format!(
            "{READ_MODELS_ENV}: KurrentDB keeps the event log only; name the database for read models, \
             e.g. {READ_MODELS_ENV}=postgres://USER@HOST/DB or sqlite:read-models.db"
        ))
    })?;
    match value.parse::<StoreUrl>() {
        Ok(StoreUrl::KurrentDb(_)) => Err(not_relational()),
        Ok(url) => Ok(url),
        Err(reason) => Err(StoreError::Database(format!("{READ_MODELS_ENV}: {reason}"))),
    }
}

fn not_relational() -> StoreError {
    StoreError::Database(format!(
        "{READ_MODELS_ENV}: read models need a relational database (sqlite:PATH or postgres://…), not KurrentDB"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(feature = "kurrentdb"))]
    #[test]
    fn a_kurrentdb_url_names_the_missing_feature_and_hides_the_password() {
        let error = "esdb://admin:changeit@db:2113".parse::<StoreUrl>().unwrap_err();
        assert!(error.contains("cargo feature `kurrentdb`"), "{error}");
        assert!(!error.contains("changeit"), "{error}");
    }

    #[cfg(feature = "kurrentdb")]
    #[test]
    fn kurrentdb_urls_parse_with_the_feature_and_hide_passwords() {
        for url in ["kurrentdb://admin:changeit@db:2113?tls=false", "esdb://db:2113", "kurrentdb+discover://c:2113"] {
            let parsed: StoreUrl = url.parse().expect("kurrentdb url");
            assert_eq!(parsed, StoreUrl::KurrentDb(url.to_owned()));
            assert!(!parsed.to_string().contains("changeit"), "{parsed}");
        }
        let error = read_models_url(Some("esdb://db:2113")).unwrap_err().to_string();
        assert!(error.contains("relational"), "{error}");
    }

    #[test]
    fn the_read_side_of_kurrentdb_is_a_relational_database_named_explicitly() {
        let missing = read_models_url(None).unwrap_err().to_string();
        assert!(missing.starts_with("database error: CARELOG_READ_MODELS"), "{missing}");
        assert!(read_models_url(Some("  ")).is_err());
        assert_eq!(read_models_url(Some("sqlite:read.db")).unwrap(), StoreUrl::Sqlite("read.db".into()));
        let pg = read_models_url(Some("postgres://u@h/db")).unwrap();
        assert_eq!(pg, StoreUrl::Postgres("postgres://u@h/db".into()));
        assert!(read_models_url(Some("mysql://x")).unwrap_err().to_string().contains("CARELOG_READ_MODELS"));
    }
}
