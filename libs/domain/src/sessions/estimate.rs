//! No Surprises Act Good Faith Estimates at scheduling (45 CFR 149.610).
//!
//! The rule as Carelog decides it: a service for a self-pay (or uninsured) client is *covered*
//! when an estimate was issued at or before the moment the service is scheduled and the service
//! starts within [`ESTIMATE_COVERS_MONTHS`] of that estimate (an estimate of recurring services
//! covers at most 12 months). An uncovered service is either refused
//! (`GOOD_FAITH_ESTIMATE_REQUIRED`) or, under [`EstimatePolicy::Warn`], scheduled with the date by
//! which the federal timing rules want the estimate given ([`estimate_due_by`]), which the record
//! shows until an estimate is issued.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// How long one estimate covers the services it lists.
pub const ESTIMATE_COVERS_MONTHS: u32 = 12;

/// What scheduling a self-pay service without a covering estimate does: a practice setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EstimatePolicy {
    /// Schedule it and show the estimate as due (the default: the regulation lets the estimate
    /// follow the scheduling by 1–3 business days, and a same-week crisis booking must not wait).
    #[default]
    Warn,
    /// Refuse with `GOOD_FAITH_ESTIMATE_REQUIRED` until an estimate is issued.
    Refuse,
}

/// Whether an estimate issued at `issued_at` covers a service starting at `starts_at`,
/// scheduled at `now`.
pub fn covers(issued_at: DateTime<Utc>, starts_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    let until = issued_at.checked_add_months(Months::new(ESTIMATE_COVERS_MONTHS));
    issued_at <= now && until.is_some_and(|until| starts_at < until)
}

/// The day the estimate for a service starting on `service` and scheduled on `scheduled` is
/// due (45 CFR 149.610(b)(1)(vi)): 1 business day after scheduling for a service 3–9 business
/// days ahead, 3 business days after for one 10 or more ahead. A service fewer than 3 business
/// days ahead has no federal window; it is due by the day of the service. Business days are
/// Monday to Friday (federal holidays are not modelled, which only makes a deadline earlier).
pub fn estimate_due_by(scheduled: NaiveDate, service: NaiveDate) -> NaiveDate {
    match business_days_between(scheduled, service) {
        ..3 => service.max(scheduled),
        3..=9 => add_business_days(scheduled, 1),
        _ => add_business_days(scheduled, 3),
    }
}

/// The rule at scheduling: `Ok(None)` when no estimate is owed or one covers the service,
/// `Ok(Some(due_by))` to schedule it with the estimate due, or the refusal.
pub fn check_at_scheduling(
    self_pay: bool,
    estimates_issued: &[DateTime<Utc>],
    policy: EstimatePolicy,
    starts_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<NaiveDate>, DomainError> {
    if !self_pay || estimates_issued.iter().any(|issued| covers(*issued, starts_at, now)) {
        return Ok(None);
    }
    let due_by = estimate_due_by(now.date_naive(), starts_at.date_naive());
    match policy {
        EstimatePolicy::Warn => Ok(Some(due_by)),
        EstimatePolicy::Refuse => Err(DomainError::GoodFaithEstimateRequired(due_by.to_string())),
    }
}

fn is_business_day(day: NaiveDate) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Business days after `from` up to and including `to` (0 when `to` is not after `from`).
fn business_days_between(from: NaiveDate, to: NaiveDate) -> i64 {
    // Whole weeks hold five each; only the remainder is walked, so a far date costs nothing.
    let days = (to - from).num_days();
    if days <= 0 {
        return 0;
    }
    let (weeks, rest) = (days / 7, days % 7);
    let tail =
        (1..=rest).filter_map(|d| from.checked_add_days(chrono::Days::new(d as u64))).filter(|d| is_business_day(*d));
    weeks * 5 + tail.count() as i64
}

/// The `n`th business day after `from`.
fn add_business_days(from: NaiveDate, n: u32) -> NaiveDate {
    let mut day = from;
    let mut left = n;
    while left > 0 {
        let Some(next) = day.succ_opt() else { return day };
        day = next;
        if is_business_day(day) {
            left -= 1;
        }
    }
    day
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    #[test]
    fn business_days_skip_weekends() {
        // 2026-06-05 is a Friday.
        assert_eq!(business_days_between(d(2026, 6, 5), d(2026, 6, 8)), 1, "Friday to Monday");
        assert_eq!(business_days_between(d(2026, 6, 5), d(2026, 6, 19)), 10);
        assert_eq!(business_days_between(d(2026, 6, 5), d(2026, 6, 5)), 0);
        assert_eq!(business_days_between(d(2026, 6, 5), d(2026, 6, 1)), 0, "a past service");
        assert_eq!(add_business_days(d(2026, 6, 5), 1), d(2026, 6, 8));
        assert_eq!(add_business_days(d(2026, 6, 5), 3), d(2026, 6, 10));
    }

    #[test]
    fn the_federal_windows_set_the_due_date() {
        let friday = d(2026, 6, 5);
        assert_eq!(estimate_due_by(friday, d(2026, 6, 9)), d(2026, 6, 9), "2 business days ahead: by the service");
        assert_eq!(estimate_due_by(friday, d(2026, 6, 10)), d(2026, 6, 8), "3 ahead: 1 business day");
        assert_eq!(estimate_due_by(friday, d(2026, 6, 18)), d(2026, 6, 8), "9 ahead: 1 business day");
        assert_eq!(estimate_due_by(friday, d(2026, 6, 19)), d(2026, 6, 10), "10 ahead: 3 business days");
        assert_eq!(estimate_due_by(friday, d(2026, 5, 1)), friday, "a backdated service: due now");
    }

    #[test]
    fn an_estimate_covers_services_within_12_months_of_its_issue_and_none_before_it() {
        let issued = d(2026, 1, 10).and_hms_opt(9, 0, 0).expect("time").and_utc();
        let now = issued + chrono::Duration::days(1);
        assert!(covers(issued, issued + chrono::Duration::days(364), now));
        assert!(!covers(issued, issued + chrono::Duration::days(366), now));
        assert!(!covers(issued, issued, issued - chrono::Duration::seconds(1)), "not yet issued at scheduling");
    }
}
