//! Treatment plans in the episode view: versions, goals with objectives and interventions,
//! signatures, reviews and the planned end of treatment.

use carelog_domain::planning::{
    GoalStatus, PlanReviewed, PlanningEvent, ReviewOutcome, TerminationPlanned, TreatmentPlanSigned,
};
use carelog_domain::types::{
    ClinicianId, EpisodeId, GoalId, Icd10Code, InterventionId, ObjectiveId, PlanId, Reason, ShortText,
};
use carelog_store::RecordedEvent;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::EpisodeView;
use crate::decode::{orphan, stream_id};
use crate::error::ViewError;

/// Whether the plan's current version is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// `version` is being drafted (while revising, `signed_version` is still in force).
    Draft,
    /// `version` is signed and immutable.
    Signed,
}

/// A step toward a goal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectiveView {
    pub objective_id: ObjectiveId,
    pub version: u32,
    pub description: ShortText,
}

/// What the clinician does toward a goal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterventionView {
    pub intervention_id: InterventionId,
    pub version: u32,
    pub description: ShortText,
    pub frequency: ShortText,
}

/// One change of a goal's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoalStatusChange {
    pub from: GoalStatus,
    pub to: GoalStatus,
    pub reason: Reason,
    pub changed_by: ClinicianId,
    pub changed_at: DateTime<Utc>,
}

/// A goal with its objectives, interventions and status history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoalView {
    pub goal_id: GoalId,
    /// The plan version that set it.
    pub version: u32,
    pub description: ShortText,
    pub measurable_target: ShortText,
    pub due_on: NaiveDate,
    pub status: GoalStatus,
    pub objectives: Vec<ObjectiveView>,
    pub interventions: Vec<InterventionView>,
    pub status_history: Vec<GoalStatusChange>,
}

/// One treatment plan as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanView {
    pub plan_id: PlanId,
    pub episode_id: EpisodeId,
    /// The version being drafted or, once signed, the current signed version.
    pub version: u32,
    pub status: PlanStatus,
    /// The latest signed version (in force while a revision is drafted).
    pub signed_version: Option<u32>,
    /// Active diagnoses the current version addresses.
    pub addresses: Vec<Icd10Code>,
    pub drafted_by: ClinicianId,
    pub drafted_at: DateTime<Utc>,
    pub goals: Vec<GoalView>,
    /// Every signature, oldest first.
    pub signatures: Vec<TreatmentPlanSigned>,
    pub next_review_due: Option<NaiveDate>,
    pub reviews: Vec<PlanReviewed>,
    /// A review ended planning (outcome `discharge`).
    pub discharged: bool,
    pub termination: Option<TerminationPlanned>,
}

impl PlanView {
    /// The signature of the version in force, if any.
    pub fn last_signature(&self) -> Option<&TreatmentPlanSigned> {
        self.signatures.last()
    }

    fn goal_mut(&mut self, event: &RecordedEvent, id: GoalId) -> Result<&mut GoalView, ViewError> {
        self.goals.iter_mut().find(|g| g.goal_id == id).ok_or_else(|| orphan(event, "goal"))
    }
}

impl EpisodeView {
    pub(super) fn apply_planning(&mut self, event: &RecordedEvent, e: &PlanningEvent) -> Result<(), ViewError> {
        if let PlanningEvent::TreatmentPlanDrafted(e) = e {
            // A second draft of the same plan (a revision, or a redraft of an unsigned
            // version) updates the plan in place; the plan id is the stream's.
            if let Some(plan) = self.plans.iter_mut().find(|p| p.plan_id == e.plan_id) {
                plan.version = e.version;
                plan.status = PlanStatus::Draft;
                plan.addresses = e.addresses.clone();
                plan.drafted_by = e.drafted_by;
                plan.drafted_at = e.drafted_at;
            } else {
                self.plans.push(PlanView {
                    plan_id: e.plan_id,
                    episode_id: e.episode_id,
                    version: e.version,
                    status: PlanStatus::Draft,
                    signed_version: None,
                    addresses: e.addresses.clone(),
                    drafted_by: e.drafted_by,
                    drafted_at: e.drafted_at,
                    goals: Vec::new(),
                    signatures: Vec::new(),
                    next_review_due: None,
                    reviews: Vec::new(),
                    discharged: false,
                    termination: None,
                });
            }
            return Ok(());
        }
        let id = stream_id(event, PlanId::from_stream_name)?;
        let plan = self.plans.iter_mut().find(|p| p.plan_id == id).ok_or_else(|| orphan(event, "plan"))?;
        match e {
            PlanningEvent::TreatmentPlanDrafted(_) => {}
            PlanningEvent::GoalSet(e) => plan.goals.push(GoalView {
                goal_id: e.goal_id,
                version: e.version,
                description: e.description.clone(),
                measurable_target: e.measurable_target.clone(),
                due_on: e.due_on,
                status: GoalStatus::Active,
                objectives: Vec::new(),
                interventions: Vec::new(),
                status_history: Vec::new(),
            }),
            PlanningEvent::ObjectiveAdded(e) => plan.goal_mut(event, e.goal_id)?.objectives.push(ObjectiveView {
                objective_id: e.objective_id,
                version: e.version,
                description: e.description.clone(),
            }),
            PlanningEvent::InterventionAdded(e) => {
                plan.goal_mut(event, e.goal_id)?.interventions.push(InterventionView {
                    intervention_id: e.intervention_id,
                    version: e.version,
                    description: e.description.clone(),
                    frequency: e.frequency.clone(),
                });
            }
            PlanningEvent::TreatmentPlanSigned(e) => {
                plan.version = e.version;
                plan.status = PlanStatus::Signed;
                plan.signed_version = Some(e.version);
                plan.next_review_due = Some(e.next_review_due);
                plan.signatures.push(e.clone());
            }
            PlanningEvent::PlanReviewed(e) => {
                match e.outcome {
                    ReviewOutcome::Continue => plan.next_review_due = e.next_review_due,
                    ReviewOutcome::Revise => {
                        plan.version = e.version + 1;
                        plan.status = PlanStatus::Draft;
                    }
                    ReviewOutcome::Discharge => plan.discharged = true,
                }
                plan.reviews.push(e.clone());
            }
            PlanningEvent::GoalStatusChanged(e) => {
                let goal = plan.goal_mut(event, e.goal_id)?;
                goal.status = e.to;
                goal.status_history.push(GoalStatusChange {
                    from: e.from,
                    to: e.to,
                    reason: e.reason.clone(),
                    changed_by: e.changed_by,
                    changed_at: e.changed_at,
                });
            }
            PlanningEvent::TerminationPlanned(e) => {
                plan.termination = Some(e.clone());
            }
        }
        Ok(())
    }
}
