//! Concurrent commands: the cross-stream rule holds under races, and nothing is lost or doubled.

use carelog_blackbox::{TestApp, assert_rejected, on_both_backends};
use tonic::Code;
use uuid::Uuid;

use super::*;

const ROUNDS: usize = 12;

/// A plan drafted while its diagnosis is being resolved either commits before the resolution or
/// is refused: the draft's append is conditioned on the client stream it read.
async fn a_diagnosis_resolved_while_a_plan_is_drafted_is_never_addressed_after(app: &TestApp) {
    let mut drafted_first = 0;
    let mut refused = 0;
    for _ in 0..ROUNDS {
        let e = given_episode(app).await;
        let mut intake = app.intake(&e.clinician());
        let mut planning = planning(app, &e);
        let plan_id = Uuid::now_v7();
        let (resolved, plan) = tokio::join!(
            intake.revise_diagnosis(resolve(&e, "F32.1")),
            planning.draft_plan(draft(&e, plan_id, &["F32.1", "F41.1"])),
        );
        let resolved = resolved.expect("resolving never depends on plans").into_inner();
        match plan {
            Ok(plan) => {
                let plan = plan.into_inner();
                assert!(plan.position < resolved.position, "a plan addressed F32.1 after it was resolved");
                drafted_first += 1;
            }
            Err(status) => {
                assert_rejected(&status, Code::FailedPrecondition, "DIAGNOSIS_NOT_ACTIVE");
                assert!(stored(app, &plan_stream(plan_id)).await.is_empty());
                refused += 1;
            }
        }
    }
    assert_eq!(drafted_first + refused, ROUNDS);
}

/// A plan signed while a diagnosis it addresses is being resolved: the same guarantee at signing.
async fn a_diagnosis_resolved_while_a_plan_is_signed_is_never_signed_after(app: &TestApp) {
    for _ in 0..ROUNDS {
        let e = given_episode(app).await;
        let mut intake = app.intake(&e.clinician());
        let mut planning = planning(app, &e);
        let plan_id = Uuid::now_v7();
        planning.draft_plan(draft(&e, plan_id, &["F32.1"])).await.unwrap();
        planning.set_goal(goal(plan_id, Uuid::now_v7())).await.unwrap();
        let (resolved, signed) =
            tokio::join!(intake.revise_diagnosis(resolve(&e, "F32.1")), planning.sign_plan(sign(&e, plan_id)));
        let resolved = resolved.expect("resolving never depends on plans").into_inner();
        match signed {
            Ok(signed) => assert!(signed.into_inner().position < resolved.position),
            Err(status) => assert_rejected(&status, Code::FailedPrecondition, "DIAGNOSIS_NOT_ACTIVE"),
        }
    }
}

/// Concurrent goals on one plan are retried past each other's conflicts: all stored, each once.
async fn concurrent_goals_on_one_plan_are_each_stored_once(app: &TestApp) {
    let e = given_episode(app).await;
    let plan_id = Uuid::now_v7();
    planning(app, &e).draft_plan(draft(&e, plan_id, &["F32.1"])).await.unwrap();
    // Four writers: each conflict round lets at least one through, within the five attempts a
    // command gets.
    let goals: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
    let calls = goals.iter().map(|g| {
        let mut client = planning(app, &e);
        let request = goal(plan_id, *g);
        async move { client.set_goal(request).await }
    });
    let receipts = futures::future::join_all(calls).await;
    let mut revisions: Vec<u64> = receipts.into_iter().map(|r| r.expect("goal set").into_inner().revision).collect();
    revisions.sort_unstable();
    assert_eq!(revisions, [1, 2, 3, 4]);
    let events = stored(app, &plan_stream(plan_id)).await;
    let mut stored_goals: Vec<String> =
        events[1..].iter().map(|r| r.data["goal_id"].as_str().unwrap_or_default().to_owned()).collect();
    stored_goals.sort_unstable();
    let mut expected: Vec<String> = goals.iter().map(Uuid::to_string).collect();
    expected.sort_unstable();
    assert_eq!(stored_goals, expected);
}

on_both_backends!(
    a_diagnosis_resolved_while_a_plan_is_drafted_is_never_addressed_after,
    a_diagnosis_resolved_while_a_plan_is_signed_is_never_signed_after,
    concurrent_goals_on_one_plan_are_each_stored_once,
);
