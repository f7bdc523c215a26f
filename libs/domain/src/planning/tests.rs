//! Given/when/then tests of the treatment plan's rules.

use chrono::Duration;

use super::*;
use crate::intake::EpisodeStatus;
use crate::testing::*;
use crate::types::*;

struct Plan {
    plan: PlanId,
    client: ClientId,
    episode: EpisodeId,
    clinician: ClinicianId,
    goal: GoalId,
}

fn plan() -> Plan {
    Plan {
        plan: PlanId::new_v7(),
        client: ClientId::new_v7(),
        episode: EpisodeId::new_v4(),
        clinician: ClinicianId::new_v4(),
        goal: GoalId::new_v4(),
    }
}

/// An open episode with F32.1 and F41.1 active, reviews every 90 days.
fn ctx() -> PlanningContext {
    PlanningContext {
        now: now(),
        episode: EpisodeStatus::Open,
        active_diagnoses: vec![code("F32.1"), code("F41.1")],
        review_rule: ReviewRule::default(),
    }
}

impl Plan {
    fn draft(&self, codes: &[&str]) -> PlanningCommand {
        PlanningCommand::DraftPlan {
            plan_id: self.plan,
            client_id: self.client,
            episode_id: self.episode,
            addresses: codes.iter().map(|c| code(c)).collect(),
            clinician_id: self.clinician,
        }
    }

    fn goal(&self, id: GoalId) -> PlanningCommand {
        PlanningCommand::SetGoal {
            goal_id: id,
            description: short("Reduce depressive symptoms"),
            measurable_target: short("PHQ-9 below 10 on two consecutive administrations"),
            due_on: date(2026, 6, 1),
        }
    }

    fn sign(&self) -> PlanningCommand {
        PlanningCommand::SignPlan { clinician_id: self.clinician }
    }

    fn review(&self, outcome: ReviewOutcome) -> PlanningCommand {
        PlanningCommand::ReviewPlan {
            progress: vec![GoalProgress { goal_id: self.goal, rating: ProgressRating::Improving, comment: None }],
            outcome,
            clinician_id: self.clinician,
        }
    }

    fn given(&self, cmds: &[PlanningCommand]) -> PlanState {
        cmds.iter().fold(PlanState::default(), |s, c| {
            let events = decide(c, &s, &ctx()).unwrap();
            events.iter().fold(s, evolve)
        })
    }

    fn signed(&self) -> PlanState {
        self.given(&[self.draft(&["F32.1"]), self.goal(self.goal), self.sign()])
    }
}

fn when(cmd: &PlanningCommand, s: &PlanState) -> Result<Vec<PlanningEvent>, crate::DomainError> {
    decide(cmd, s, &ctx())
}

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
    let c = PlanningContext::from_client(&crate::intake::ClientState::default(), EpisodeId::new_v4(), now(), ReviewRule::default());
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
    let past = PlanningCommand::SetGoal { goal_id: GoalId::new_v4(), description: short("d"), measurable_target: short("t"), due_on: date(2026, 3, 2) };
    assert!(matches!(when(&past, &s), Err(crate::DomainError::Invalid(e)) if e.field == "due_on"));
}

#[test]
fn objectives_and_interventions_belong_to_an_existing_goal() {
    let p = plan();
    let s = p.given(&[p.draft(&["F32.1"]), p.goal(p.goal)]);
    let obj = |goal_id| PlanningCommand::AddObjective { objective_id: ObjectiveId::new_v4(), goal_id, description: short("Practise behavioural activation 3x weekly") };
    let int = |goal_id| PlanningCommand::AddIntervention { intervention_id: InterventionId::new_v4(), goal_id, description: short("CBT"), frequency: short("weekly, 53 minutes") };
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
fn a_review_needs_a_signed_plan_and_progress_for_every_active_goal() {
    let p = plan();
    let draft = p.given(&[p.draft(&["F32.1"]), p.goal(p.goal)]);
    assert_eq!(code_of(when(&p.review(ReviewOutcome::Continue), &draft)), "PLAN_NOT_SIGNED");
    let s = p.signed();
    let empty = PlanningCommand::ReviewPlan { progress: vec![], outcome: ReviewOutcome::Continue, clinician_id: p.clinician };
    assert_eq!(code_of(when(&empty, &s)), "REVIEW_INCOMPLETE");
    let stranger = PlanningCommand::ReviewPlan { progress: vec![GoalProgress { goal_id: GoalId::new_v4(), rating: ProgressRating::NoChange, comment: None }], outcome: ReviewOutcome::Continue, clinician_id: p.clinician };
    assert_eq!(code_of(when(&stranger, &s)), "GOAL_NOT_FOUND");
    let twice = GoalProgress { goal_id: p.goal, rating: ProgressRating::NoChange, comment: None };
    let dup = PlanningCommand::ReviewPlan { progress: vec![twice.clone(), twice], outcome: ReviewOutcome::Continue, clinician_id: p.clinician };
    assert_eq!(code_of(when(&dup, &s)), "INVALID_ARGUMENT");
}

#[test]
fn review_outcomes_continue_revise_and_discharge() {
    let p = plan();
    let cont = p.given(&[p.draft(&["F32.1"]), p.goal(p.goal), p.sign(), p.review(ReviewOutcome::Continue)]);
    assert_eq!(cont.next_review_due, Some(date(2026, 5, 31)));
    let revised = p.given(&[p.draft(&["F32.1"]), p.goal(p.goal), p.sign(), p.review(ReviewOutcome::Revise)]);
    assert_eq!((revised.version, revised.signed, revised.last_signed_version), (2, false, Some(1)));
    let v2 = p.given(&[p.draft(&["F32.1"]), p.goal(p.goal), p.sign(), p.review(ReviewOutcome::Revise), p.goal(GoalId::new_v4()), p.sign()]);
    assert_eq!((v2.version, v2.signed, v2.goals.len()), (2, true, 2));
    let done = p.given(&[p.draft(&["F32.1"]), p.goal(p.goal), p.sign(), p.review(ReviewOutcome::Discharge)]);
    assert_eq!(code_of(when(&p.review(ReviewOutcome::Continue), &done)), "PLAN_DISCHARGED");
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
    let change = |status| PlanningCommand::ChangeGoalStatus { goal_id: p.goal, status, reason: reason("PHQ-9 at 6 twice"), clinician_id: p.clinician };
    let events = when(&change(GoalStatus::Achieved), &s).unwrap();
    assert!(matches!(&events[..], [PlanningEvent::GoalStatusChanged(e)] if e.from == GoalStatus::Active));
    assert_eq!(code_of(when(&change(GoalStatus::Active), &s)), "GOAL_STATUS_UNCHANGED");
    let missing = PlanningCommand::ChangeGoalStatus { goal_id: GoalId::new_v4(), status: GoalStatus::Achieved, reason: reason("x"), clinician_id: p.clinician };
    assert_eq!(code_of(when(&missing, &s)), "GOAL_NOT_FOUND");
    let s = events.iter().fold(s, evolve);
    assert!(s.active_goals().is_empty());
}

#[test]
fn termination_is_planned_once_on_a_signed_plan_and_not_in_the_past() {
    let p = plan();
    let term = |on| PlanningCommand::PlanTermination { planned_end_on: on, reason: TerminationReason::GoalsMet, aftercare: note("Monthly check-ins; crisis line 988."), clinician_id: p.clinician };
    let draft = p.given(&[p.draft(&["F32.1"])]);
    assert_eq!(code_of(when(&term(date(2026, 4, 1)), &draft)), "PLAN_NOT_SIGNED");
    assert_eq!(code_of(when(&term(date(2026, 3, 1)), &p.signed())), "INVALID_ARGUMENT");
    let s = p.given(&[p.draft(&["F32.1"]), p.goal(p.goal), p.sign(), p.review(ReviewOutcome::Discharge), term(date(2026, 4, 1))]);
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
        PlanningCommand::AddIntervention { intervention_id: InterventionId::new_v4(), goal_id: p.goal, description: short("CBT"), frequency: short("weekly") },
        p.sign(),
        PlanningCommand::ReviewPlan { progress: vec![GoalProgress { goal_id: p.goal, rating: ProgressRating::Improving, comment: Some(reason("sleeping better")) }], outcome: ReviewOutcome::Continue, clinician_id: p.clinician },
        PlanningCommand::ChangeGoalStatus { goal_id: p.goal, status: GoalStatus::Achieved, reason: reason("met"), clinician_id: p.clinician },
        PlanningCommand::PlanTermination { planned_end_on: date(2026, 4, 1), reason: TerminationReason::GoalsMet, aftercare: note("a"), clinician_id: p.clinician },
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
