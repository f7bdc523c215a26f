//! Given/when/then: reviews, goal status, termination and stored events.

use super::*;

#[test]
fn a_review_needs_a_signed_plan_and_progress_for_every_active_goal() {
    let p = plan();
    let draft = p.given(&[p.draft(&["F32.1"]), p.goal(p.goal)]);
    assert_eq!(code_of(when(&p.review(ReviewOutcome::Continue), &draft)), "PLAN_NOT_SIGNED");
    let s = p.signed();
    let empty =
        PlanningCommand::ReviewPlan { progress: vec![], outcome: ReviewOutcome::Continue, clinician_id: p.clinician };
    assert_eq!(code_of(when(&empty, &s)), "REVIEW_INCOMPLETE");
    let stranger = PlanningCommand::ReviewPlan {
        progress: vec![GoalProgress { goal_id: GoalId::new_v4(), rating: ProgressRating::NoChange, comment: None }],
        outcome: ReviewOutcome::Continue,
        clinician_id: p.clinician,
    };
    assert_eq!(code_of(when(&stranger, &s)), "GOAL_NOT_FOUND");
    let twice = GoalProgress { goal_id: p.goal, rating: ProgressRating::NoChange, comment: None };
    let dup = PlanningCommand::ReviewPlan {
        progress: vec![twice.clone(), twice],
        outcome: ReviewOutcome::Continue,
        clinician_id: p.clinician,
    };
    assert_eq!(code_of(when(&dup, &s)), "INVALID_ARGUMENT");
}

#[test]
fn review_outcomes_continue_revise_and_discharge() {
    let p = plan();
    let cont = p.given(&[p.draft(&["F32.1"]), p.goal(p.goal), p.sign(), p.review(ReviewOutcome::Continue)]);
    assert_eq!(cont.next_review_due, Some(date(2026, 5, 31)));
    let revised = p.given(&[p.draft(&["F32.1"]), p.goal(p.goal), p.sign(), p.review(ReviewOutcome::Revise)]);
    assert_eq!((revised.version, revised.signed, revised.last_signed_version), (2, false, Some(1)));
    let v2 = p.given(&[
        p.draft(&["F32.1"]),
        p.goal(p.goal),
        p.sign(),
        p.review(ReviewOutcome::Revise),
        p.goal(GoalId::new_v4()),
        p.sign(),
    ]);
    assert_eq!((v2.version, v2.signed, v2.goals.len()), (2, true, 2));
    let done = p.given(&[p.draft(&["F32.1"]), p.goal(p.goal), p.sign(), p.review(ReviewOutcome::Discharge)]);
    assert_eq!(code_of(when(&p.review(ReviewOutcome::Continue), &done)), "PLAN_DISCHARGED");
}

#[test]
fn given_a_revision_in_draft_when_goals_are_listed_then_its_new_goals_are_not_yet_active() {
    let p = plan();
    let added = GoalId::new_v4();
    let before = [p.draft(&["F32.1"]), p.goal(p.goal)];
    assert!(p.given(&before).active_goals().is_empty(), "nothing is in force before the first signature");
    let drafting =
        p.given(&[p.draft(&["F32.1"]), p.goal(p.goal), p.sign(), p.review(ReviewOutcome::Revise), p.goal(added)]);
    assert_eq!(drafting.active_goals(), vec![p.goal], "the signed version's goals stay in force");
    let signed = p.given(&[
        p.draft(&["F32.1"]),
        p.goal(p.goal),
        p.sign(),
        p.review(ReviewOutcome::Revise),
        p.goal(added),
        p.sign(),
    ]);
    let mut both = vec![p.goal, added];
    both.sort();
    assert_eq!(signed.active_goals(), both);
}

#[test]
fn review_status_becomes_overdue_after_the_due_date() {
    let p = plan();
    assert_eq!(PlanState::default().review_status(date(2026, 3, 2)), ReviewStatus::NotSigned);
    let s = p.signed();
    let due = date(2026, 5, 31);
    assert_eq!(s.review_status(due), ReviewStatus::Current { due });
    assert_eq!(s.review_status(due + Duration::days(1)), ReviewStatus::Overdue { due });
}

#[test]
fn goal_status_changes_are_tracked_even_on_a_signed_plan() {
    let p = plan();
    let s = p.signed();
    let change = |status| PlanningCommand::ChangeGoalStatus {
        goal_id: p.goal,
        status,
        reason: reason("PHQ-9 at 6 twice"),
        clinician_id: p.clinician,
    };
    let events = when(&change(GoalStatus::Achieved), &s).unwrap();
    assert!(matches!(&events[..], [PlanningEvent::GoalStatusChanged(e)] if e.from == GoalStatus::Active));
    assert_eq!(code_of(when(&change(GoalStatus::Active), &s)), "GOAL_STATUS_UNCHANGED");
    let missing = PlanningCommand::ChangeGoalStatus {
        goal_id: GoalId::new_v4(),
        status: GoalStatus::Achieved,
        reason: reason("x"),
        clinician_id: p.clinician,
    };
    assert_eq!(code_of(when(&missing, &s)), "GOAL_NOT_FOUND");
    let s = events.iter().fold(s, evolve);
    assert!(s.active_goals().is_empty());
}

#[test]
fn termination_is_planned_once_on_a_signed_plan_and_not_in_the_past() {
    let p = plan();
    let term = |on| PlanningCommand::PlanTermination {
        planned_end_on: on,
        reason: TerminationReason::GoalsMet,
        aftercare: note("Monthly check-ins; crisis line 988."),
        clinician_id: p.clinician,
    };
    let draft = p.given(&[p.draft(&["F32.1"])]);
    assert_eq!(code_of(when(&term(date(2026, 4, 1)), &draft)), "PLAN_NOT_SIGNED");
    assert_eq!(code_of(when(&term(date(2026, 3, 1)), &p.signed())), "INVALID_ARGUMENT");
    let s = p.given(&[
        p.draft(&["F32.1"]),
        p.goal(p.goal),
        p.sign(),
        p.review(ReviewOutcome::Discharge),
        term(date(2026, 4, 1)),
    ]);
    assert_eq!(s.termination_planned_on, Some(date(2026, 4, 1)));
    assert_eq!(code_of(when(&term(date(2026, 4, 2)), &s)), "TERMINATION_ALREADY_PLANNED");
}

#[test]
fn every_planning_event_round_trips_through_stored_json() {
    let p = plan();
    let cmds = [
        p.draft(&["F32.1", "F41.1"]),
        p.goal(p.goal),
        PlanningCommand::AddObjective { objective_id: ObjectiveId::new_v4(), goal_id: p.goal, description: short("o") },
        PlanningCommand::AddIntervention {
            intervention_id: InterventionId::new_v4(),
            goal_id: p.goal,
            description: short("CBT"),
            frequency: short("weekly"),
        },
        p.sign(),
        PlanningCommand::ReviewPlan {
            progress: vec![GoalProgress {
                goal_id: p.goal,
                rating: ProgressRating::Improving,
                comment: Some(reason("sleeping better")),
            }],
            outcome: ReviewOutcome::Continue,
            clinician_id: p.clinician,
        },
        PlanningCommand::ChangeGoalStatus {
            goal_id: p.goal,
            status: GoalStatus::Achieved,
            reason: reason("met"),
            clinician_id: p.clinician,
        },
        PlanningCommand::PlanTermination {
            planned_end_on: date(2026, 4, 1),
            reason: TerminationReason::GoalsMet,
            aftercare: note("a"),
            clinician_id: p.clinician,
        },
    ];
    let mut state = PlanState::default();
    let mut samples = Vec::new();
    for cmd in &cmds {
        let events = decide(cmd, &state, &ctx()).unwrap();
        state = events.iter().fold(state, evolve);
        samples.extend(events);
    }
    assert_round_trips(&samples, PlanningEvent::EVENT_TYPES, PlanningEvent::event_type, |e| {
        let data = e.to_data().unwrap();
        let back = PlanningEvent::from_stored(e.event_type(), e.schema_version(), &data).unwrap();
        (e.schema_version(), data, back)
    });
}
