//! The as-of control's input: a log position or a recorded time (the record as it stood), or a
//! clinical date (everything that had occurred by then, as known now), parsed once at the edge.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// A point in the log's history to show the record at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// A global log position (1-based, inclusive).
    Position(u64),
    /// A recorded (store) time.
    RecordedAt(DateTime<Utc>),
    /// A clinical date: everything that had occurred by the end of that day (UTC).
    OccurredBy(NaiveDate),
}

impl AsOf {
    /// The end of a clinical date, as the RecordsService takes it.
    pub fn end_of(date: NaiveDate) -> DateTime<Utc> {
        date.and_hms_milli_opt(23, 59, 59, 999).map_or(DateTime::<Utc>::MAX_UTC, |t| t.and_utc())
    }
}

impl std::fmt::Display for AsOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AsOf::Position(position) => write!(f, "log position {position}"),
            AsOf::RecordedAt(at) => write!(f, "{}", at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            AsOf::OccurredBy(date) => write!(f, "{date}"),
        }
    }
}

/// `""` means now; a whole number is a position; a date alone (`2026-11-21`) is a clinical date;
/// otherwise an RFC 3339 time, or the `YYYY-MM-DDTHH:MM[:SS]` a browser's datetime field sends
/// (taken as UTC), as a recorded time.
pub fn parse(input: &str) -> Result<Option<AsOf>, String> {
    let input = input.trim();
    if input.is_empty() {
        return Ok(None);
    }
    if input.bytes().all(|b| b.is_ascii_digit()) {
        return match input.parse::<u64>() {
            Ok(0) => Err("as of: log positions start at 1".to_owned()),
            Ok(position) => Ok(Some(AsOf::Position(position))),
            Err(_) => Err("as of: that position is far beyond any log".to_owned()),
        };
    }
    if let Ok(date) = NaiveDate::parse_from_str(input, "%Y-%m-%d") {
        return Ok(Some(AsOf::OccurredBy(date)));
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(input) {
        return Ok(Some(AsOf::RecordedAt(at.with_timezone(&Utc))));
    }
    // What a browser's datetime field sends, and the time as the console's pages print it.
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", crate::show::TIME_FORMAT, "%Y-%m-%d %H:%M UTC"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(input, format) {
            return Ok(Some(AsOf::RecordedAt(at.and_utc())));
        }
    }
    Err(format!(
        "as of: {:?} is neither a log position (a whole number such as 42), a recorded time such as \
         2026-11-21T09:30:00Z, nor a clinical date such as 2026-11-21",
        shorten(input)
    ))
}

/// Echo at most a short prefix of what was typed.
fn shorten(input: &str) -> String {
    input.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_means_now_and_numbers_are_positions() {
        assert_eq!(parse("  "), Ok(None));
        assert_eq!(parse("42"), Ok(Some(AsOf::Position(42))));
    }

    #[test]
    fn times_in_rfc3339_or_from_a_datetime_field() {
        let at = DateTime::parse_from_rfc3339("2026-11-21T09:30:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(parse("2026-11-21T09:30:00Z"), Ok(Some(AsOf::RecordedAt(at))));
        assert_eq!(parse("2026-11-21T10:30:00+01:00"), Ok(Some(AsOf::RecordedAt(at))));
        assert_eq!(parse("2026-11-21T09:30"), Ok(Some(AsOf::RecordedAt(at))));
        assert_eq!(parse("2026-11-21 09:30:00 UTC"), Ok(Some(AsOf::RecordedAt(at))), "as the pages print it");
    }

    #[test]
    fn a_date_alone_is_a_clinical_date_by_the_end_of_that_day() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        assert_eq!(parse("2026-11-21"), Ok(Some(AsOf::OccurredBy(date))));
        assert_eq!(AsOf::end_of(date).to_rfc3339(), "2026-11-21T23:59:59.999+00:00");
        assert!(parse("2026-02-30").is_err());
    }

    #[test]
    fn malformed_input_is_a_message_naming_the_field() {
        let error = parse("last tuesday").unwrap_err();
        assert!(error.starts_with("as of:") && error.contains("last tuesday"), "{error}");
        assert_eq!(parse("0").unwrap_err(), "as of: log positions start at 1");
        assert!(parse("99999999999999999999999").is_err());
        assert!(parse("2026-13-40T99:99").is_err());
    }
}
