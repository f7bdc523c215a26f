//! Test fixtures shared by the aggregates' given/when/then tests.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::Value;

use crate::types::{CodeSetVersion, Diagnosis, Icd10Code, Minutes, Money, NoteText, PersonName, Reason, ShortText};

/// 2026-03-02 (a Monday) at `hour`:00 UTC, plus `days`.
pub fn at(days: i64, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, hour, 0, 0).unwrap() + Duration::days(days)
}

/// The clinic's "now" in most tests: 2026-03-02 12:00 UTC.
pub fn now() -> DateTime<Utc> {
    at(0, 12)
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn dx(code: &str) -> Diagnosis {
    Diagnosis { code: Icd10Code::parse(code).unwrap(), code_set: CodeSetVersion::parse("2026").unwrap() }
}

pub fn code(code: &str) -> Icd10Code {
    Icd10Code::parse(code).unwrap()
}

pub fn reason(s: &str) -> Reason {
    Reason::parse(s).unwrap()
}

pub fn short(s: &str) -> ShortText {
    ShortText::parse(s).unwrap()
}

pub fn note(s: &str) -> NoteText {
    NoteText::parse(s).unwrap()
}

pub fn name(s: &str) -> PersonName {
    PersonName::parse(s).unwrap()
}

pub fn mins(n: u32) -> Minutes {
    Minutes::new(n).unwrap()
}

pub fn cents(n: i64) -> Money {
    Money::from_cents(n).unwrap()
}

/// The error's reason code, or a panic naming the events that were produced instead.
pub fn code_of<E: std::fmt::Debug>(r: Result<Vec<E>, crate::DomainError>) -> &'static str {
    match r {
        Err(e) => e.code(),
        Ok(events) => panic!("expected a rule violation, got {events:?}"),
    }
}

/// Asserts every event survives the trip through an envelope and that `samples` covers every
/// declared event type.
pub fn assert_round_trips<E, F>(samples: &[E], types: &[&str], kind: fn(&E) -> &'static str, codec: F)
where
    E: PartialEq + std::fmt::Debug,
    F: Fn(&E) -> (u32, Value, E),
{
    let mut seen: Vec<&str> = samples.iter().map(kind).collect();
    seen.sort_unstable();
    seen.dedup();
    let mut want = types.to_vec();
    want.sort_unstable();
    assert_eq!(seen, want, "every event type needs a round-trip sample");
    for e in samples {
        let (version, data, back) = codec(e);
        assert_eq!(version, crate::upcast::current_version(kind(e)), "{}", kind(e));
        assert!(data.is_object(), "{} data must be a JSON object", kind(e));
        crate::disclosure::assert_classified(kind(e), &data, &crate::disclosure::event_classes(kind(e)));
        assert_eq!(&back, e, "{} did not round-trip", kind(e));
        bless_fixture(kind(e), version, &data);
    }
}

/// With `CARELOG_BLESS_FIXTURES=1`, writes a golden fixture for an event type and version that has
/// none yet (`fixtures/events/`, checked by `tests/golden.rs`); an existing fixture is never
/// rewritten: events are forever.
fn bless_fixture(event_type: &str, version: u32, data: &Value) {
    if std::env::var_os("CARELOG_BLESS_FIXTURES").is_none() {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/events");
    let path = dir.join(format!("{event_type}.v{version}.json"));
    if path.exists() {
        return;
    }
    let fixture = serde_json::json!({"event_type": event_type, "schema_version": version, "data": data});
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&path, format!("{fixture:#}\n")).unwrap();
}
