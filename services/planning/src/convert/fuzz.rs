//! Every PlanningService request, generated from the API's descriptors: converted, or refused with
//! violations naming its fields; never a panic.

use carelog_runtime::testing::{fuzz, meta, schema, uuid};
use proptest::prelude::*;

use super::*;

/// The stream written is the plan the request names.
fn on_plan(raw: &str, (id, _): &PlanCommand) -> Result<(), TestCaseError> {
    prop_assert_eq!(id.as_uuid(), uuid(raw));
    Ok(())
}

fn other(command: &PlanningCommand) -> TestCaseError {
    TestCaseError::fail(format!("converted to another command: {command:?}"))
}

#[test]
fn every_planning_request_is_fuzzed() {
    let fuzzed = [
        "AddInterventionRequest",
        "AddObjectiveRequest",
        "ChangeGoalStatusRequest",
        "DraftPlanRequest",
        "PlanTerminationRequest",
        "ReviewPlanRequest",
        "SetGoalRequest",
        "SignPlanRequest",
    ];
    assert_eq!(schema::requests_of("TreatmentPlanningService"), fuzzed);
}

#[test]
fn draft_plan_never_panics() {
    fuzz("DraftPlanRequest", draft_plan, |r, converted| {
        on_plan(&r.plan_id, converted)?;
        let PlanningCommand::DraftPlan { client_id, addresses, .. } = &converted.1 else {
            return Err(other(&converted.1));
        };
        prop_assert_eq!(client_id.as_uuid(), uuid(&r.client_id));
        prop_assert_eq!(addresses.len(), r.icd10_codes.len());
        Ok(())
    });
}

#[test]
fn set_goal_never_panics() {
    let convert = |r: &proto::SetGoalRequest| set_goal(r, &meta(r.context.as_ref()));
    fuzz("SetGoalRequest", convert, |r, converted| {
        on_plan(&r.plan_id, converted)?;
        let PlanningCommand::SetGoal { due_on, .. } = &converted.1 else { return Err(other(&converted.1)) };
        prop_assert!(*due_on > today(&meta(r.context.as_ref())), "due {due_on}, not after today");
        Ok(())
    });
}

#[test]
fn add_objective_never_panics() {
    fuzz("AddObjectiveRequest", add_objective, |r, converted| on_plan(&r.plan_id, converted));
}

#[test]
fn add_intervention_never_panics() {
    fuzz("AddInterventionRequest", add_intervention, |r, converted| on_plan(&r.plan_id, converted));
}

#[test]
fn sign_plan_never_panics() {
    fuzz("SignPlanRequest", sign_plan, |r, converted| on_plan(&r.plan_id, converted));
}

#[test]
fn review_plan_never_panics() {
    fuzz("ReviewPlanRequest", review_plan, |r, converted| {
        on_plan(&r.plan_id, converted)?;
        let PlanningCommand::ReviewPlan { progress, .. } = &converted.1 else { return Err(other(&converted.1)) };
        prop_assert_eq!(progress.len(), r.progress.len());
        Ok(())
    });
}

#[test]
fn change_goal_status_never_panics() {
    let convert = |r: &proto::ChangeGoalStatusRequest| change_goal_status(r, &meta(r.context.as_ref()));
    fuzz("ChangeGoalStatusRequest", convert, |r, converted| on_plan(&r.plan_id, converted));
}

#[test]
fn plan_termination_never_panics() {
    let convert = |r: &proto::PlanTerminationRequest| plan_termination(r, &meta(r.context.as_ref()));
    fuzz("PlanTerminationRequest", convert, |r, converted| on_plan(&r.plan_id, converted));
}
