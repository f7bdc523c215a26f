//! The whole life of a treatment plan, what it stores, and retries of its commands.

use carelog_blackbox::{TestApp, assert_rejected, ctx, on_both_backends};
use carelog_proto::v1 as proto;
use proto::change_goal_status_request::Status;
use proto::review_plan_request::Outcome;
use tonic::Code;
use uuid::Uuid;

use super::*;

async fn a_plan_is_drafted_signed_reviewed_revised_and_ended(app: &TestApp) {
    let e = given_episode(app).await;
    let mut planning = planning(app, &e);
    let (plan_id, g1, g2, g3) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let before = app.event_count().await;

    // Codes are normalised: `f41.1` addresses the recorded F41.1.
    let drafted = planning.draft_plan(draft(&e, plan_id, &["F32.1", "f41.1"])).await.unwrap().into_inner();
    assert_eq!(drafted.stream, plan_stream(plan_id));
    assert_eq!((drafted.revision, drafted.position, drafted.already_applied), (0, before + 1, false));
    assert_eq!(drafted.event_types, ["TreatmentPlanDrafted"]);
    planning.set_goal(goal(plan_id, g1)).await.unwrap();
    planning.set_goal(goal(plan_id, g2)).await.unwrap();
    planning.add_objective(objective(plan_id, g1)).await.unwrap();
    planning.add_intervention(intervention(plan_id, g1)).await.unwrap();
    let signed = planning.sign_plan(sign(&e, plan_id)).await.unwrap().into_inner();
    assert_eq!((signed.revision, signed.event_types), (5, vec!["TreatmentPlanSigned".to_owned()]));
    planning.review_plan(review(&e, plan_id, &[g1, g2], Outcome::Continue)).await.unwrap();
    planning.change_goal_status(goal_status(&e, plan_id, g2, Status::Achieved)).await.unwrap();
    // An achieved goal needs no progress line; `revise` opens version 2 as a draft.
    planning.review_plan(review(&e, plan_id, &[g1], Outcome::Revise)).await.unwrap();
    planning.set_goal(goal(plan_id, g3)).await.unwrap();
    planning.sign_plan(sign(&e, plan_id)).await.unwrap();
    planning.review_plan(review(&e, plan_id, &[g1, g3], Outcome::Discharge)).await.unwrap();
    let ended = planning.plan_termination(termination(&e, plan_id, day(14))).await.unwrap().into_inner();
    assert_eq!((ended.revision, ended.event_types), (12, vec!["TerminationPlanned".to_owned()]));

    let events = stored(app, &plan_stream(plan_id)).await;
    let types: Vec<&str> = events.iter().map(|r| r.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "TreatmentPlanDrafted",
            "GoalSet",
            "GoalSet",
            "ObjectiveAdded",
            "InterventionAdded",
            "TreatmentPlanSigned",
            "PlanReviewed",
            "GoalStatusChanged",
            "PlanReviewed",
            "GoalSet",
            "TreatmentPlanSigned",
            "PlanReviewed",
            "TerminationPlanned",
        ]
    );
    assert_eq!(events[0].data["addresses"], serde_json::json!(["F32.1", "F41.1"]));
    assert_eq!(events[0].data["client_id"], e.client_id.to_string());
    assert_eq!(events[5].data["version"], 1);
    assert_eq!(events[5].data["next_review_due"], day(90), "the default review interval is 90 days");
    assert_eq!(events[6].data["next_review_due"], day(90));
    assert_eq!((events[7].data["from"].as_str(), events[7].data["to"].as_str()), (Some("active"), Some("achieved")));
    assert_eq!(events[7].metadata.reason.as_deref(), Some("PHQ-9 at 6 on two consecutive administrations"));
    assert_eq!((events[9].data["version"].as_u64(), events[10].data["version"].as_u64()), (Some(2), Some(2)));
    assert_eq!(events[11].data["outcome"], "discharge");
    assert_eq!(events[12].data["planned_end_on"], day(14));
    for (revision, event) in events.iter().enumerate() {
        assert_eq!(event.revision, revision as u64);
        assert_eq!(event.metadata.tags.client.as_deref(), Some(e.client_id.to_string().as_str()));
        assert_eq!(event.metadata.tags.episode.as_deref(), Some(e.episode_id.to_string().as_str()));
        assert_eq!(event.metadata.actor.role, "clinician");
    }
    assert_eq!(app.event_count().await, before + 13);
}

async fn a_retried_command_is_applied_once(app: &TestApp) {
    let e = given_episode(app).await;
    let mut planning = planning(app, &e);
    let plan_id = Uuid::now_v7();
    let request = draft(&e, plan_id, &["F32.1"]);
    let first = planning.draft_plan(request.clone()).await.unwrap().into_inner();
    let retry = planning.draft_plan(request).await.unwrap().into_inner();
    assert!(retry.already_applied && !first.already_applied);
    assert_eq!((retry.stream, retry.revision, retry.position), (first.stream, first.revision, first.position));
    assert_eq!(retry.event_types, first.event_types);

    // A retry still gets its first answer after the plan moved on, even where the command would
    // now be refused (the plan is signed).
    let set = goal(plan_id, Uuid::now_v7());
    let first = planning.set_goal(set.clone()).await.unwrap().into_inner();
    planning.sign_plan(sign(&e, plan_id)).await.unwrap();
    let count = app.event_count().await;
    let retry = planning.set_goal(set).await.unwrap().into_inner();
    assert!(retry.already_applied);
    assert_eq!((retry.revision, retry.position), (first.revision, first.position));
    assert_eq!(app.event_count().await, count);
    assert_eq!(stored(app, &plan_stream(plan_id)).await.len(), 3);
}

async fn a_command_id_reused_for_another_plan_is_refused(app: &TestApp) {
    let e = given_episode(app).await;
    let mut planning = planning(app, &e);
    let first = draft(&e, Uuid::now_v7(), &["F32.1"]);
    planning.draft_plan(first.clone()).await.unwrap();
    let mut other = draft(&e, Uuid::now_v7(), &["F32.1"]);
    other.context = first.context;
    let err = planning.draft_plan(other).await.unwrap_err();
    assert_rejected(&err, Code::AlreadyExists, "COMMAND_ID_REUSED");
}

async fn a_stale_expected_revision_is_aborted(app: &TestApp) {
    let e = given_episode(app).await;
    let mut planning = planning(app, &e);
    let plan_id = Uuid::now_v7();
    planning.draft_plan(draft(&e, plan_id, &["F32.1"])).await.unwrap();
    let mut set = goal(plan_id, Uuid::now_v7());
    set.context = ctx().map(|c| proto::CommandContext { expected_revision: Some(0), ..c });
    assert_eq!(planning.set_goal(set.clone()).await.unwrap().into_inner().revision, 1);
    set.goal_id = Uuid::now_v7().to_string();
    set.context = ctx().map(|c| proto::CommandContext { expected_revision: Some(0), ..c });
    let err = planning.set_goal(set).await.unwrap_err();
    assert_rejected(&err, Code::Aborted, "CONCURRENCY_CONFLICT");
    assert_eq!(stored(app, &plan_stream(plan_id)).await.len(), 2);
}

on_both_backends!(
    a_plan_is_drafted_signed_reviewed_revised_and_ended,
    a_retried_command_is_applied_once,
    a_command_id_reused_for_another_plan_is_refused,
    a_stale_expected_revision_is_aborted,
);
