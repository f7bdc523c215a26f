//! Given/when/then: a Good Faith Estimate before a self-pay service is scheduled (45 CFR 149.610).

use super::*;
use crate::intake::{EstimateRequestLine, Payer};
use crate::sessions::estimate::EstimatePolicy;

/// A schedule of `v`'s session starting at `starts_at`, in person.
fn schedule_at(v: &Visit, starts_at: chrono::DateTime<chrono::Utc>) -> SessionCommand {
    let SessionCommand::ScheduleSession {
        session_id, client_id, episode_id, clinician_id, kind, planned_minutes, ..
    } = v.schedule()
    else {
        unreachable!("schedule() schedules")
    };
    let planned_modality = Modality::InPerson;
    SessionCommand::ScheduleSession {
        session_id,
        client_id,
        episode_id,
        clinician_id,
        kind,
        starts_at,
        planned_minutes,
        planned_modality,
    }
}

/// The self-pay client of `v` with a treatment consent, and an estimate issued at each of `issued`.
fn self_pay_record(v: &Visit, issued: &[chrono::DateTime<chrono::Utc>]) -> ClientState {
    let mut record = client_record(v, &[(ConsentId::new_v4(), ConsentKind::Treatment)], None);
    for at in issued {
        let cmd = IntakeCommand::IssueGoodFaithEstimate {
            estimate_id: EstimateId::new_v4(),
            lines: vec![EstimateRequestLine { cpt: CptCode::Psychotherapy45, units: 12, unit_fee: cents(15_000) }],
            issued_by: ActorId::new_v4(),
        };
        let events = intake::decide(&cmd, &record, &IntakeContext::at(*at)).unwrap();
        record = events.iter().fold(record, intake::evolve);
    }
    record
}

fn under(record: &ClientState, v: &Visit, policy: EstimatePolicy) -> SessionContext {
    let settings = SessionSettings { estimate_policy: policy, ..SessionSettings::default() };
    SessionContext::from_client(record, v.episode, now()).with_settings(settings)
}

fn due_by(events: &[SessionEvent]) -> Option<chrono::NaiveDate> {
    let [SessionEvent::SessionScheduled(e)] = events else { panic!("{events:?}") };
    e.estimate_due_by
}

#[test]
fn given_a_self_pay_client_without_an_estimate_when_a_session_is_scheduled_under_refuse_then_estimate_required() {
    let v = visit();
    let record = self_pay_record(&v, &[]);
    let in_two_weeks = schedule_at(&v, at(14, 10));
    let refused = decide(&in_two_weeks, &SessionState::default(), &under(&record, &v, EstimatePolicy::Refuse));
    assert_eq!(code_of(refused), "GOOD_FAITH_ESTIMATE_REQUIRED");
}

/// Warn schedules it and records when the estimate is due: now() is Monday 2026-03-02.
#[test]
fn given_a_self_pay_client_without_an_estimate_when_a_session_is_scheduled_under_warn_then_the_estimate_is_due() {
    let v = visit();
    let record = self_pay_record(&v, &[]);
    let ctx = under(&record, &v, EstimatePolicy::Warn);
    let due =
        |days_ahead| due_by(&decide(&schedule_at(&v, at(days_ahead, 10)), &SessionState::default(), &ctx).unwrap());
    assert_eq!(due(14), Some(date(2026, 3, 5)), "10 business days ahead: 3 business days after scheduling");
    assert_eq!(due(7), Some(date(2026, 3, 3)), "5 business days ahead: the next business day");
    assert_eq!(due(1), Some(date(2026, 3, 3)), "tomorrow: no federal window, due by the service");
}

#[test]
fn given_an_estimate_issued_before_scheduling_the_self_pay_session_is_covered_for_12_months() {
    let v = visit();
    let record = self_pay_record(&v, &[at(-30, 9)]);
    for policy in [EstimatePolicy::Warn, EstimatePolicy::Refuse] {
        let ctx = under(&record, &v, policy);
        let events = decide(&schedule_at(&v, at(14, 10)), &SessionState::default(), &ctx).unwrap();
        assert_eq!(due_by(&events), None, "covered under {policy:?}");
        let next_year = schedule_at(&v, at(-30 + 366, 10));
        let uncovered = decide(&next_year, &SessionState::default(), &ctx).map_or(true, |e| due_by(&e).is_some());
        assert!(uncovered, "past 12 months of the estimate it no longer covers ({policy:?})");
    }
}

/// An estimate recorded after the decision's clock (a later call's) was not there when the
/// session was scheduled.
#[test]
fn given_an_estimate_issued_after_now_when_a_session_is_scheduled_then_it_does_not_count() {
    let v = visit();
    let record = self_pay_record(&v, &[at(0, 13)]);
    let refused =
        decide(&schedule_at(&v, at(14, 10)), &SessionState::default(), &under(&record, &v, EstimatePolicy::Refuse));
    assert_eq!(code_of(refused), "GOOD_FAITH_ESTIMATE_REQUIRED");
}

#[test]
fn given_an_insured_client_no_estimate_is_asked_for() {
    let v = visit();
    let mut record = self_pay_record(&v, &[]);
    record.payer = Some(Payer::Insurance {
        payer_name: ShortText::parse("Acme Health").unwrap(),
        member_id: MemberId::parse("A123").unwrap(),
    });
    let events =
        decide(&schedule_at(&v, at(14, 10)), &SessionState::default(), &under(&record, &v, EstimatePolicy::Refuse));
    assert_eq!(due_by(&events.unwrap()), None);
}
