//! Treatment plans in the view: drafting, goals, signing, reviews and termination.

use carelog_domain::planning::*;

use super::*;
use crate::episode::PlanStatus;

/// Drafts version 1 addressing F32.1 with one goal, one objective and one intervention.
fn drafted(chart: &mut Chart) -> GoalId {
    chart.register();
    let (plan_id, client_id, episode_id, drafted_by) = (chart.plan, chart.client, chart.episode, chart.clinician);
    chart.planning(TreatmentPlanDrafted {
        plan_id,
        client_id,
        episode_id,
        version: 1,
        addresses: vec![icd("F32.1")],
        drafted_by,
        drafted_at: at(1, 9),
    });
    let goal_id = GoalId::new_v4();
    chart.planning(GoalSet {
        goal_id,
        version: 1,
        description: short("Reduce depressive symptoms"),
        measurable_target: short("PHQ-9 below 10 twice in a row"),
        due_on: date(2026, 6, 1),
    });
    let objective_id = ObjectiveId::new_v4();
    chart.planning(ObjectiveAdded { objective_id, goal_id, version: 1, description: short("Daily walk") });
    let intervention_id = InterventionId::new_v4();
    chart.planning(InterventionAdded {
        intervention_id,
        goal_id,
        version: 1,
        description: short("CBT behavioural activation"),
        frequency: short("weekly"),
    });
    goal_id
}

fn sign(chart: &mut Chart, version: u32, next_review_due: chrono::NaiveDate) {
    let signed_by = chart.clinician;
    chart.planning(TreatmentPlanSigned { version, signed_by, signed_at: at(2, 9), next_review_due });
}

#[test]
fn a_signed_plan_shows_its_goals_objectives_interventions_and_signature() {
    let mut chart = Chart::new();
    let goal_id = drafted(&mut chart);
    assert_eq!(chart.view().plans[0].status, PlanStatus::Draft);

    sign(&mut chart, 1, date(2026, 5, 31));
    let view = chart.view();

    let plan = view.plan(chart.plan).expect("plan");
    assert_eq!((plan.version, plan.status, plan.signed_version), (1, PlanStatus::Signed, Some(1)));
    assert_eq!((plan.episode_id, plan.addresses.clone()), (chart.episode, vec![icd("F32.1")]));
    assert_eq!((plan.drafted_by, plan.drafted_at), (chart.clinician, at(1, 9)));
    let goal = &plan.goals[0];
    assert_eq!((goal.goal_id, goal.status, goal.due_on), (goal_id, GoalStatus::Active, date(2026, 6, 1)));
    assert_eq!(goal.measurable_target.as_str(), "PHQ-9 below 10 twice in a row");
    assert_eq!(goal.objectives[0].description.as_str(), "Daily walk");
    assert_eq!(goal.interventions[0].frequency.as_str(), "weekly");
    let signature = plan.last_signature().expect("signed");
    assert_eq!((signature.signed_by, signature.signed_at), (chart.clinician, at(2, 9)));
    assert_eq!(plan.next_review_due, Some(date(2026, 5, 31)));
}

#[test]
fn reviews_goal_status_changes_and_termination_are_kept_in_order() {
    let mut chart = Chart::new();
    let goal_id = drafted(&mut chart);
    sign(&mut chart, 1, date(2026, 5, 31));
    let clinician = chart.clinician;

    chart.planning(PlanReviewed {
        version: 1,
        progress: vec![GoalProgress { goal_id, rating: ProgressRating::Improving, comment: None }],
        outcome: ReviewOutcome::Continue,
        reviewed_by: clinician,
        reviewed_at: at(89, 9),
        next_review_due: Some(date(2026, 8, 29)),
    });
    chart.planning(GoalStatusChanged {
        goal_id,
        from: GoalStatus::Active,
        to: GoalStatus::Achieved,
        reason: reason("PHQ-9 of 6 and 5"),
        changed_by: clinician,
        changed_at: at(100, 9),
    });
    chart.planning(TerminationPlanned {
        planned_end_on: date(2026, 7, 1),
        reason: TerminationReason::GoalsMet,
        aftercare: note("Monthly check-ins with PCP."),
        planned_by: clinician,
        planned_at: at(101, 9),
    });
    let view = chart.view();

    let plan = &view.plans[0];
    assert_eq!(plan.reviews.len(), 1);
    assert_eq!(
        (plan.reviews[0].outcome, plan.reviews[0].progress[0].rating),
        (ReviewOutcome::Continue, ProgressRating::Improving)
    );
    assert_eq!(plan.next_review_due, Some(date(2026, 8, 29)));
    let goal = &plan.goals[0];
    assert_eq!(goal.status, GoalStatus::Achieved);
    assert_eq!((goal.status_history[0].from, goal.status_history[0].to), (GoalStatus::Active, GoalStatus::Achieved));
    let termination = plan.termination.as_ref().expect("termination");
    assert_eq!((termination.planned_end_on, termination.reason), (date(2026, 7, 1), TerminationReason::GoalsMet));
    assert!(!plan.discharged);
}

#[test]
fn a_revise_review_opens_the_next_version_as_a_draft_while_the_signed_one_stays_in_force() {
    let mut chart = Chart::new();
    drafted(&mut chart);
    sign(&mut chart, 1, date(2026, 5, 31));
    let clinician = chart.clinician;

    chart.planning(PlanReviewed {
        version: 1,
        progress: Vec::new(),
        outcome: ReviewOutcome::Revise,
        reviewed_by: clinician,
        reviewed_at: at(60, 9),
        next_review_due: None,
    });
    let plan = chart.view().plans[0].clone();
    assert_eq!((plan.version, plan.status, plan.signed_version), (2, PlanStatus::Draft, Some(1)));

    sign(&mut chart, 2, date(2026, 8, 1));
    let plan = chart.view().plans[0].clone();
    assert_eq!((plan.version, plan.status, plan.signatures.len()), (2, PlanStatus::Signed, 2));
}
