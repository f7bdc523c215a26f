//! CarePlan (the treatment plan, its interventions as activities) and Goal (lifecycle and
//! achievement status, the measurable target, objectives as notes).

use carelog_domain::planning::{GoalStatus, ProgressRating};
use carelog_projections::episode::{EpisodeStatus, GoalView, PlanStatus, PlanView};
use serde_json::{Value, json};

use crate::bundle::{Ctx, Resource};
use crate::codes::{Sensitivity, concept, date, instant, person, text};
use crate::ids;

const ACHIEVEMENT: &str = "http://terminology.hl7.org/CodeSystem/goal-achievement";

pub fn care_plans(ctx: &Ctx<'_>) -> Vec<Resource> {
    ctx.record.view.plans.iter().map(|p| care_plan(ctx, p)).collect()
}

/// Whether the plan's work is over: discharged at a review, or its episode closed.
fn finished(ctx: &Ctx<'_>, plan: &PlanView) -> bool {
    let closed =
        ctx.record.view.episodes.iter().any(|e| e.episode_id == plan.episode_id && e.status == EpisodeStatus::Closed);
    plan.discharged || closed
}

fn care_plan(ctx: &Ctx<'_>, plan: &PlanView) -> Resource {
    let status = match (finished(ctx, plan), plan.status, plan.signed_version) {
        (true, _, _) => "completed",
        // A revision is being drafted while the signed version stays in force.
        (false, PlanStatus::Signed, _) | (false, PlanStatus::Draft, Some(_)) => "active",
        (false, PlanStatus::Draft, None) => "draft",
    };
    let goals: Vec<Value> = plan.goals.iter().map(|g| ctx.reference("Goal", &g.goal_id.to_string())).collect();
    let activities: Vec<Value> = plan
        .goals
        .iter()
        .flat_map(|g| g.interventions.iter().map(move |i| (g, i)))
        .map(|(goal, i)| {
            let status =
                if finished(ctx, plan) || goal.status != GoalStatus::Active { "completed" } else { "in-progress" };
            json!({ "detail": {
                "status": status,
                "description": i.description.as_str(),
                "scheduledString": i.frequency.as_str(),
                "goal": [ctx.reference("Goal", &goal.goal_id.to_string())],
            } })
        })
        .collect();
    let mut period = json!({});
    if let Value::Object(p) = &mut period {
        if let Some(first) = plan.signatures.first() {
            p.insert("start".into(), instant(first.signed_at).into());
        }
        if let Some(t) = &plan.termination {
            p.insert("end".into(), date(t.planned_end_on).into());
        }
    }
    let mut fields = json!({
        "status": status,
        "intent": "plan",
        "category": [text("Outpatient psychotherapy treatment plan")],
        "description": format!("Treatment plan, version {}", plan.version),
        "subject": ctx.patient(),
        "created": instant(plan.drafted_at),
        "author": person("Practitioner", &plan.drafted_by.to_string()),
        "addresses": addresses(ctx, plan),
    });
    if let Value::Object(f) = &mut fields {
        if period.as_object().is_some_and(|p| !p.is_empty()) {
            f.insert("period".into(), period);
        }
        if !goals.is_empty() {
            f.insert("goal".into(), goals.into());
        }
        if !activities.is_empty() {
            f.insert("activity".into(), activities.into());
        }
        if let Some(t) = &plan.termination {
            let note = format!("Planned end of treatment ({:?}). Aftercare: {}", t.reason, t.aftercare.as_str());
            f.insert("note".into(), json!([{ "time": instant(t.planned_at), "text": note }]));
        }
    }
    ctx.resource("CarePlan", plan.plan_id.to_string(), Sensitivity::MentalHealth, fields)
}

/// The Conditions the plan addresses: its episode's diagnoses under the plan's codes.
fn addresses(ctx: &Ctx<'_>, plan: &PlanView) -> Vec<Value> {
    ctx.record
        .view
        .diagnoses
        .iter()
        .enumerate()
        .filter(|(_, d)| d.episode_id == plan.episode_id && plan.addresses.contains(&d.code))
        .map(|(index, _)| ctx.reference("Condition", &ids::condition(ctx.record.client, index)))
        .collect()
}

pub fn goals(ctx: &Ctx<'_>) -> Vec<Resource> {
    ctx.record.view.plans.iter().flat_map(|p| p.goals.iter().map(move |g| goal(ctx, p, g))).collect()
}

fn goal(ctx: &Ctx<'_>, plan: &PlanView, g: &GoalView) -> Resource {
    let lifecycle = match g.status {
        GoalStatus::Active => "active",
        GoalStatus::Achieved => "completed",
        GoalStatus::Deferred => "on-hold",
        GoalStatus::Discontinued => "cancelled",
    };
    // The latest review's rating says how an active goal is going.
    let rating = plan.reviews.iter().rev().flat_map(|r| r.progress.iter()).find(|p| p.goal_id == g.goal_id);
    let (code, display) = match (g.status, rating.map(|p| p.rating)) {
        (GoalStatus::Achieved, _) | (_, Some(ProgressRating::Achieved)) => ("achieved", "Achieved"),
        (GoalStatus::Discontinued, _) => ("not-achieved", "Not Achieved"),
        (GoalStatus::Deferred, _) | (_, Some(ProgressRating::NotStarted)) => ("no-progress", "No Progress"),
        (_, Some(ProgressRating::Improving)) => ("improving", "Improving"),
        (_, Some(ProgressRating::Regressed)) => ("worsening", "Worsening"),
        (_, Some(ProgressRating::NoChange)) => ("no-change", "No Change"),
        (GoalStatus::Active, None) => ("in-progress", "In Progress"),
    };
    let notes: Vec<Value> =
        g.objectives.iter().map(|o| json!({ "text": format!("Objective: {}", o.description.as_str()) })).collect();
    let mut fields = json!({
        "lifecycleStatus": lifecycle,
        "achievementStatus": concept(ACHIEVEMENT, code, display),
        "description": text(g.description.as_str()),
        "subject": ctx.patient(),
        "target": [{ "measure": text(g.measurable_target.as_str()), "dueDate": date(g.due_on) }],
        "addresses": addresses(ctx, plan),
    });
    if let Value::Object(f) = &mut fields {
        if let Some(first) = plan.signatures.first() {
            f.insert("startDate".into(), first.signed_at.date_naive().to_string().into());
        }
        if let Some(change) = g.status_history.last() {
            f.insert("statusDate".into(), change.changed_at.date_naive().to_string().into());
            f.insert("statusReason".into(), change.reason.as_str().into());
        }
        if !notes.is_empty() {
            f.insert("note".into(), notes.into());
        }
    }
    ctx.resource("Goal", g.goal_id.to_string(), Sensitivity::MentalHealth, fields)
}
