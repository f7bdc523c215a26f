//! No Surprises Act Good Faith Estimates (45 CFR 149.610): an estimate names billable services,
//! so one made only of add-on codes is refused; a self-pay service is scheduled only with an
//! estimate covering it (refuse) or is shown with the estimate's due date (warn); charges $400 or
//! more past the estimate make the client eligible for patient-provider dispute resolution
//! (45 CFR 149.620), shown in the record, the ledger and the caseload.

use carelog_blackbox::{Backend, Caller, TestApp, assert_rejected, ctx, on_both_backends};
use carelog_domain::sessions::{EstimatePolicy, SessionSettings};
use carelog_proto::v1 as proto;
use chrono::{Duration, Utc};
use tonic::Code;

use super::{Clinic, Payer, Stage, clinic, id, stored};

/// A psychotherapy session of the clinic's client booked to start `ahead` from now.
fn booking(c: &Clinic, ahead: Duration) -> proto::ScheduleSessionRequest {
    let starts = Utc::now() + ahead;
    proto::ScheduleSessionRequest {
        context: ctx(),
        session_id: id(),
        client_id: c.client_id.clone(),
        episode_id: c.episode_id.clone(),
        clinician_id: c.clinician_id.clone(),
        kind: proto::schedule_session_request::Kind::Psychotherapy as i32,
        starts_at: Some(prost_types::Timestamp { seconds: starts.timestamp(), nanos: 0 }),
        planned_minutes: 53,
        planned_modality: proto::SessionModality::InPerson as i32,
    }
}

/// A signed 55-minute video session that started today (UTC): an hour ago, or at midnight while
/// the day is younger than that. An estimate covers services from the day it is issued, so a
/// session started an hour before it in the first hour of a day (yesterday's) is not its: tests
/// run then failed.
async fn signed_video_today(c: &mut Clinic) -> String {
    let now = Utc::now();
    let since_midnight = now - now.date_naive().and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    let ago = since_midnight.min(Duration::hours(1));
    let (video, home) = (proto::SessionModality::Video, proto::hold_session_request::PatientLocation::Home);
    let kind = proto::schedule_session_request::Kind::Psychotherapy;
    c.session_ago(kind, 55, video, home, Stage::Signed, ago).await
}

async fn caseload_alerts(app: &TestApp, c: &Clinic, after: u64) -> Vec<proto::CaseloadAlert> {
    let mut records = app.records(&c.clinician());
    // GetCaseload has no read-your-writes wait: open the chart once the read model holds `after`.
    let chart = proto::GetEpisodeRequest { client_id: c.client_id.clone(), min_position: after };
    records.get_episode(chart).await.unwrap();
    let request = proto::GetCaseloadRequest { clinician_id: c.clinician_id.clone(), ..Default::default() };
    records.get_caseload(request).await.unwrap().into_inner().alerts
}

fn of_kind(alerts: &[proto::CaseloadAlert], kind: proto::AlertKind) -> Vec<proto::AlertDetail> {
    alerts.iter().filter_map(|a| a.kind.clone()).filter(|k| k.kind() == kind).collect()
}

fn estimate(client_id: &str, cpts: &[&str]) -> proto::IssueGoodFaithEstimateRequest {
    use proto::issue_good_faith_estimate_request::Line;
    proto::IssueGoodFaithEstimateRequest {
        context: ctx(),
        client_id: client_id.to_owned(),
        estimate_id: id(),
        lines: cpts.iter().map(|cpt| Line { cpt: (*cpt).to_owned(), units: 1, unit_fee_cents: 3_000 }).collect(),
    }
}

async fn an_estimate_of_add_on_codes_alone_is_refused(app: &TestApp) {
    let c = clinic(app, Payer::SelfPay, &[]).await;
    let mut intake = app.intake(&Caller::new("biller"));
    let before = app.event_count().await;
    for add_ons in [&["90785"][..], &["90840"], &["90839", "90785"]] {
        let err = intake.issue_good_faith_estimate(estimate(&c.client_id, add_ons)).await.unwrap_err();
        assert_rejected(&err, Code::FailedPrecondition, "ADDON_REQUIRES_PRIMARY");
    }
    assert_eq!(app.event_count().await, before, "a refusal stores nothing");
    let receipt = intake.issue_good_faith_estimate(estimate(&c.client_id, &["90834", "90785"])).await.unwrap();
    assert_eq!(receipt.into_inner().event_types, ["GoodFaithEstimateIssued"]);
}

async fn charges_400_dollars_past_the_estimate_show_dispute_eligibility(app: &TestApp) {
    let mut c = clinic(app, Payer::SelfPay, &["F32.1"]).await;
    let mut intake = app.intake(&Caller::new("biller"));
    let mut request = estimate(&c.client_id, &["90834"]);
    request.lines[0].unit_fee_cents = 10_000;
    intake.issue_good_faith_estimate(request).await.unwrap();
    let (mut records, client_id) = (app.records(&Caller::new("biller")), c.client_id.clone());
    let mut dispute = async |app: &TestApp| {
        let request = proto::GetEpisodeRequest { client_id: client_id.clone(), min_position: app.event_count().await };
        let view = records.get_episode(request).await.unwrap().into_inner().view.expect("a view");
        view.billing.expect("billing").dispute_resolution
    };
    for _ in 0..2 {
        let session = signed_video_today(&mut c).await;
        c.charged(app, &session).await;
    }
    assert!(dispute(app).await.is_none(), "$360 billed on a $100 estimate: $260 over");
    let session = signed_video_today(&mut c).await;
    c.charged(app, &session).await;
    let eligible = dispute(app).await.expect("eligible for dispute resolution");
    assert_eq!((eligible.billed, eligible.over_by), (54_000, 44_000));

    let request = proto::GetLedgerRequest { account_id: c.account_id.clone(), ..Default::default() };
    let ledger = records.get_ledger(request).await.unwrap().into_inner().ledger.expect("a ledger");
    assert_eq!(ledger.dispute_resolution, Some(eligible.clone()), "the ledger shows it too");
    let alerts = caseload_alerts(app, &c, app.event_count().await).await;
    let shown = of_kind(&alerts, proto::AlertKind::DisputeResolutionEligible);
    let [shown] = &shown[..] else { panic!("one dispute alert: {alerts:?}") };
    assert_eq!(shown.eligibility.as_ref().map(|e| e.over_by), Some(44_000), "the clinician sees the amounts");
}

/// The default (warn): the service is booked, the stored event and the record say by when the
/// estimate is due, the caseload shows it, and an estimate issued afterwards clears it.
async fn under_warn_a_self_pay_session_without_an_estimate_is_booked_and_shown_as_due(app: &TestApp) {
    let mut c = clinic(app, Payer::SelfPay, &[]).await;
    let request = booking(&c, Duration::days(21));
    let session_id = request.session_id.clone();
    let receipt = c.sessions.schedule_session(request).await.unwrap().into_inner();
    let scheduled = stored(app, &receipt.stream).await.pop().expect("scheduled");
    let today = Utc::now().date_naive();
    let due = scheduled.data["estimate_due_by"].as_str().expect("a due date").to_owned();
    let due_date: chrono::NaiveDate = due.parse().unwrap();
    assert!(due_date > today && due_date <= today + Duration::days(5), "3 business days from today: {due}");
    assert_eq!(scheduled.schema_version, 2);

    let alerts = caseload_alerts(app, &c, receipt.position).await;
    let missing = of_kind(&alerts, proto::AlertKind::GoodFaithEstimateMissing);
    assert_eq!(
        missing.iter().map(|a| (a.session_id.as_str(), a.due.as_str())).collect::<Vec<_>>(),
        [(session_id.as_str(), due.as_str())]
    );

    let mut intake = app.intake(&Caller::new("biller"));
    let issued = intake.issue_good_faith_estimate(estimate(&c.client_id, &["90834"])).await.unwrap().into_inner();
    let mut records = app.records(&Caller::new("auditor"));
    let request = proto::GetEpisodeRequest { client_id: c.client_id.clone(), min_position: issued.position };
    let view = records.get_episode(request).await.unwrap().into_inner().view.expect("a view");
    let session = view.sessions.iter().find(|s| s.session_id == session_id).expect("the session");
    assert_eq!(session.estimate_due_by, "", "an estimate now covers it");
    let alerts = caseload_alerts(app, &c, issued.position).await;
    assert!(of_kind(&alerts, proto::AlertKind::GoodFaithEstimateMissing).is_empty(), "{alerts:?}");

    let covered = c.sessions.schedule_session(booking(&c, Duration::days(28))).await.unwrap().into_inner();
    let covered = stored(app, &covered.stream).await.pop().expect("scheduled");
    assert!(covered.data["estimate_due_by"].is_null(), "booked after the estimate: covered");
}

/// The practice chose refuse: no self-pay booking before an estimate covers it; insured clients
/// need none.
async fn refuse_books_no_self_pay_service_before_its_estimate(backend: Backend) {
    let sessions = SessionSettings { estimate_policy: EstimatePolicy::Refuse, ..SessionSettings::default() };
    let config = carelog::app::AppConfig { sessions, ..Default::default() };
    let app = TestApp::spawn_with(backend, config).await;
    let mut c = clinic(&app, Payer::SelfPay, &[]).await;
    let before = app.event_count().await;
    let err = c.sessions.schedule_session(booking(&c, Duration::days(21))).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "GOOD_FAITH_ESTIMATE_REQUIRED");
    assert_eq!(app.event_count().await, before, "a refusal stores nothing");

    let mut intake = app.intake(&Caller::new("biller"));
    intake.issue_good_faith_estimate(estimate(&c.client_id, &["90834"])).await.unwrap();
    let receipt = c.sessions.schedule_session(booking(&c, Duration::days(21))).await.unwrap().into_inner();
    assert_eq!(receipt.event_types, ["SessionScheduled"]);

    let mut insured = clinic(&app, Payer::Insured, &[]).await;
    insured.sessions.schedule_session(booking(&insured, Duration::days(21))).await.unwrap();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_refuse_books_no_self_pay_service_before_its_estimate() {
    refuse_books_no_self_pay_service_before_its_estimate(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refuse_books_no_self_pay_service_before_its_estimate() {
    refuse_books_no_self_pay_service_before_its_estimate(Backend::Postgres).await;
}

on_both_backends!(
    an_estimate_of_add_on_codes_alone_is_refused,
    charges_400_dollars_past_the_estimate_show_dispute_eligibility,
    under_warn_a_self_pay_session_without_an_estimate_is_booked_and_shown_as_due,
);
