//! Every planning rule's rejection, with its status code and reason code, storing nothing.

use carelog_blackbox::{Caller, TestApp, assert_rejected, on_both_backends};
use carelog_proto::v1 as proto;
use proto::change_goal_status_request::Status;
use proto::review_plan_request::Outcome;
use tonic::Code;
use uuid::Uuid;

use super::*;

async fn a_plan_addresses_only_active_diagnoses_of_a_known_episode(app: &TestApp) {
    let e = given_episode(app).await;
    let mut planning = planning(app, &e);
    app.intake(&e.clinician()).revise_diagnosis(resolve(&e, "F41.1")).await.unwrap();
    let before = app.event_count().await;
    let err = planning.draft_plan(draft(&e, Uuid::now_v7(), &["F32.1", "F43.10"])).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "DIAGNOSIS_NOT_ACTIVE");
    let err = planning.draft_plan(draft(&e, Uuid::now_v7(), &["F41.1"])).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "DIAGNOSIS_NOT_ACTIVE");
    let elsewhere = Episode { episode_id: Uuid::now_v7(), ..e };
    let err = planning.draft_plan(draft(&elsewhere, Uuid::now_v7(), &["F32.1"])).await.unwrap_err();
    assert_rejected(&err, Code::NotFound, "EPISODE_NOT_FOUND");
    // An unknown client is not found by a supervisor; to a clinician it is just not theirs.
    let stranger = Episode { client_id: Uuid::now_v7(), ..e };
    let err = app.planning(&Caller::new("supervisor")).draft_plan(draft(&stranger, Uuid::now_v7(), &["F32.1"])).await;
    assert_rejected(&err.unwrap_err(), Code::NotFound, "CLIENT_NOT_FOUND");
    let err = planning.draft_plan(draft(&stranger, Uuid::now_v7(), &["F32.1"])).await.unwrap_err();
    assert_rejected(&err, Code::PermissionDenied, "CLIENT_NOT_ASSIGNED");
    given::assert_only_denials_logged(app, before, &["CLIENT_NOT_ASSIGNED"]).await;
}

async fn signing_needs_a_goal_and_rechecks_the_diagnoses(app: &TestApp) {
    let e = given_episode(app).await;
    let mut planning = planning(app, &e);
    let plan_id = Uuid::now_v7();
    planning.draft_plan(draft(&e, plan_id, &["F32.1", "F41.1"])).await.unwrap();
    assert_rejected(
        &planning.sign_plan(sign(&e, plan_id)).await.unwrap_err(),
        Code::FailedPrecondition,
        "PLAN_HAS_NO_GOALS",
    );
    planning.set_goal(goal(plan_id, Uuid::now_v7())).await.unwrap();
    app.intake(&e.clinician()).revise_diagnosis(resolve(&e, "F41.1")).await.unwrap();
    let err = planning.sign_plan(sign(&e, plan_id)).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "DIAGNOSIS_NOT_ACTIVE");
    // The unsigned draft can be re-drafted to drop the resolved diagnosis, then signed.
    planning.draft_plan(draft(&e, plan_id, &["F32.1"])).await.unwrap();
    planning.sign_plan(sign(&e, plan_id)).await.unwrap();
}

async fn a_signed_plan_cannot_change(app: &TestApp) {
    let (e, plan_id, goal_id) = given_signed_plan(app).await;
    let mut planning = planning(app, &e);
    let before = app.event_count().await;
    let signed = |status: tonic::Status| assert_rejected(&status, Code::FailedPrecondition, "PLAN_ALREADY_SIGNED");
    signed(planning.set_goal(goal(plan_id, Uuid::now_v7())).await.unwrap_err());
    signed(planning.add_objective(objective(plan_id, goal_id)).await.unwrap_err());
    signed(planning.add_intervention(intervention(plan_id, goal_id)).await.unwrap_err());
    signed(planning.draft_plan(draft(&e, plan_id, &["F32.1", "F41.1"])).await.unwrap_err());
    signed(planning.sign_plan(sign(&e, plan_id)).await.unwrap_err());
    assert_eq!(app.event_count().await, before);
    // Goal status is progress tracking, not plan content.
    planning.change_goal_status(goal_status(&e, plan_id, goal_id, Status::Deferred)).await.unwrap();
}

async fn commands_on_an_unknown_plan_are_not_found(app: &TestApp) {
    let e = given_episode(app).await;
    let mut p = planning(app, &e);
    let (plan, g) = (Uuid::now_v7(), Uuid::now_v7());
    let before = app.event_count().await;
    let missing = |status: tonic::Status| assert_rejected(&status, Code::NotFound, "PLAN_NOT_FOUND");
    missing(p.set_goal(goal(plan, g)).await.unwrap_err());
    missing(p.add_objective(objective(plan, g)).await.unwrap_err());
    missing(p.add_intervention(intervention(plan, g)).await.unwrap_err());
    missing(p.sign_plan(sign(&e, plan)).await.unwrap_err());
    missing(p.review_plan(review(&e, plan, &[g], Outcome::Continue)).await.unwrap_err());
    missing(p.change_goal_status(goal_status(&e, plan, g, Status::Achieved)).await.unwrap_err());
    missing(p.plan_termination(termination(&e, plan, day(7))).await.unwrap_err());
    assert_eq!(app.event_count().await, before);
}

async fn a_plan_id_belongs_to_one_episode(app: &TestApp) {
    let clinician = Uuid::now_v7();
    let (first, second) = (given_episode_of(app, clinician).await, given_episode_of(app, clinician).await);
    let mut planning = planning(app, &first);
    let plan_id = Uuid::now_v7();
    planning.draft_plan(draft(&first, plan_id, &["F32.1"])).await.unwrap();
    let err = planning.draft_plan(draft(&second, plan_id, &["F32.1"])).await.unwrap_err();
    assert_rejected(&err, Code::AlreadyExists, "PLAN_ALREADY_EXISTS");
}

async fn goals_objectives_and_interventions_are_unique_within_an_existing_goal(app: &TestApp) {
    let e = given_episode(app).await;
    let mut p = planning(app, &e);
    let (plan, g) = (Uuid::now_v7(), Uuid::now_v7());
    p.draft_plan(draft(&e, plan, &["F32.1"])).await.unwrap();
    p.set_goal(goal(plan, g)).await.unwrap();
    assert_rejected(&p.set_goal(goal(plan, g)).await.unwrap_err(), Code::AlreadyExists, "GOAL_ALREADY_EXISTS");
    let stranger = Uuid::now_v7();
    let err = p.add_objective(objective(plan, stranger)).await.unwrap_err();
    assert_rejected(&err, Code::NotFound, "GOAL_NOT_FOUND");
    let err = p.add_intervention(intervention(plan, stranger)).await.unwrap_err();
    assert_rejected(&err, Code::NotFound, "GOAL_NOT_FOUND");
    let o = objective(plan, g);
    p.add_objective(o.clone()).await.unwrap();
    let again = proto::AddObjectiveRequest { context: carelog_blackbox::ctx(), ..o };
    assert_rejected(&p.add_objective(again).await.unwrap_err(), Code::AlreadyExists, "OBJECTIVE_ALREADY_EXISTS");
    let i = intervention(plan, g);
    p.add_intervention(i.clone()).await.unwrap();
    let again = proto::AddInterventionRequest { context: carelog_blackbox::ctx(), ..i };
    let err = p.add_intervention(again).await.unwrap_err();
    assert_rejected(&err, Code::AlreadyExists, "INTERVENTION_ALREADY_EXISTS");
}

async fn a_review_needs_a_signed_plan_and_every_active_goal(app: &TestApp) {
    let e = given_episode(app).await;
    let mut p = planning(app, &e);
    let (plan, g) = (Uuid::now_v7(), Uuid::now_v7());
    p.draft_plan(draft(&e, plan, &["F32.1"])).await.unwrap();
    p.set_goal(goal(plan, g)).await.unwrap();
    let err = p.review_plan(review(&e, plan, &[g], Outcome::Continue)).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "PLAN_NOT_SIGNED");
    p.sign_plan(sign(&e, plan)).await.unwrap();
    let err = p.review_plan(review(&e, plan, &[], Outcome::Continue)).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "REVIEW_INCOMPLETE");
    let err = p.review_plan(review(&e, plan, &[g, Uuid::now_v7()], Outcome::Continue)).await.unwrap_err();
    assert_rejected(&err, Code::NotFound, "GOAL_NOT_FOUND");
}

async fn goal_status_must_change_and_name_a_goal(app: &TestApp) {
    let (e, plan, g) = given_signed_plan(app).await;
    let mut p = planning(app, &e);
    let err = p.change_goal_status(goal_status(&e, plan, g, Status::Active)).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "GOAL_STATUS_UNCHANGED");
    let err = p.change_goal_status(goal_status(&e, plan, Uuid::now_v7(), Status::Achieved)).await.unwrap_err();
    assert_rejected(&err, Code::NotFound, "GOAL_NOT_FOUND");
}

async fn termination_is_planned_once_on_a_signed_plan(app: &TestApp) {
    let e = given_episode(app).await;
    let mut p = planning(app, &e);
    let plan = Uuid::now_v7();
    p.draft_plan(draft(&e, plan, &["F32.1"])).await.unwrap();
    let err = p.plan_termination(termination(&e, plan, day(7))).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "PLAN_NOT_SIGNED");
    let (e, plan, _) = given_signed_plan(app).await;
    let mut p = planning(app, &e);
    p.plan_termination(termination(&e, plan, day(0))).await.unwrap();
    let err = p.plan_termination(termination(&e, plan, day(30))).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "TERMINATION_ALREADY_PLANNED");
}

async fn a_discharged_plan_takes_only_its_termination(app: &TestApp) {
    let (e, plan, g) = given_signed_plan(app).await;
    let mut p = planning(app, &e);
    p.review_plan(review(&e, plan, &[g], Outcome::Discharge)).await.unwrap();
    let discharged = |status: tonic::Status| assert_rejected(&status, Code::FailedPrecondition, "PLAN_DISCHARGED");
    discharged(p.review_plan(review(&e, plan, &[g], Outcome::Continue)).await.unwrap_err());
    discharged(p.set_goal(goal(plan, Uuid::now_v7())).await.unwrap_err());
    discharged(p.change_goal_status(goal_status(&e, plan, g, Status::Achieved)).await.unwrap_err());
    p.plan_termination(termination(&e, plan, day(7))).await.unwrap();
}

async fn no_planning_in_a_closed_episode(app: &TestApp) {
    let e = given_episode(app).await;
    let mut p = planning(app, &e);
    let (plan, g) = (Uuid::now_v7(), Uuid::now_v7());
    p.draft_plan(draft(&e, plan, &["F32.1"])).await.unwrap();
    given_episode_closed(app, &e).await;
    let before = app.event_count().await;
    let closed = |status: tonic::Status| assert_rejected(&status, Code::FailedPrecondition, "EPISODE_CLOSED");
    closed(p.draft_plan(draft(&e, Uuid::now_v7(), &["F32.1"])).await.unwrap_err());
    closed(p.set_goal(goal(plan, g)).await.unwrap_err());
    closed(p.sign_plan(sign(&e, plan)).await.unwrap_err());
    assert_eq!(app.event_count().await, before);
}

/// Closes the episode through the SessionService (no sessions, so no unsigned notes).
async fn given_episode_closed(app: &TestApp, e: &Episode) {
    let close = proto::CloseEpisodeRequest {
        context: carelog_blackbox::ctx(),
        client_id: e.client_id.to_string(),
        episode_id: e.episode_id.to_string(),
        clinician_id: e.clinician_id.to_string(),
        discharge_summary: "Goals met; discharged to primary care.".into(),
    };
    app.sessions(&e.clinician()).close_episode(close).await.unwrap();
}

on_both_backends!(
    a_plan_addresses_only_active_diagnoses_of_a_known_episode,
    signing_needs_a_goal_and_rechecks_the_diagnoses,
    a_signed_plan_cannot_change,
    commands_on_an_unknown_plan_are_not_found,
    a_plan_id_belongs_to_one_episode,
    goals_objectives_and_interventions_are_unique_within_an_existing_goal,
    a_review_needs_a_signed_plan_and_every_active_goal,
    goal_status_must_change_and_name_a_goal,
    termination_is_planned_once_on_a_signed_plan,
    a_discharged_plan_takes_only_its_termination,
    no_planning_in_a_closed_episode,
);
