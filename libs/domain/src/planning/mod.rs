//! The treatment plan aggregate (`plan-{uuid}`): a plan addresses active diagnoses, holds
//! measurable goals with objectives and interventions, and is signed as an immutable version.
//!
//! Versions: drafting starts version 1; signing freezes it. A review with outcome `revise`
//! opens the next version as a draft that carries the goals over; signing it freezes that one.
//! Goal status changes are progress tracking, not plan content, so they are allowed on a signed
//! version.

mod command;
mod decide;
mod event;
mod state;
#[cfg(test)]
mod tests;

pub use command::{PlanningCommand, PlanningContext, ReviewRule};
pub use decide::{decide, evolve};
pub use event::{
    GoalProgress, GoalSet, GoalStatus, GoalStatusChanged, InterventionAdded, ObjectiveAdded, PlanReviewed,
    PlanningEvent, ProgressRating, ReviewOutcome, TerminationPlanned, TerminationReason, TreatmentPlanDrafted,
    TreatmentPlanSigned,
};
pub use state::{GoalRecord, PlanState, ReviewStatus};
