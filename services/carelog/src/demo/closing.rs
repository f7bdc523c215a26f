//! Billing the sessions, reviewing the plan, planning termination and closing the episode.

use anyhow::Context;
use carelog_proto::v1 as proto;

use super::{Demo, at, because, id};

impl Demo {
    /// One original claim for every charge; the payer's remittance (80 % paid, a CO-45 contractual
    /// adjustment, the rest the client's share), then the client pays their share.
    pub(super) async fn bill(&mut self, charges: &[String]) -> anyhow::Result<()> {
        let claim = id();
        let r = self
            .billing
            .submit_claim(proto::SubmitClaimRequest {
                context: at(self.day(50, 9)),
                account_id: self.outcome.account_id.clone(),
                claim_id: claim.clone(),
                kind: Some(proto::submit_claim_request::Kind::Original(proto::submit_claim_request::Original {
                    charge_ids: charges.to_vec(),
                })),
            })
            .await
            .context("submitting the claim")?;
        let submitted_at = r.get_ref().position;
        self.record("claim submitted", r);
        // The biller reads the charged amounts off the ledger, as they would before posting an ERA.
        let ledger = self
            .records
            .get_ledger(proto::GetLedgerRequest {
                account_id: self.outcome.account_id.clone(),
                aging_date: String::new(),
                min_position: submitted_at,
            })
            .await
            .context("reading the ledger")?
            .into_inner();
        let ledger = ledger.ledger.unwrap_or_default();
        let mut lines = Vec::new();
        let mut client_share = 0;
        for charge in charges {
            let amount = ledger
                .charges
                .iter()
                .find(|c| c.charge_id == *charge)
                .map(|c| c.amount)
                .with_context(|| format!("charge {charge} is not on the ledger"))?;
            let paid = amount * 80 / 100;
            let adjusted = amount / 10;
            let patient = amount - paid - adjusted;
            client_share += patient;
            lines.push(proto::post_remittance_request::Line {
                charge_id: charge.clone(),
                charged_cents: amount,
                paid_cents: paid,
                patient_responsibility_cents: patient,
                adjustments: vec![proto::post_remittance_request::Adjustment {
                    group: proto::post_remittance_request::adjustment::Group::Co as i32,
                    carc: "45".into(),
                    amount_cents: adjusted,
                }],
                remarks: Vec::new(),
            });
        }
        let r = self
            .billing
            .post_remittance(proto::PostRemittanceRequest {
                context: at(self.day(53, 9)),
                account_id: self.outcome.account_id.clone(),
                remittance_id: id(),
                claim_id: claim,
                payer_claim_number: "CMH-2026-0042117".into(),
                lines,
            })
            .await
            .context("posting the remittance")?;
        self.record("remittance posted (CO-45 adjustment)", r);
        let r = self
            .billing
            .receive_payment(proto::ReceivePaymentRequest {
                context: at(self.day(54, 12)),
                account_id: self.outcome.account_id.clone(),
                payment_id: id(),
                amount_cents: client_share,
                method: proto::receive_payment_request::Method::Card as i32,
                service_date: String::new(),
            })
            .await
            .context("receiving the client's payment")?;
        self.record("client payment received", r);
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

impl Demo {
    /// Reads the record back through the RecordsService once it reflects every command.
    pub(super) async fn read_back(&mut self) -> anyhow::Result<()> {
        let last = self.outcome.last_position();
        let asked = std::time::Instant::now();
        let episode = self
            .chart
            .get_episode(proto::GetEpisodeRequest { client_id: self.outcome.client_id.clone(), min_position: last })
            .await
            .context("reading the episode back")?
            .into_inner();
        self.outcome.read_your_writes_wait = asked.elapsed();
        self.outcome.episode = episode.view.unwrap_or_default();
        let ledger = self
            .records
            .get_ledger(proto::GetLedgerRequest {
                account_id: self.outcome.account_id.clone(),
                aging_date: String::new(),
                min_position: last,
            })
            .await
            .context("reading the ledger back")?
            .into_inner();
        self.outcome.balance_cents = ledger.balance_cents;
        Ok(())
    }
}
