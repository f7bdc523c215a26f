//! Billing the sessions, reviewing the plan, planning termination and closing the episode.

use anyhow::Context;
use carelog_proto::v1 as proto;

use super::{Demo, at, because, id};

impl Demo {
    /// One original claim for every charge.
    pub(super) async fn bill(&mut self, charges: &[String]) -> anyhow::Result<()> {
        let claim = id();
        let r = self
            .billing
            .submit_claim(proto::SubmitClaimRequest {
                context: at(self.day(50, 9)),
                account_id: self.outcome.account_id.clone(),
                claim_id: claim,
                kind: Some(proto::submit_claim_request::Kind::Original(proto::submit_claim_request::Original {
                    charge_ids: charges.to_vec(),
                })),
            })
            .await
            .context("submitting the claim")?;
        self.record("claim submitted", r);
        Ok(())
    }

    pub(super) async fn review_and_close(&mut self, goals: &[String]) -> anyhow::Result<()> {
        use proto::review_plan_request::{GoalProgress, Outcome, Rating};
        let plan = self.outcome.plan_id.clone();
        let clinician = self.outcome.clinician_id.clone();
        let progress = goals
            .iter()
            .map(|goal| GoalProgress {
                goal_id: goal.clone(),
                rating: Rating::Achieved as i32,
                comment: "Target met on the last two administrations".into(),
            })
            .collect();
        for goal in goals {
            let r = self
                .planning
                .change_goal_status(proto::ChangeGoalStatusRequest {
                    context: because(self.day(55, 16), "measurable target met"),
                    plan_id: plan.clone(),
                    goal_id: goal.clone(),
                    status: proto::change_goal_status_request::Status::Achieved as i32,
                    clinician_id: clinician.clone(),
                })
                .await
                .context("marking a goal achieved")?;
            self.record("goal achieved", r);
        }
        let r = self
            .planning
            .review_plan(proto::ReviewPlanRequest {
                context: at(self.day(55, 16)),
                plan_id: plan.clone(),
                clinician_id: clinician.clone(),
                progress,
                outcome: Outcome::Discharge as i32,
            })
            .await
            .context("reviewing the plan")?;
        self.record("plan reviewed (discharge)", r);
        let r = self
            .planning
            .plan_termination(proto::PlanTerminationRequest {
                context: at(self.day(55, 17)),
                plan_id: plan,
                planned_end_on: chrono::Utc::now().date_naive().to_string(),
                termination_reason: proto::plan_termination_request::TerminationReason::GoalsMet as i32,
                aftercare: "Booster session offered at three months; crisis line information given.".into(),
                clinician_id: clinician.clone(),
            })
            .await
            .context("planning termination")?;
        self.record("termination planned", r);
        let r = self
            .sessions
            .close_episode(proto::CloseEpisodeRequest {
                context: at(chrono::Utc::now()),
                client_id: self.outcome.client_id.clone(),
                episode_id: self.episode_id.clone(),
                clinician_id: clinician,
                discharge_summary: "Treatment goals met: GAD-7 fell from 12 to 4 over six sessions; \
                                    client returned to full-time work. Discharged with aftercare plan."
                    .into(),
            })
            .await
            .context("closing the episode")?;
        self.record("episode closed", r);
        Ok(())
    }
}
