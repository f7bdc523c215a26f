//! Given/when/then tests of the treatment plan's rules.

mod drafting;
mod reviews;

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
        episode_clinician: None,
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
