//! An overdue treatment-plan review is flagged on new charges, or blocks them, as the practice chose.

use carelog_blackbox::{Backend, TestApp, assert_rejected};
use carelog_proto::v1 as proto;
use chrono::{Duration, Utc};
use tonic::Code;

use super::{Clinic, Payer, clinic, id, stored};

/// A plan signed on paper 100 days ago and entered now: under the default 90-day rule its review
/// fell due 10 days ago.
async fn overdue_plan(app: &TestApp, clinic: &Clinic) -> String {
    let mut planning = app.planning(&clinic.clinician());
    let long_ago = |days: i64| {
        let at = Utc::now() - Duration::days(days);
        Some(proto::CommandContext {
            command_id: id(),
            occurred_at: Some(prost_types::Timestamp { seconds: at.timestamp(), nanos: 0 }),
            ..Default::default()
        })
    };
    let plan_id = id();
    let draft = proto::DraftPlanRequest {
        context: long_ago(101),
        plan_id: plan_id.clone(),
        client_id: clinic.client_id.clone(),
        episode_id: clinic.episode_id.clone(),
        icd10_codes: vec!["F41.1".into()],
        clinician_id: clinic.clinician_id.clone(),
    };
    planning.draft_plan(draft).await.unwrap();
    let goal = proto::SetGoalRequest {
        context: long_ago(101),
        plan_id: plan_id.clone(),
        goal_id: id(),
        description: "Reduce avoidance".into(),
        measurable_target: "Rides the bus to work 4 days a week".into(),
        due_on: (Utc::now() + Duration::days(30)).date_naive().to_string(),
    };
    planning.set_goal(goal).await.unwrap();
    let sign = proto::SignPlanRequest {
        context: long_ago(100),
        plan_id: plan_id.clone(),
        clinician_id: clinic.clinician_id.clone(),
    };
    let signed = planning.sign_plan(sign).await.unwrap().into_inner();
    let events = stored(app, &signed.stream).await;
    let due = events.last().unwrap().data["next_review_due"].as_str().unwrap().to_owned();
    assert_eq!(due, (Utc::now() - Duration::days(10)).date_naive().to_string());
    plan_id
}

async fn warn_flags_the_charge(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut clinic = clinic(&app, Payer::Insured, &["F41.1"]).await;
    let plan_id = overdue_plan(&app, &clinic).await;
    let session = clinic.signed_video().await;
    let mut charge = clinic.charge(&session, &[1]);
    charge.plan_id = plan_id;
    let receipt = clinic.billing.create_charge(charge).await.unwrap().into_inner();
    let created = stored(&app, &receipt.stream).await.pop().unwrap();
    assert_eq!(created.event_type, "ChargeCreated");
    assert_eq!(created.data["plan_review_overdue"], true);
    let mut records = app.records(&clinic.clinician());
    // GetCaseload has no read-your-writes wait: open the chart once the read model holds the charge.
    let chart = proto::GetEpisodeRequest { client_id: clinic.client_id.clone(), min_position: receipt.position };
    records.get_episode(chart).await.unwrap();
    let caseload = records
        .get_caseload(proto::GetCaseloadRequest { clinician_id: clinic.clinician_id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let overdue =
        |a: &proto::CaseloadAlert| a.kind.as_ref().map(|k| k.kind()) == Some(proto::AlertKind::PlanReviewOverdue);
    assert!(caseload.alerts.iter().any(overdue), "{:?}", caseload.alerts);
    app.stop().await;
}

async fn block_refuses_the_charge(backend: Backend) {
    let mut config = carelog::app::AppConfig::default();
    config.billing.overdue_policy = carelog_domain::billing::OverduePolicy::Block;
    let app = TestApp::spawn_with(backend, config).await;
    let mut clinic = clinic(&app, Payer::Insured, &["F41.1"]).await;
    let plan_id = overdue_plan(&app, &clinic).await;
    let session = clinic.signed_video().await;
    let before = app.event_count().await;
    let mut charge = clinic.charge(&session, &[1]);
    charge.plan_id = plan_id;
    let err = clinic.billing.create_charge(charge).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "PLAN_REVIEW_OVERDUE");
    assert_eq!(app.event_count().await, before);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_overdue_review_is_flagged_on_the_charge_under_warn() {
    warn_flags_the_charge(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_overdue_review_is_flagged_on_the_charge_under_warn() {
    warn_flags_the_charge(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_overdue_review_blocks_the_charge_under_block() {
    block_refuses_the_charge(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_overdue_review_blocks_the_charge_under_block() {
    block_refuses_the_charge(Backend::Postgres).await;
}
