//! Commands on the plan stream and the facts a decision needs from outside it.

use chrono::{DateTime, Days, NaiveDate, Utc};

use super::event::{GoalProgress, GoalStatus, ReviewOutcome, TerminationReason};
use crate::error::ValidationError;
use crate::intake::{ClientState, EpisodeStatus};
use crate::types::{
    ClientId, ClinicianId, EpisodeId, GoalId, Icd10Code, InterventionId, NoteText, ObjectiveId, PlanId, Reason,
    ShortText,
};

/// What a clinician asks of a treatment plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanningCommand {
    DraftPlan {
        plan_id: PlanId,
        client_id: ClientId,
        episode_id: EpisodeId,
        addresses: Vec<Icd10Code>,
        clinician_id: ClinicianId,
    },
    SetGoal {
        goal_id: GoalId,
        description: ShortText,
        measurable_target: ShortText,
        due_on: NaiveDate,
    },
    AddObjective {
        objective_id: ObjectiveId,
        goal_id: GoalId,
        description: ShortText,
    },
    AddIntervention {
        intervention_id: InterventionId,
        goal_id: GoalId,
        description: ShortText,
        frequency: ShortText,
    },
    SignPlan {
        clinician_id: ClinicianId,
    },
    ReviewPlan {
        progress: Vec<GoalProgress>,
        outcome: ReviewOutcome,
        clinician_id: ClinicianId,
    },
    ChangeGoalStatus {
        goal_id: GoalId,
        status: GoalStatus,
        reason: Reason,
        clinician_id: ClinicianId,
    },
    PlanTermination {
        planned_end_on: NaiveDate,
        reason: TerminationReason,
        aftercare: NoteText,
        clinician_id: ClinicianId,
    },
}

/// How far ahead the next plan review falls due (configurable per practice; default 90 days,
/// a common payer and accreditation requirement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewRule {
    interval_days: u16,
}

impl ReviewRule {
    /// A review every `days` days, 7 to 365.
    pub fn every_days(days: u32) -> Result<Self, ValidationError> {
        match u16::try_from(days) {
            Ok(d @ 7..=365) => Ok(Self { interval_days: d }),
            _ => Err(ValidationError::new("review_interval_days", "must be 7 to 365")),
        }
    }

    /// The interval in days.
    pub fn interval_days(&self) -> u16 {
        self.interval_days
    }

    /// The review due date for a plan signed or reviewed at `from`.
    pub fn next_due(&self, from: DateTime<Utc>) -> NaiveDate {
        let day = from.date_naive();
        day.checked_add_days(Days::new(u64::from(self.interval_days))).unwrap_or(day)
    }
}

impl Default for ReviewRule {
    fn default() -> Self {
        Self { interval_days: 90 }
    }
}

/// Facts from outside the plan stream, read from the client stream by the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanningContext {
    pub now: DateTime<Utc>,
    /// Status of the plan's episode (of the command's episode for `DraftPlan` on a new plan).
    pub episode: EpisodeStatus,
    /// The treating clinician of that episode: a plan is drafted for them alone.
    pub episode_clinician: Option<ClinicianId>,
    /// Diagnoses active in that episode.
    pub active_diagnoses: Vec<Icd10Code>,
    pub review_rule: ReviewRule,
}

impl PlanningContext {
    /// Fills the context from the client's folded record.
    pub fn from_client(client: &ClientState, episode: EpisodeId, now: DateTime<Utc>, review_rule: ReviewRule) -> Self {
        Self {
            now,
            episode: client.episode_status(episode),
            episode_clinician: client.episode(episode).map(|e| e.clinician_id),
            active_diagnoses: client.active_diagnoses(episode).iter().map(|d| d.code.clone()).collect(),
            review_rule,
        }
    }
}

impl PlanningCommand {
    /// The clinician this command names as doing or attesting clinical work, with the request
    /// field naming them: the service checks them against the caller (a draft names the treating
    /// clinician, which only the roles the policy lets act for a clinician may name for another).
    pub fn signer(&self) -> Option<(&'static str, ClinicianId)> {
        match self {
            Self::DraftPlan { clinician_id, .. }
            | Self::SignPlan { clinician_id, .. }
            | Self::ReviewPlan { clinician_id, .. }
            | Self::ChangeGoalStatus { clinician_id, .. }
            | Self::PlanTermination { clinician_id, .. } => Some(("clinician_id", *clinician_id)),
            _ => None,
        }
    }
}
