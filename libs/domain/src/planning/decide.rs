//! The treatment plan's rules.

use std::collections::BTreeSet;

use super::command::{PlanningCommand, PlanningContext};
use super::event::*;
use super::state::PlanState;
use crate::error::{DomainError, Entity, check_treating};
use crate::intake::EpisodeStatus;
use crate::types::{GoalId, Icd10Code};

/// Folds an event into the state.
pub fn evolve(mut state: PlanState, event: &PlanningEvent) -> PlanState {
    state.apply(event);
    state
}

/// Decides which events a command produces, or which rule refuses it.
pub fn decide(
    cmd: &PlanningCommand,
    state: &PlanState,
    ctx: &PlanningContext,
) -> Result<Vec<PlanningEvent>, DomainError> {
    let now = ctx.now;
    match ctx.episode {
        EpisodeStatus::Open => {}
        EpisodeStatus::Closed => return Err(DomainError::EpisodeClosed),
        EpisodeStatus::Unknown => return Err(DomainError::not_found(Entity::Episode, "for this plan")),
    }
    if let PlanningCommand::DraftPlan { plan_id, client_id, episode_id, addresses, clinician_id } = cmd {
        if state.exists()
            && (state.plan_id != Some(*plan_id)
                || state.client_id != Some(*client_id)
                || state.episode_id != Some(*episode_id))
        {
            return Err(DomainError::exists(Entity::Plan, plan_id));
        }
        if state.signed {
            return Err(DomainError::PlanAlreadySigned(state.version));
        }
        if state.discharged {
            return Err(DomainError::PlanDischarged);
        }
        if addresses.is_empty() {
            return Err(DomainError::invalid("addresses", "a plan must address at least one diagnosis"));
        }
        check_addressed_active(addresses, ctx)?;
        check_treating(ctx.episode_clinician, *clinician_id)?;
        return Ok(vec![
            TreatmentPlanDrafted {
                plan_id: *plan_id,
                client_id: *client_id,
                episode_id: *episode_id,
                version: state.version.max(1),
                addresses: addresses.clone(),
                drafted_by: *clinician_id,
                drafted_at: now,
            }
            .into(),
        ]);
    }
    if !state.exists() {
        return Err(DomainError::not_found(Entity::Plan, "in this stream"));
    }
    if state.discharged && !matches!(cmd, PlanningCommand::PlanTermination { .. }) {
        return Err(DomainError::PlanDischarged);
    }
    let version = state.version;
    let editable = || {
        if state.signed { Err(DomainError::PlanAlreadySigned(version)) } else { Ok(()) }
    };
    let goal = |id: &GoalId| state.goals.get(id).ok_or_else(|| DomainError::not_found(Entity::Goal, id));

    let event: PlanningEvent = match cmd {
        PlanningCommand::DraftPlan { .. } => return Err(DomainError::exists(Entity::Plan, "in this stream")),
        PlanningCommand::SetGoal { goal_id, description, measurable_target, due_on } => {
            editable()?;
            if state.goals.contains_key(goal_id) {
                return Err(DomainError::exists(Entity::Goal, goal_id));
            }
            if *due_on <= now.date_naive() {
                return Err(DomainError::invalid("due_on", "must be after today"));
            }
            GoalSet {
                goal_id: *goal_id,
                version,
                description: description.clone(),
                measurable_target: measurable_target.clone(),
                due_on: *due_on,
            }
            .into()
        }
        PlanningCommand::AddObjective { objective_id, goal_id, description } => {
            editable()?;
            goal(goal_id)?;
            if state.goals.values().any(|g| g.objectives.contains(objective_id)) {
                return Err(DomainError::exists(Entity::Objective, objective_id));
            }
            ObjectiveAdded { objective_id: *objective_id, goal_id: *goal_id, version, description: description.clone() }
                .into()
        }
        PlanningCommand::AddIntervention { intervention_id, goal_id, description, frequency } => {
            editable()?;
            goal(goal_id)?;
            if state.goals.values().any(|g| g.interventions.contains(intervention_id)) {
                return Err(DomainError::exists(Entity::Intervention, intervention_id));
            }
            InterventionAdded {
                intervention_id: *intervention_id,
                goal_id: *goal_id,
                version,
                description: description.clone(),
                frequency: frequency.clone(),
            }
            .into()
        }
        PlanningCommand::SignPlan { clinician_id } => {
            editable()?;
            if state.open_goals().is_empty() {
                return Err(DomainError::PlanHasNoGoals);
            }
            // Diagnoses can be resolved or recoded between drafting and signing.
            check_addressed_active(&state.addresses, ctx)?;
            TreatmentPlanSigned {
                version,
                signed_by: *clinician_id,
                signed_at: now,
                next_review_due: ctx.review_rule.next_due(now),
            }
            .into()
        }
        PlanningCommand::ReviewPlan { progress, outcome, clinician_id } => {
            if !state.signed {
                return Err(DomainError::PlanNotSigned);
            }
            let mut seen = BTreeSet::new();
            for p in progress {
                goal(&p.goal_id)?;
                if !seen.insert(p.goal_id) {
                    return Err(DomainError::invalid("progress", "each goal may appear only once"));
                }
            }
            let missing: Vec<String> =
                state.open_goals().into_iter().filter(|g| !seen.contains(g)).map(|g| g.to_string()).collect();
            if !missing.is_empty() {
                return Err(DomainError::ReviewIncomplete(missing.join(", ")));
            }
            PlanReviewed {
                version,
                progress: progress.clone(),
                outcome: *outcome,
                reviewed_by: *clinician_id,
                reviewed_at: now,
                next_review_due: (*outcome == ReviewOutcome::Continue).then(|| ctx.review_rule.next_due(now)),
            }
            .into()
        }
        PlanningCommand::ChangeGoalStatus { goal_id, status, reason, clinician_id } => {
            let from = goal(goal_id)?.status;
            if from == *status {
                return Err(DomainError::GoalStatusUnchanged(goal_id.to_string()));
            }
            GoalStatusChanged {
                goal_id: *goal_id,
                from,
                to: *status,
                reason: reason.clone(),
                changed_by: *clinician_id,
                changed_at: now,
            }
            .into()
        }
        PlanningCommand::PlanTermination { planned_end_on, reason, aftercare, clinician_id } => {
            if state.last_signed_version.is_none() {
                return Err(DomainError::PlanNotSigned);
            }
            if state.termination_planned_on.is_some() {
                return Err(DomainError::TerminationAlreadyPlanned);
            }
            if *planned_end_on < now.date_naive() {
                return Err(DomainError::invalid("planned_end_on", "must not be in the past"));
            }
            TerminationPlanned {
                planned_end_on: *planned_end_on,
                reason: *reason,
                aftercare: aftercare.clone(),
                planned_by: *clinician_id,
                planned_at: now,
            }
            .into()
        }
    };
    Ok(vec![event])
}

fn check_addressed_active(addresses: &[Icd10Code], ctx: &PlanningContext) -> Result<(), DomainError> {
    match addresses.iter().find(|c| !ctx.active_diagnoses.contains(c)) {
        Some(inactive) => Err(DomainError::DiagnosisNotActive(inactive.to_string())),
        None => Ok(()),
    }
}
