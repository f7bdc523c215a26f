//! Black-box tests of the TreatmentPlanningService, and the requests and givens they share: a
//! client with an open episode and two active diagnoses (F32.1, F41.1), set up through the
//! IntakeService, and plans built on it.

mod flow;
mod input;
mod races;
mod rules;

use carelog_blackbox::{Authed, TestApp, ctx, ctx_because};
use carelog_proto::v1 as proto;
use carelog_proto::v1::treatment_planning_service_client::TreatmentPlanningServiceClient;
use carelog_store::{RecordedEvent, StreamName, StreamQuery};
use uuid::Uuid;

use crate::given;

use proto::review_plan_request::{GoalProgress, Outcome, Rating};

/// A registered client with an open episode of care.
pub use crate::given::OpenEpisode as Episode;

/// Given a registered client with an open episode in which F32.1 and F41.1 are active.
pub async fn given_episode(app: &TestApp) -> Episode {
    given_episode_of(app, Uuid::now_v7()).await
}

/// `given_episode` with `clinician_id` as the episode's clinician.
pub async fn given_episode_of(app: &TestApp, clinician_id: Uuid) -> Episode {
    let e = given::open_episode_with(app, crate::intake::register_request(Uuid::now_v7()), clinician_id).await;
    given::diagnosed(app, &e, &["F32.1", "F41.1"]).await;
    e
}

/// Resolves an active diagnosis of the client through the IntakeService.
pub fn resolve(e: &Episode, code: &str) -> proto::ReviseDiagnosisRequest {
    proto::ReviseDiagnosisRequest {
        context: ctx_because("symptoms remitted"),
        client_id: e.client_id.to_string(),
        icd10_code: code.into(),
        clinician_id: e.clinician_id.to_string(),
        revision: Some(proto::revise_diagnosis_request::Revision::Resolved(
            proto::revise_diagnosis_request::Resolved {},
        )),
    }
}

/// The planning calls of the episode's own clinician.
pub fn planning(app: &TestApp, e: &Episode) -> TreatmentPlanningServiceClient<Authed> {
    app.planning(&e.clinician())
}

/// `YYYY-MM-DD`, `days` from today (UTC, the service's calendar).
pub fn day(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days)).format("%Y-%m-%d").to_string()
}

pub fn draft(e: &Episode, plan_id: Uuid, codes: &[&str]) -> proto::DraftPlanRequest {
    proto::DraftPlanRequest {
        context: ctx(),
        plan_id: plan_id.to_string(),
        client_id: e.client_id.to_string(),
        episode_id: e.episode_id.to_string(),
        icd10_codes: codes.iter().map(|c| (*c).to_owned()).collect(),
        clinician_id: e.clinician_id.to_string(),
    }
}

pub fn goal(plan_id: Uuid, goal_id: Uuid) -> proto::SetGoalRequest {
    proto::SetGoalRequest {
        context: ctx(),
        plan_id: plan_id.to_string(),
        goal_id: goal_id.to_string(),
        description: "Reduce depressive symptoms".into(),
        measurable_target: "PHQ-9 below 10 on two consecutive administrations".into(),
        due_on: day(120),
    }
}

pub fn objective(plan_id: Uuid, goal_id: Uuid) -> proto::AddObjectiveRequest {
    proto::AddObjectiveRequest {
        context: ctx(),
        plan_id: plan_id.to_string(),
        objective_id: Uuid::now_v7().to_string(),
        goal_id: goal_id.to_string(),
        description: "Practise behavioural activation three times a week".into(),
    }
}

pub fn intervention(plan_id: Uuid, goal_id: Uuid) -> proto::AddInterventionRequest {
    proto::AddInterventionRequest {
        context: ctx(),
        plan_id: plan_id.to_string(),
        intervention_id: Uuid::now_v7().to_string(),
        goal_id: goal_id.to_string(),
        description: "Cognitive behavioural therapy".into(),
        frequency: "weekly, 53 minutes".into(),
    }
}

pub fn sign(e: &Episode, plan_id: Uuid) -> proto::SignPlanRequest {
    proto::SignPlanRequest { context: ctx(), plan_id: plan_id.to_string(), clinician_id: e.clinician_id.to_string() }
}

/// A review rating every listed goal as improving.
pub fn review(e: &Episode, plan_id: Uuid, goals: &[Uuid], outcome: Outcome) -> proto::ReviewPlanRequest {
    let line = |g: &Uuid| GoalProgress {
        goal_id: g.to_string(),
        rating: Rating::Improving as i32,
        comment: "sleeping better".into(),
    };
    proto::ReviewPlanRequest {
        context: ctx(),
        plan_id: plan_id.to_string(),
        clinician_id: e.clinician_id.to_string(),
        progress: goals.iter().map(line).collect(),
        outcome: outcome as i32,
    }
}

pub fn goal_status(
    e: &Episode,
    plan_id: Uuid,
    goal_id: Uuid,
    status: proto::change_goal_status_request::Status,
) -> proto::ChangeGoalStatusRequest {
    proto::ChangeGoalStatusRequest {
        context: ctx_because("PHQ-9 at 6 on two consecutive administrations"),
        plan_id: plan_id.to_string(),
        goal_id: goal_id.to_string(),
        status: status as i32,
        clinician_id: e.clinician_id.to_string(),
    }
}

pub fn termination(e: &Episode, plan_id: Uuid, planned_end_on: String) -> proto::PlanTerminationRequest {
    proto::PlanTerminationRequest {
        context: ctx(),
        plan_id: plan_id.to_string(),
        planned_end_on,
        termination_reason: proto::plan_termination_request::TerminationReason::GoalsMet as i32,
        aftercare: "Monthly check-ins for three months; crisis line 988.".into(),
        clinician_id: e.clinician_id.to_string(),
    }
}

/// Given a signed plan (version 1) addressing F32.1 with one goal.
pub async fn given_signed_plan(app: &TestApp) -> (Episode, Uuid, Uuid) {
    let e = given_episode(app).await;
    let (plan_id, goal_id) = (Uuid::now_v7(), Uuid::now_v7());
    let mut planning = planning(app, &e);
    planning.draft_plan(draft(&e, plan_id, &["F32.1"])).await.expect("draft");
    planning.set_goal(goal(plan_id, goal_id)).await.expect("goal");
    planning.sign_plan(sign(&e, plan_id)).await.expect("sign");
    (e, plan_id, goal_id)
}

/// Every event stored in a stream, e.g. `plan-{id}`.
pub async fn stored(app: &TestApp, stream: &str) -> Vec<RecordedEvent> {
    let stream = StreamName::new(stream.to_owned()).expect("stream name");
    app.store.read_stream(&stream, StreamQuery::all()).await.expect("read stream")
}

pub fn plan_stream(plan_id: Uuid) -> String {
    format!("plan-{plan_id}")
}
