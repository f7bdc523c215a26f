//! Bad input of every kind is INVALID_ARGUMENT naming each bad field, and stores nothing.

use carelog_blackbox::{TestApp, assert_invalid_field, ctx, on_both_backends};
use carelog_proto::v1 as proto;
use proto::change_goal_status_request::Status;
use proto::review_plan_request::{GoalProgress, Outcome};
use tonic::Code;
use uuid::Uuid;

use super::*;

#[track_caller]
fn assert_invalid_fields(status: &tonic::Status, fields: &[&str]) {
    for field in fields {
        assert_invalid_field(status, field);
    }
}

async fn a_bad_draft_names_every_bad_field(app: &TestApp) {
    let e = given_episode(app).await;
    let mut planning = planning(app, &e);
    let before = app.event_count().await;
    let mut request = draft(&e, Uuid::new_v4(), &["F32.1", "X12", "f32.1"]);
    request.client_id = "client-1".into();
    request.episode_id = String::new();
    request.clinician_id = "00000000-0000-0000-0000-000000000000".into();
    let err = planning.draft_plan(request).await.unwrap_err();
    let fields = ["plan_id", "client_id", "episode_id", "clinician_id", "icd10_codes[1]", "icd10_codes[2]"];
    assert_invalid_fields(&err, &fields);
    let err = planning.draft_plan(draft(&e, Uuid::now_v7(), &[])).await.unwrap_err();
    assert_invalid_field(&err, "icd10_codes");
    let mut request = draft(&e, Uuid::now_v7(), &["F32.1"]);
    request.context = None;
    assert_invalid_field(&planning.draft_plan(request).await.unwrap_err(), "context");
    let mut request = draft(&e, Uuid::now_v7(), &["F32.1"]);
    request.context = Some(proto::CommandContext { command_id: "again".into(), ..Default::default() });
    assert_invalid_field(&planning.draft_plan(request).await.unwrap_err(), "context.command_id");
    let mut request = draft(&e, Uuid::now_v7(), &["F32.1"]);
    let future = prost_types::Timestamp { seconds: 32_503_680_000, nanos: 0 };
    request.context = ctx().map(|c| proto::CommandContext { occurred_at: Some(future), ..c });
    assert_invalid_field(&planning.draft_plan(request).await.unwrap_err(), "context.occurred_at");
    assert_eq!(app.event_count().await, before);
}

async fn bad_goals_objectives_and_interventions_are_refused(app: &TestApp) {
    let e = given_episode(app).await;
    let mut planning = planning(app, &e);
    let plan_id = Uuid::now_v7();
    planning.draft_plan(draft(&e, plan_id, &["F32.1"])).await.unwrap();
    let before = app.event_count().await;
    let mut request = goal(plan_id, Uuid::now_v7());
    request.goal_id = "goal".into();
    request.description = "  ".into();
    request.measurable_target = "x".repeat(501);
    request.due_on = "2026-13-01".into();
    let err = planning.set_goal(request).await.unwrap_err();
    assert_invalid_fields(&err, &["goal_id", "description", "measurable_target", "due_on"]);
    for due_on in [day(0), day(-1), "01/06/2027".to_owned(), String::new()] {
        let request = proto::SetGoalRequest { due_on, ..goal(plan_id, Uuid::now_v7()) };
        assert_invalid_field(&planning.set_goal(request).await.unwrap_err(), "due_on");
    }
    let request = proto::AddObjectiveRequest {
        goal_id: String::new(),
        objective_id: "1".into(),
        description: String::new(),
        ..objective(plan_id, Uuid::now_v7())
    };
    let err = planning.add_objective(request).await.unwrap_err();
    assert_invalid_fields(&err, &["goal_id", "objective_id", "description"]);
    let request = proto::AddInterventionRequest {
        plan_id: "plan-1".into(),
        intervention_id: String::new(),
        frequency: "weekly\u{0}".into(),
        ..intervention(plan_id, Uuid::now_v7())
    };
    let err = planning.add_intervention(request).await.unwrap_err();
    assert_invalid_fields(&err, &["plan_id", "intervention_id", "frequency"]);
    let request = proto::SignPlanRequest { clinician_id: "dr-smith".into(), ..sign(&e, plan_id) };
    assert_invalid_field(&planning.sign_plan(request).await.unwrap_err(), "clinician_id");
    assert_eq!(app.event_count().await, before);
}

async fn bad_reviews_status_changes_and_terminations_are_refused(app: &TestApp) {
    let (e, plan_id, goal_id) = given_signed_plan(app).await;
    let mut planning = planning(app, &e);
    let before = app.event_count().await;
    let mut request = review(&e, plan_id, &[goal_id, goal_id], Outcome::Continue);
    request.outcome = 0;
    request.progress.push(GoalProgress { goal_id: "g".into(), rating: 0, comment: String::new() });
    request.progress[0].rating = 42;
    let err = planning.review_plan(request).await.unwrap_err();
    let fields = ["outcome", "progress[0].rating", "progress[1].goal_id", "progress[2].goal_id", "progress[2].rating"];
    assert_invalid_fields(&err, &fields);

    let mut request = goal_status(&e, plan_id, goal_id, Status::Achieved);
    request.context = ctx();
    request.status = Status::Unspecified as i32;
    let err = planning.change_goal_status(request).await.unwrap_err();
    assert_invalid_fields(&err, &["context.reason", "status"]);

    let mut request = termination(&e, plan_id, day(-1));
    request.termination_reason = 0;
    request.aftercare = String::new();
    let err = planning.plan_termination(request).await.unwrap_err();
    assert_invalid_fields(&err, &["planned_end_on", "termination_reason", "aftercare"]);
    let request = termination(&e, plan_id, "2027-02-30".into());
    assert_invalid_field(&planning.plan_termination(request).await.unwrap_err(), "planned_end_on");
    assert_eq!(app.event_count().await, before);
}

async fn a_call_without_a_caller_is_unauthenticated(app: &TestApp) {
    let e = given_episode(app).await;
    let before = app.event_count().await;
    let mut anonymous = proto::treatment_planning_service_client::TreatmentPlanningServiceClient::new(app.channel());
    let err = anonymous.draft_plan(draft(&e, Uuid::now_v7(), &["F32.1"])).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(app.event_count().await, before);
}

on_both_backends!(
    a_bad_draft_names_every_bad_field,
    bad_goals_objectives_and_interventions_are_refused,
    bad_reviews_status_changes_and_terminations_are_refused,
    a_call_without_a_caller_is_unauthenticated,
);
