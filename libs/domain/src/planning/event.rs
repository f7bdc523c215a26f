//! Events of the plan stream.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::event::event_enum;
use crate::types::{
    ClientId, ClinicianId, EpisodeId, GoalId, Icd10Code, InterventionId, NoteText, ObjectiveId, PlanId, Reason,
    ShortText,
};

event_enum! {
    /// Everything that can happen to a treatment plan.
    pub enum PlanningEvent {
        TreatmentPlanDrafted,
        GoalSet,
        ObjectiveAdded,
        InterventionAdded,
        TreatmentPlanSigned,
        PlanReviewed,
        GoalStatusChanged,
        TerminationPlanned,
    }
}

/// A draft (of `version`) addressing the listed active diagnoses; a second draft of the same
/// unsigned version replaces the addressed diagnoses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreatmentPlanDrafted {
    pub plan_id: PlanId,
    pub client_id: ClientId,
    pub episode_id: EpisodeId,
    pub version: u32,
    pub addresses: Vec<Icd10Code>,
    pub drafted_by: ClinicianId,
    pub drafted_at: DateTime<Utc>,
}

/// A goal with a measurable target and a due date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoalSet {
    pub goal_id: GoalId,
    pub version: u32,
    pub description: ShortText,
    /// How attainment is measured, e.g. "PHQ-9 below 10 on two consecutive administrations".
    pub measurable_target: ShortText,
    pub due_on: NaiveDate,
}

/// A step toward a goal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectiveAdded {
    pub objective_id: ObjectiveId,
    pub goal_id: GoalId,
    pub version: u32,
    pub description: ShortText,
}

/// What the clinician will do toward a goal, and how often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterventionAdded {
    pub intervention_id: InterventionId,
    pub goal_id: GoalId,
    pub version: u32,
    pub description: ShortText,
    pub frequency: ShortText,
}

/// A version was signed and is now immutable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreatmentPlanSigned {
    pub version: u32,
    pub signed_by: ClinicianId,
    pub signed_at: DateTime<Utc>,
    pub next_review_due: NaiveDate,
}

/// Progress toward one goal at a review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgressRating {
    NotStarted,
    Regressed,
    NoChange,
    Improving,
    Achieved,
}

/// One goal's line in a review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoalProgress {
    pub goal_id: GoalId,
    pub rating: ProgressRating,
    pub comment: Option<Reason>,
}

/// What a review decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewOutcome {
    Continue,
    Revise,
    Discharge,
}

/// A signed version was reviewed. `continue` sets the next review date; `revise` opens
/// `version + 1` as a draft; `discharge` ends planning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanReviewed {
    pub version: u32,
    pub progress: Vec<GoalProgress>,
    pub outcome: ReviewOutcome,
    pub reviewed_by: ClinicianId,
    pub reviewed_at: DateTime<Utc>,
    pub next_review_due: Option<NaiveDate>,
}

/// Where a goal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalStatus {
    Active,
    Achieved,
    Deferred,
    Discontinued,
}

/// A goal's status changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoalStatusChanged {
    pub goal_id: GoalId,
    pub from: GoalStatus,
    pub to: GoalStatus,
    pub reason: Reason,
    pub changed_by: ClinicianId,
    pub changed_at: DateTime<Utc>,
}

/// Why treatment is ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TerminationReason {
    GoalsMet,
    ClientRequest,
    Referral,
    FinancialOrAccess,
    Other,
}

/// A planned, collaborative end of treatment with aftercare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminationPlanned {
    pub planned_end_on: NaiveDate,
    pub reason: TerminationReason,
    pub aftercare: NoteText,
    pub planned_by: ClinicianId,
    pub planned_at: DateTime<Utc>,
}
