//! The range every time and date a command carries must lie in. Wide enough for any real
//! clinical record (a date of birth in 1900, a plan due in 2150), narrow enough that every store
//! and read model can hold it (PostgreSQL's `timestamptz` ends before 4714 BC) and that the read
//! side's date arithmetic (review due + 90 days, notes past 72 hours, aging) never overflows.

use chrono::{DateTime, NaiveDate, Utc};

use crate::error::ValidationError;

/// The first year a command may name.
pub const FIRST_YEAR: i32 = 1900;
/// The last year a command may name.
pub const LAST_YEAR: i32 = 2199;

/// Refuses a time outside years [`FIRST_YEAR`]–[`LAST_YEAR`] (UTC).
pub fn time_in_range(field: &str, at: DateTime<Utc>) -> Result<DateTime<Utc>, ValidationError> {
    date_in_range(field, at.date_naive()).map(|_| at)
}

/// Refuses a date outside years [`FIRST_YEAR`]–[`LAST_YEAR`].
pub fn date_in_range(field: &str, date: NaiveDate) -> Result<NaiveDate, ValidationError> {
    use chrono::Datelike as _;
    if !(FIRST_YEAR..=LAST_YEAR).contains(&date.year()) {
        return Err(ValidationError::new(field, format!("must lie in the years {FIRST_YEAR} to {LAST_YEAR}")));
    }
    Ok(date)
}

/// A calendar date exactly as ISO 8601's extended form writes it: `YYYY-MM-DD`, four-digit
/// year, two-digit month and day, nothing else (chrono alone takes `1987-1-1` and `+01987-01-01`).
pub fn iso_date(field: &str, value: &str) -> Result<NaiveDate, ValidationError> {
    let shaped = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    if !shaped {
        return Err(ValidationError::new(field, format!("{value:?} is not a date (YYYY-MM-DD)")));
    }
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| ValidationError::new(field, format!("{value:?} is not a calendar date")))?;
    date_in_range(field, date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_strict_iso_8601_within_the_range() {
        assert_eq!(iso_date("d", "1987-01-31"), Ok(NaiveDate::from_ymd_opt(1987, 1, 31).unwrap()));
        for bad in ["0000-01-01", "1987-1-1", "+1987-01-01", "1987-02-30", "1987-01-01 ", "19870101", "1899-12-31"] {
            assert_eq!(iso_date("date_of_birth", bad).unwrap_err().field, "date_of_birth", "{bad}");
        }
        assert!(iso_date("d", "2199-12-31").is_ok());
        assert!(iso_date("d", "2200-01-01").is_err());
    }

    #[test]
    fn times_lie_within_the_years() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert!(time_in_range("t", at("1900-01-01T00:00:00Z")).is_ok());
        assert!(time_in_range("t", at("1899-12-31T23:59:59Z")).is_err());
        assert!(time_in_range("t", at("2199-12-31T23:59:59Z")).is_ok());
        let ancient = DateTime::from_timestamp(-219_983_443_200, 0).unwrap();
        assert_eq!(time_in_range("context.occurred_at", ancient).unwrap_err().field, "context.occurred_at");
    }
}
