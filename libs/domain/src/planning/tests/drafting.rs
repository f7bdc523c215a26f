//! Given/when/then: drafting, goals and signing.

use super::*;

#[test]
fn a_plan_is_drafted_for_active_diagnoses_only() {
    let p = plan();
    let events = when(&p.draft(&["F32.1", "F41.1"]), &PlanState::default()).unwrap();
    assert!(matches!(&events[..], [PlanningEvent::TreatmentPlanDrafted(e)] if e.version == 1));
    assert_eq!(code_of(when(&p.draft(&["F43.10"]), &PlanState::default())), "DIAGNOSIS_NOT_ACTIVE");
    assert_eq!(code_of(when(&p.draft(&[]), &PlanState::default())), "INVALID_ARGUMENT");
}

#[test]
fn given_a_closed_or_unknown_episode_then_no_planning() {
    let p = plan();
    let closed = PlanningContext { episode: EpisodeStatus::Closed, ..ctx() };
    assert_eq!(code_of(decide(&p.draft(&["F32.1"]), &PlanState::default(), &closed)), "EPISODE_CLOSED");
    let unknown = PlanningContext { episode: EpisodeStatus::Unknown, ..ctx() };
    assert_eq!(code_of(decide(&p.draft(&["F32.1"]), &PlanState::default(), &unknown)), "EPISODE_NOT_FOUND");
}

#[test]
fn the_context_is_filled_from_the_clients_record() {
    let c = PlanningContext::from_client(
        &crate::intake::ClientState::default(),
        EpisodeId::new_v4(),
        now(),
        ReviewRule::default(),
    );
    assert_eq!((c.episode, c.active_diagnoses.len()), (EpisodeStatus::Unknown, 0));
}

#[test]
fn a_draft_can_be_redrafted_but_not_by_another_plan() {
    let p = plan();
    let s = p.given(&[p.draft(&["F32.1"]), p.draft(&["F32.1", "F41.1"])]);
    assert_eq!(s.addresses.len(), 2);
    let other = Plan { plan: PlanId::new_v7(), ..plan() };
    assert_eq!(code_of(when(&other.draft(&["F32.1"]), &s)), "PLAN_ALREADY_EXISTS");
}

#[test]
fn commands_on_an_undrafted_plan_are_refused() {
    let p = plan();
    assert_eq!(code_of(when(&p.goal(p.goal), &PlanState::default())), "PLAN_NOT_FOUND");
}

#[test]
fn goals_need_a_future_due_date_and_a_unique_id() {
    let p = plan();
    let s = p.given(&[p.draft(&["F32.1"]), p.goal(p.goal)]);
    assert_eq!(code_of(when(&p.goal(p.goal), &s)), "GOAL_ALREADY_EXISTS");
    let past = PlanningCommand::SetGoal {
        goal_id: GoalId::new_v4(),
        description: short("d"),
        measurable_target: short("t"),
        due_on: date(2026, 3, 2),
    };
    assert!(matches!(when(&past, &s), Err(crate::DomainError::Invalid(e)) if e.field == "due_on"));
}

#[test]
fn objectives_and_interventions_belong_to_an_existing_goal() {
    let p = plan();
    let s = p.given(&[p.draft(&["F32.1"]), p.goal(p.goal)]);
    let obj = |goal_id| PlanningCommand::AddObjective {
        objective_id: ObjectiveId::new_v4(),
        goal_id,
        description: short("Practise behavioural activation 3x weekly"),
    };
    let int = |goal_id| PlanningCommand::AddIntervention {
        intervention_id: InterventionId::new_v4(),
        goal_id,
        description: short("CBT"),
        frequency: short("weekly, 53 minutes"),
    };
    assert!(when(&obj(p.goal), &s).is_ok());
    assert!(when(&int(p.goal), &s).is_ok());
    assert_eq!(code_of(when(&obj(GoalId::new_v4()), &s)), "GOAL_NOT_FOUND");
    assert_eq!(code_of(when(&int(GoalId::new_v4()), &s)), "GOAL_NOT_FOUND");
    let o = obj(p.goal);
    let s = p.given(&[p.draft(&["F32.1"]), p.goal(p.goal), o.clone()]);
    assert_eq!(code_of(when(&o, &s)), "OBJECTIVE_ALREADY_EXISTS");
    let i = int(p.goal);
    let s = p.given(&[p.draft(&["F32.1"]), p.goal(p.goal), i.clone()]);
    assert_eq!(code_of(when(&i, &s)), "INTERVENTION_ALREADY_EXISTS");
}

#[test]
fn signing_freezes_the_version_and_sets_the_review_date() {
    let p = plan();
    let events = when(&p.sign(), &p.given(&[p.draft(&["F32.1"]), p.goal(p.goal)])).unwrap();
    let [PlanningEvent::TreatmentPlanSigned(e)] = &events[..] else { panic!() };
    assert_eq!((e.version, e.next_review_due), (1, date(2026, 5, 31)));
    let s = p.signed();
    assert_eq!(code_of(when(&p.sign(), &s)), "PLAN_ALREADY_SIGNED");
    assert_eq!(code_of(when(&p.goal(GoalId::new_v4()), &s)), "PLAN_ALREADY_SIGNED");
    assert_eq!(code_of(when(&p.draft(&["F41.1"]), &s)), "PLAN_ALREADY_SIGNED");
}

#[test]
fn the_review_interval_is_configurable() {
    let p = plan();
    let monthly = PlanningContext { review_rule: ReviewRule::every_days(30).unwrap(), ..ctx() };
    let s = p.given(&[p.draft(&["F32.1"]), p.goal(p.goal)]);
    let events = decide(&p.sign(), &s, &monthly).unwrap();
    assert!(matches!(&events[..], [PlanningEvent::TreatmentPlanSigned(e)] if e.next_review_due == date(2026, 4, 1)));
    assert!(ReviewRule::every_days(3).is_err() && ReviewRule::every_days(400).is_err());
}

#[test]
fn a_plan_without_goals_cannot_be_signed() {
    let p = plan();
    let s = p.given(&[p.draft(&["F32.1"])]);
    assert_eq!(code_of(when(&p.sign(), &s)), "PLAN_HAS_NO_GOALS");
}

#[test]
fn given_the_diagnosis_was_resolved_when_the_plan_is_signed_then_diagnosis_not_active() {
    let p = plan();
    let s = p.given(&[p.draft(&["F41.1"]), p.goal(p.goal)]);
    let resolved = PlanningContext { active_diagnoses: vec![code("F32.1")], ..ctx() };
    assert_eq!(code_of(decide(&p.sign(), &s, &resolved)), "DIAGNOSIS_NOT_ACTIVE");
}

#[test]
fn given_an_episode_treated_by_one_clinician_when_a_plan_is_drafted_for_another_then_refused() {
    let p = plan();
    let treated_by_them = PlanningContext { episode_clinician: Some(p.clinician), ..ctx() };
    assert!(decide(&p.draft(&["F32.1"]), &PlanState::default(), &treated_by_them).is_ok());
    let treated_elsewhere = PlanningContext { episode_clinician: Some(ClinicianId::new_v4()), ..ctx() };
    let refused = decide(&p.draft(&["F32.1"]), &PlanState::default(), &treated_elsewhere);
    assert_eq!(code_of(refused), "NOT_TREATING_CLINICIAN");
}
