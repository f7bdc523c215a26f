//! A treatment plan as folded from its events.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::event::{GoalStatus, PlanningEvent, ReviewOutcome};
use crate::types::{ClientId, EpisodeId, GoalId, Icd10Code, InterventionId, ObjectiveId, PlanId, ShortText};

/// Folded state of one plan stream. `Default` is the state before any event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanState {
    pub plan_id: Option<PlanId>,
    pub client_id: Option<ClientId>,
    pub episode_id: Option<EpisodeId>,
    /// The version being drafted or, once signed, the current signed version.
    pub version: u32,
    /// Whether `version` is signed.
    pub signed: bool,
    /// The latest signed version (still in force while a revision is drafted).
    pub last_signed_version: Option<u32>,
    pub addresses: Vec<Icd10Code>,
    pub goals: BTreeMap<GoalId, GoalRecord>,
    pub next_review_due: Option<NaiveDate>,
    pub discharged: bool,
    pub termination_planned_on: Option<NaiveDate>,
}

/// A goal with its objectives and interventions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoalRecord {
    pub description: ShortText,
    pub measurable_target: ShortText,
    pub due_on: NaiveDate,
    pub status: GoalStatus,
    /// The plan version the goal was set in: in force once that version is signed.
    pub version: u32,
    pub objectives: Vec<ObjectiveId>,
    pub interventions: Vec<InterventionId>,
}

/// Whether the plan's periodic review is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewStatus {
    /// No version signed yet.
    NotSigned,
    Current {
        due: NaiveDate,
    },
    Overdue {
        due: NaiveDate,
    },
    /// Planning has ended.
    Discharged,
}

impl PlanState {
    /// Whether the plan has been drafted.
    pub fn exists(&self) -> bool {
        self.plan_id.is_some()
    }

    /// Goals in force and still being worked on: active, and set in a version that was signed.
    /// A goal of a revision still being drafted is not part of the treatment yet; a note cannot
    /// address it.
    pub fn active_goals(&self) -> Vec<GoalId> {
        let signed = self.last_signed_version.unwrap_or(0);
        self.goals
            .iter()
            .filter(|(_, g)| g.status == GoalStatus::Active && g.version <= signed)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Active goals of any version, signed or drafted: what a signature or review covers.
    pub(crate) fn open_goals(&self) -> Vec<GoalId> {
        self.goals.iter().filter(|(_, g)| g.status == GoalStatus::Active).map(|(id, _)| *id).collect()
    }

    /// Review status on `today`: overdue once the due date has passed.
    pub fn review_status(&self, today: NaiveDate) -> ReviewStatus {
        if self.discharged {
            return ReviewStatus::Discharged;
        }
        match (self.last_signed_version, self.next_review_due) {
            (Some(_), Some(due)) if today > due => ReviewStatus::Overdue { due },
            (Some(_), Some(due)) => ReviewStatus::Current { due },
            _ => ReviewStatus::NotSigned,
        }
    }

    /// Folds one event into the state.
    pub fn apply(&mut self, event: &PlanningEvent) {
        match event {
            PlanningEvent::TreatmentPlanDrafted(e) => {
                self.plan_id = Some(e.plan_id);
                self.client_id = Some(e.client_id);
                self.episode_id = Some(e.episode_id);
                self.version = e.version;
                self.signed = false;
                self.addresses = e.addresses.clone();
            }
            PlanningEvent::GoalSet(e) => {
                self.goals.insert(
                    e.goal_id,
                    GoalRecord {
                        description: e.description.clone(),
                        measurable_target: e.measurable_target.clone(),
                        due_on: e.due_on,
                        status: GoalStatus::Active,
                        version: e.version,
                        objectives: Vec::new(),
                        interventions: Vec::new(),
                    },
                );
            }
            PlanningEvent::ObjectiveAdded(e) => {
                if let Some(g) = self.goals.get_mut(&e.goal_id) {
                    g.objectives.push(e.objective_id);
                }
            }
            PlanningEvent::InterventionAdded(e) => {
                if let Some(g) = self.goals.get_mut(&e.goal_id) {
                    g.interventions.push(e.intervention_id);
                }
            }
            PlanningEvent::TreatmentPlanSigned(e) => {
                self.version = e.version;
                self.signed = true;
                self.last_signed_version = Some(e.version);
                self.next_review_due = Some(e.next_review_due);
            }
            PlanningEvent::PlanReviewed(e) => match e.outcome {
                ReviewOutcome::Continue => self.next_review_due = e.next_review_due,
                ReviewOutcome::Revise => {
                    self.version = e.version + 1;
                    self.signed = false;
                }
                ReviewOutcome::Discharge => self.discharged = true,
            },
            PlanningEvent::GoalStatusChanged(e) => {
                if let Some(g) = self.goals.get_mut(&e.goal_id) {
                    g.status = e.to;
                }
            }
            PlanningEvent::TerminationPlanned(e) => {
                self.termination_planned_on = Some(e.planned_end_on);
            }
        }
    }
}
