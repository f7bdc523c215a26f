//! Proto requests → validated planning commands. Every bad field is reported, by its proto name.
//!
//! Rules that need only the request and the clock (a goal due in the past, a goal reviewed twice,
//! a diagnosis listed twice) are checked here too, so a caller learns about every bad field at
//! once; `decide` checks them again because it must not trust its caller.

use carelog_domain::planning::{
    GoalProgress, GoalStatus, PlanningCommand, ProgressRating, ReviewOutcome, TerminationReason,
};
use carelog_domain::types::{
    ClientId, ClinicianId, EpisodeId, GoalId, Icd10Code, InterventionId, NoteText, ObjectiveId, PlanId, Reason,
    ShortText,
};
use carelog_executor::{CommandMeta, ServiceError};
use carelog_proto::v1 as proto;
use carelog_runtime::parse::{self, Fields};
use chrono::NaiveDate;
use proto::change_goal_status_request::Status as ProtoStatus;
use proto::plan_termination_request::TerminationReason as ProtoTerminationReason;
use proto::review_plan_request::{Outcome as ProtoOutcome, Rating as ProtoRating};

#[cfg(test)]
mod fuzz;

/// A command on one plan's stream.
pub type PlanCommand = (PlanId, PlanningCommand);

pub fn draft_plan(r: &proto::DraftPlanRequest) -> Result<PlanCommand, ServiceError> {
    let mut f = Fields::default();
    let plan_id = f.take("plan_id", PlanId::parse(&r.plan_id));
    let client_id = f.take("client_id", ClientId::parse(&r.client_id));
    let episode_id = f.take("episode_id", EpisodeId::parse(&r.episode_id));
    let addresses = icd10_codes(&mut f, &r.icd10_codes);
    let clinician_id = f.take("clinician_id", ClinicianId::parse(&r.clinician_id));
    f.finish(|| {
        let plan_id = plan_id?;
        let command = PlanningCommand::DraftPlan {
            plan_id,
            client_id: client_id?,
            episode_id: episode_id?,
            addresses: addresses?,
            clinician_id: clinician_id?,
        };
        Some((plan_id, command))
    })
}

/// At least one code, each well-formed and listed once (after normalising `f32.1` to `F32.1`).
fn icd10_codes(f: &mut Fields, raw: &[String]) -> Option<Vec<Icd10Code>> {
    if raw.is_empty() {
        f.violation("icd10_codes", "a plan must address at least one diagnosis");
        return None;
    }
    let mut codes = Vec::with_capacity(raw.len());
    let mut complete = true;
    for (i, code) in raw.iter().enumerate() {
        let field = format!("icd10_codes[{i}]");
        match f.take(&field, Icd10Code::parse(code)) {
            Some(code) if codes.contains(&code) => {
                f.violation(&field, format!("{code} is listed twice"));
                complete = false;
            }
            Some(code) => codes.push(code),
            None => complete = false,
        }
    }
    complete.then_some(codes)
}

pub fn set_goal(r: &proto::SetGoalRequest, meta: &CommandMeta) -> Result<PlanCommand, ServiceError> {
    let mut f = Fields::default();
    let plan_id = f.take("plan_id", PlanId::parse(&r.plan_id));
    let goal_id = f.take("goal_id", GoalId::parse(&r.goal_id));
    let description = f.take("description", ShortText::parse(&r.description));
    let measurable_target = f.take("measurable_target", ShortText::parse(&r.measurable_target));
    let due_on = f.take("due_on", parse::date("due_on", &r.due_on));
    if let Some(due) = due_on
        && due <= today(meta)
    {
        f.violation("due_on", "must be after today");
    }
    f.finish(|| {
        let command = PlanningCommand::SetGoal {
            goal_id: goal_id?,
            description: description?,
            measurable_target: measurable_target?,
            due_on: due_on?,
        };
        Some((plan_id?, command))
    })
}

pub fn add_objective(r: &proto::AddObjectiveRequest) -> Result<PlanCommand, ServiceError> {
    let mut f = Fields::default();
    let plan_id = f.take("plan_id", PlanId::parse(&r.plan_id));
    let objective_id = f.take("objective_id", ObjectiveId::parse(&r.objective_id));
    let goal_id = f.take("goal_id", GoalId::parse(&r.goal_id));
    let description = f.take("description", ShortText::parse(&r.description));
    f.finish(|| {
        let command =
            PlanningCommand::AddObjective { objective_id: objective_id?, goal_id: goal_id?, description: description? };
        Some((plan_id?, command))
    })
}

pub fn add_intervention(r: &proto::AddInterventionRequest) -> Result<PlanCommand, ServiceError> {
    let mut f = Fields::default();
    let plan_id = f.take("plan_id", PlanId::parse(&r.plan_id));
    let intervention_id = f.take("intervention_id", InterventionId::parse(&r.intervention_id));
    let goal_id = f.take("goal_id", GoalId::parse(&r.goal_id));
    let description = f.take("description", ShortText::parse(&r.description));
    let frequency = f.take("frequency", ShortText::parse(&r.frequency));
    f.finish(|| {
        let command = PlanningCommand::AddIntervention {
            intervention_id: intervention_id?,
            goal_id: goal_id?,
            description: description?,
            frequency: frequency?,
        };
        Some((plan_id?, command))
    })
}

pub fn sign_plan(r: &proto::SignPlanRequest) -> Result<PlanCommand, ServiceError> {
    let mut f = Fields::default();
    let plan_id = f.take("plan_id", PlanId::parse(&r.plan_id));
    let clinician_id = f.take("clinician_id", ClinicianId::parse(&r.clinician_id));
    f.finish(|| Some((plan_id?, PlanningCommand::SignPlan { clinician_id: clinician_id? })))
}

pub fn review_plan(r: &proto::ReviewPlanRequest) -> Result<PlanCommand, ServiceError> {
    let mut f = Fields::default();
    let plan_id = f.take("plan_id", PlanId::parse(&r.plan_id));
    let clinician_id = f.take("clinician_id", ClinicianId::parse(&r.clinician_id));
    let mut seen = Vec::with_capacity(r.progress.len());
    let progress: Vec<Option<GoalProgress>> = r
        .progress
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let goal_id = f.take(&format!("progress[{i}].goal_id"), GoalId::parse(&line.goal_id));
            if let Some(id) = goal_id {
                if seen.contains(&id) {
                    f.violation(&format!("progress[{i}].goal_id"), "each goal may appear only once");
                }
                seen.push(id);
            }
            let field = format!("progress[{i}].rating");
            let rating = f.take(&field, parse::enumeration::<ProtoRating>(&field, line.rating)).and_then(rating);
            let comment = if line.comment.trim().is_empty() {
                Some(None)
            } else {
                f.take(&format!("progress[{i}].comment"), Reason::parse(&line.comment)).map(Some)
            };
            Some(GoalProgress { goal_id: goal_id?, rating: rating?, comment: comment? })
        })
        .collect();
    let outcome = f.take("outcome", parse::enumeration::<ProtoOutcome>("outcome", r.outcome)).and_then(outcome);
    f.finish(|| {
        let progress = progress.into_iter().collect::<Option<Vec<_>>>()?;
        Some((plan_id?, PlanningCommand::ReviewPlan { progress, outcome: outcome?, clinician_id: clinician_id? }))
    })
}

fn rating(rating: ProtoRating) -> Option<ProgressRating> {
    match rating {
        ProtoRating::Unspecified => None,
        ProtoRating::NotStarted => Some(ProgressRating::NotStarted),
        ProtoRating::Regressed => Some(ProgressRating::Regressed),
        ProtoRating::NoChange => Some(ProgressRating::NoChange),
        ProtoRating::Improving => Some(ProgressRating::Improving),
        ProtoRating::Achieved => Some(ProgressRating::Achieved),
    }
}

fn outcome(outcome: ProtoOutcome) -> Option<ReviewOutcome> {
    match outcome {
        ProtoOutcome::Unspecified => None,
        ProtoOutcome::Continue => Some(ReviewOutcome::Continue),
        ProtoOutcome::Revise => Some(ReviewOutcome::Revise),
        ProtoOutcome::Discharge => Some(ReviewOutcome::Discharge),
    }
}

pub fn change_goal_status(r: &proto::ChangeGoalStatusRequest, meta: &CommandMeta) -> Result<PlanCommand, ServiceError> {
    let mut f = Fields::default();
    let plan_id = f.take("plan_id", PlanId::parse(&r.plan_id));
    let goal_id = f.take("goal_id", GoalId::parse(&r.goal_id));
    let status = match f.take("status", parse::enumeration::<ProtoStatus>("status", r.status)) {
        Some(ProtoStatus::Active) => Some(GoalStatus::Active),
        Some(ProtoStatus::Achieved) => Some(GoalStatus::Achieved),
        Some(ProtoStatus::Deferred) => Some(GoalStatus::Deferred),
        Some(ProtoStatus::Discontinued) => Some(GoalStatus::Discontinued),
        Some(ProtoStatus::Unspecified) | None => None,
    };
    let reason = f.take("context.reason", Reason::parse(meta.reason.as_deref().unwrap_or_default()));
    let clinician_id = f.take("clinician_id", ClinicianId::parse(&r.clinician_id));
    f.finish(|| {
        let command = PlanningCommand::ChangeGoalStatus {
            goal_id: goal_id?,
            status: status?,
            reason: reason?,
            clinician_id: clinician_id?,
        };
        Some((plan_id?, command))
    })
}

pub fn plan_termination(r: &proto::PlanTerminationRequest, meta: &CommandMeta) -> Result<PlanCommand, ServiceError> {
    let mut f = Fields::default();
    let plan_id = f.take("plan_id", PlanId::parse(&r.plan_id));
    let planned_end_on = f.take("planned_end_on", parse::date("planned_end_on", &r.planned_end_on));
    if let Some(end) = planned_end_on
        && end < today(meta)
    {
        f.violation("planned_end_on", "must not be in the past");
    }
    let field = "termination_reason";
    let reason = match f.take(field, parse::enumeration::<ProtoTerminationReason>(field, r.termination_reason)) {
        Some(ProtoTerminationReason::GoalsMet) => Some(TerminationReason::GoalsMet),
        Some(ProtoTerminationReason::ClientRequest) => Some(TerminationReason::ClientRequest),
        Some(ProtoTerminationReason::Referral) => Some(TerminationReason::Referral),
        Some(ProtoTerminationReason::FinancialOrAccess) => Some(TerminationReason::FinancialOrAccess),
        Some(ProtoTerminationReason::Other) => Some(TerminationReason::Other),
        Some(ProtoTerminationReason::Unspecified) | None => None,
    };
    let aftercare = f.take("aftercare", NoteText::parse(&r.aftercare));
    let clinician_id = f.take("clinician_id", ClinicianId::parse(&r.clinician_id));
    f.finish(|| {
        let command = PlanningCommand::PlanTermination {
            planned_end_on: planned_end_on?,
            reason: reason?,
            aftercare: aftercare?,
            clinician_id: clinician_id?,
        };
        Some((plan_id?, command))
    })
}

/// The calendar day the domain compares due dates with (UTC, as `decide` does).
fn today(meta: &CommandMeta) -> NaiveDate {
    meta.now.date_naive()
}
