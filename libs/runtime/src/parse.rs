//! Parsing proto primitives into checked values, each failure naming its field.

use carelog_domain::types::{iso_date, time_in_range};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use carelog_executor::FieldViolation;

pub type Parsed<T> = Result<T, FieldViolation>;

/// A required UUID.
pub fn uuid(field: &str, value: &str) -> Parsed<Uuid> {
    if value.trim().is_empty() {
        return Err(FieldViolation::new(field, "is required (a UUID)"));
    }
    let id =
        Uuid::parse_str(value.trim()).map_err(|_| FieldViolation::new(field, format!("{value:?} is not a UUID")))?;
    if id.is_nil() {
        return Err(FieldViolation::new(field, "must not be the nil UUID"));
    }
    Ok(id)
}

/// An optional UUID: empty means absent.
pub fn optional_uuid(field: &str, value: &str) -> Parsed<Option<Uuid>> {
    if value.trim().is_empty() { Ok(None) } else { uuid(field, value).map(Some) }
}

/// A required timestamp in the years 1900–2199 ([`time_in_range`]): every store and read model
/// can hold it. Nanos must be 0 to 999,999,999 as protobuf defines them: chrono alone would take
/// 1e9 and more as a leap second at any minute's end.
pub fn timestamp(field: &str, value: Option<&prost_types::Timestamp>) -> Parsed<DateTime<Utc>> {
    let value = value.ok_or_else(|| FieldViolation::new(field, "is required"))?;
    let nanos = u32::try_from(value.nanos)
        .ok()
        .filter(|nanos| *nanos < 1_000_000_000)
        .ok_or_else(|| FieldViolation::new(field, format!("nanos {} is not 0 to 999,999,999", value.nanos)))?;
    let time =
        DateTime::from_timestamp(value.seconds, nanos).ok_or_else(|| FieldViolation::new(field, "is out of range"))?;
    Ok(time_in_range(field, time)?)
}

/// A timestamp that may be absent.
pub fn optional_timestamp(field: &str, value: Option<&prost_types::Timestamp>) -> Parsed<Option<DateTime<Utc>>> {
    value.map(|v| timestamp(field, Some(v))).transpose()
}

/// A time that cannot lie in the future (a clinical fact already happened); one minute of clock skew is allowed.
pub fn past_time(field: &str, value: DateTime<Utc>, now: DateTime<Utc>) -> Parsed<DateTime<Utc>> {
    if value > now + chrono::Duration::minutes(1) {
        return Err(FieldViolation::new(field, format!("{} is in the future", value.to_rfc3339())));
    }
    Ok(value)
}

/// A calendar date, strictly ISO 8601 `YYYY-MM-DD` ([`iso_date`]), in the years 1900–2199.
/// Surrounding blanks are trimmed as for every other text field.
pub fn date(field: &str, value: &str) -> Parsed<NaiveDate> {
    if value.trim().is_empty() {
        return Err(FieldViolation::new(field, "is required (YYYY-MM-DD)"));
    }
    Ok(iso_date(field, value.trim())?)
}

/// A protobuf enum value that must be set and known.
pub fn enumeration<E: TryFrom<i32>>(field: &str, value: i32) -> Parsed<E> {
    if value == 0 {
        return Err(FieldViolation::new(field, "is required"));
    }
    E::try_from(value).map_err(|_| FieldViolation::new(field, format!("{value} is not a known value")))
}

pub fn to_timestamp(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: time.timestamp(), nanos: time.timestamp_subsec_nanos() as i32 }
}

/// Collects every field violation of a request, so a caller learns about all bad fields at once.
///
/// ```ignore
/// let mut f = Fields::default();
/// let id = f.take("client_id", ClientId::parse(&request.client_id));
/// let name = f.take("legal_name", PersonName::parse(&request.legal_name));
/// f.finish(|| Some(Command::Register { id: id?, name: name? }))
/// ```
#[derive(Debug, Default)]
pub struct Fields {
    violations: Vec<FieldViolation>,
}

impl Fields {
    /// Keeps the value, or records the error as a violation of `field`.
    pub fn take<T, E: Into<FieldViolation>>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                let mut violation = error.into();
                violation.field = field.to_owned();
                self.violations.push(violation);
                None
            }
        }
    }

    /// Records a violation found by the caller.
    pub fn violation(&mut self, field: &str, description: impl Into<String>) {
        self.violations.push(FieldViolation::new(field, description));
    }

    /// Builds the value if every field was valid; otherwise reports every violation.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, carelog_executor::ServiceError> {
        if !self.violations.is_empty() {
            return Err(carelog_executor::ServiceError::Invalid(self.violations));
        }
        build().ok_or_else(|| carelog_executor::ServiceError::invalid("request", "is incomplete"))
    }
}
