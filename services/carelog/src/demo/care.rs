//! The treatment plan and the weekly sessions.

use anyhow::Context;
use carelog_proto::v1 as proto;
use chrono::{DateTime, Duration, Utc};

use super::{Demo, at, because, id, ts};

impl Demo {
    pub(super) async fn treatment_plan(&mut self) -> anyhow::Result<Vec<String>> {
        let plan = self.outcome.plan_id.clone();
        let clinician = self.outcome.clinician_id.clone();
        let r = self
            .planning
            .draft_plan(proto::DraftPlanRequest {
                context: at(self.day(1, 9)),
                plan_id: plan.clone(),
                client_id: self.outcome.client_id.clone(),
                episode_id: self.episode_id.clone(),
                icd10_codes: vec!["F41.1".into()],
                clinician_id: clinician.clone(),
            })
            .await
            .context("drafting the treatment plan")?;
        self.record("treatment plan drafted", r);
        let mut goals = Vec::new();
        for (description, target, due) in [
            ("Reduce daily worry", "GAD-7 below 10 on two consecutive administrations", 84),
            ("Return to full-time work", "Works 5 days a week for 4 consecutive weeks", 120),
        ] {
            let goal = id();
            let due_on = (self.day(1, 9) + Duration::days(due)).date_naive().to_string();
            let r = self
                .planning
                .set_goal(proto::SetGoalRequest {
                    context: at(self.day(1, 9)),
                    plan_id: plan.clone(),
                    goal_id: goal.clone(),
                    description: description.into(),
                    measurable_target: target.into(),
                    due_on,
                })
                .await
                .context("setting a goal")?;
            self.record("goal set", r);
            let r = self
                .planning
                .add_objective(proto::AddObjectiveRequest {
                    context: at(self.day(1, 9)),
                    plan_id: plan.clone(),
                    objective_id: id(),
                    goal_id: goal.clone(),
                    description: "Practise the agreed skill at least five days a week".into(),
                })
                .await
                .context("adding an objective")?;
            self.record("objective added", r);
            let r = self
                .planning
                .add_intervention(proto::AddInterventionRequest {
                    context: at(self.day(1, 9)),
                    plan_id: plan.clone(),
                    intervention_id: id(),
                    goal_id: goal.clone(),
                    description: "Cognitive behavioural therapy: worry exposure and cognitive restructuring".into(),
                    frequency: "weekly, 53 minutes".into(),
                })
                .await
                .context("adding an intervention")?;
            self.record("intervention added", r);
            goals.push(goal);
        }
        let r = self
            .planning
            .sign_plan(proto::SignPlanRequest { context: at(self.day(1, 10)), plan_id: plan, clinician_id: clinician })
            .await
            .context("signing the plan")?;
        self.record("treatment plan signed", r);
        Ok(goals)
    }

    /// Seven weekly appointments: the intake evaluation, five psychotherapy sessions and a no-show.
    pub(super) async fn weekly_sessions(&mut self, goals: &[String]) -> anyhow::Result<Vec<String>> {
        let r = self
            .billing
            .open_account(proto::OpenAccountRequest {
                context: at(self.day(1, 11)),
                account_id: self.outcome.account_id.clone(),
                client_id: self.outcome.client_id.clone(),
            })
            .await
            .context("opening the billing account")?;
        self.record("billing account opened", r);
        use proto::schedule_session_request::Kind;
        let mut charges = Vec::new();
        for week in 0..7_i64 {
            let starts = self.day(2 + 7 * week, 15);
            let (kind, minutes, modality) = match week {
                0 => (Kind::Intake, 60, proto::SessionModality::InPerson),
                2 | 5 => (Kind::Psychotherapy, 53, proto::SessionModality::Video),
                _ => (Kind::Psychotherapy, 45, proto::SessionModality::InPerson),
            };
            let session = id();
            let r = self
                .sessions
                .schedule_session(proto::ScheduleSessionRequest {
                    context: at(starts - Duration::days(3)),
                    session_id: session.clone(),
                    client_id: self.outcome.client_id.clone(),
                    episode_id: self.episode_id.clone(),
                    clinician_id: self.outcome.clinician_id.clone(),
                    kind: kind as i32,
                    starts_at: ts(starts),
                    planned_minutes: minutes,
                    planned_modality: modality as i32,
                })
                .await
                .context("scheduling a session")?;
            self.record("session scheduled", r);
            if week == 3 {
                let r = self
                    .sessions
                    .record_no_show(proto::RecordNoShowRequest {
                        context: at(starts + Duration::minutes(20)),
                        session_id: session,
                    })
                    .await
                    .context("recording a no-show")?;
                self.record("no-show recorded", r);
                continue;
            }
            self.hold_and_sign(&session, starts, minutes, modality, goals).await?;
            if week == 1 {
                self.addendum(&session, starts).await?;
            }
            charges.push(self.charge(&session, starts).await?);
        }
        Ok(charges)
    }
}

impl Demo {
    async fn hold_and_sign(
        &mut self,
        session: &str,
        starts: DateTime<Utc>,
        minutes: u32,
        modality: proto::SessionModality,
        goals: &[String],
    ) -> anyhow::Result<()> {
        let location = match modality {
            proto::SessionModality::InPerson => proto::hold_session_request::PatientLocation::Unspecified,
            _ => proto::hold_session_request::PatientLocation::Home,
        };
        let ended = starts + Duration::minutes(i64::from(minutes));
        let r = self
            .sessions
            .hold_session(proto::HoldSessionRequest {
                context: at(ended),
                session_id: session.to_owned(),
                started_at: ts(starts),
                actual_minutes: minutes,
                modality: modality as i32,
                patient_location: location as i32,
            })
            .await
            .context("holding a session")?;
        self.record("session held", r);
        let soap = proto::sign_progress_note_request::Soap {
            subjective: "Reports fewer worry episodes; sleep improving to six hours.".into(),
            objective: "Alert, oriented, affect anxious but reactive; no SI/HI.".into(),
            assessment: "GAD symptoms improving with exposure work.".into(),
            plan: "Continue weekly CBT; worry log daily; review in one week.".into(),
        };
        let r = self
            .sessions
            .sign_progress_note(proto::SignProgressNoteRequest {
                context: at(ended + Duration::hours(2)),
                session_id: session.to_owned(),
                clinician_id: self.outcome.clinician_id.clone(),
                content: Some(proto::sign_progress_note_request::Content::Soap(soap)),
                goals_addressed: goals.to_vec(),
                plan_id: self.outcome.plan_id.clone(),
            })
            .await
            .context("signing a progress note")?;
        self.record("progress note signed", r);
        Ok(())
    }

    async fn addendum(&mut self, session: &str, starts: DateTime<Utc>) -> anyhow::Result<()> {
        let r = self
            .sessions
            .append_addendum(proto::AppendAddendumRequest {
                context: because(starts + Duration::days(1), "collateral call received after signing"),
                session_id: session.to_owned(),
                addendum_id: id(),
                kind: proto::append_addendum_request::Kind::LateEntry as i32,
                author_id: self.outcome.clinician_id.clone(),
                text: "Spouse called the next morning to confirm the safety plan is in place.".into(),
            })
            .await
            .context("appending an addendum")?;
        self.record("note addendum appended", r);
        Ok(())
    }

    async fn charge(&mut self, session: &str, starts: DateTime<Utc>) -> anyhow::Result<String> {
        let charge = id();
        let r = self
            .billing
            .create_charge(proto::CreateChargeRequest {
                context: at(starts + Duration::days(1)),
                account_id: self.outcome.account_id.clone(),
                charge_id: charge.clone(),
                session_id: session.to_owned(),
                plan_id: self.outcome.plan_id.clone(),
                interactive_complexity: false,
                diagnosis_pointers: vec![1],
            })
            .await
            .context("creating a charge")?;
        self.record("charge created", r);
        Ok(charge)
    }
}
