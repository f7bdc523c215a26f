//! Caseload alerts: what a clinician must act on across their clients — notes left unsigned,
//! plan reviews coming due, risk flags nobody has responded to. Computed from an episode view at
//! query time, because every one of them depends on the clock.

use carelog_domain::types::{AssessmentId, ClientId, ClinicianId, EpisodeId, PlanId, SessionId};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::episode::{DisputeEligibility, EpisodeStatus, EpisodeView, SessionStatus};

/// A progress note is due within this long after the session ends.
pub const NOTE_SIGNING_WINDOW: Duration = Duration::hours(72);
/// A plan review shows on the caseload this many days before it is due.
pub const REVIEW_WARNING_DAYS: i64 = 14;

/// Something a clinician must act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseloadAlert {
    pub client_id: Option<ClientId>,
    pub episode_id: EpisodeId,
    /// Who should act: the session's clinician, the plan's signer, or the episode's clinician.
    pub clinician_id: Option<ClinicianId>,
    pub kind: AlertKind,
}

/// What the alert is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AlertKind {
    /// PHQ-9 item 9 was answered above zero and no clinician has acknowledged it.
    UnacknowledgedRiskFlag { assessment_id: AssessmentId, item9_score: u8, raised_at: DateTime<Utc> },
    /// The session ended more than [`NOTE_SIGNING_WINDOW`] ago and its note is unsigned.
    UnsignedNote { session_id: SessionId, ended_at: DateTime<Utc>, hours_since: i64 },
    /// The review date has passed.
    PlanReviewOverdue { plan_id: PlanId, due: NaiveDate, days_overdue: i64 },
    /// The review is due within [`REVIEW_WARNING_DAYS`] (0: today).
    PlanReviewDue { plan_id: PlanId, due: NaiveDate, days_left: i64 },
    /// A self-pay session is scheduled and no Good Faith Estimate covers it (45 CFR 149.610).
    GoodFaithEstimateMissing { session_id: SessionId, starts_at: DateTime<Utc>, due: NaiveDate },
    /// Charges exceed the estimate of their period by $400 or more (45 CFR 149.620): the client
    /// may start patient-provider dispute resolution.
    DisputeResolutionEligible { eligibility: DisputeEligibility },
}

/// The alerts on one client's record at `now`: risk flags first, then notes, then reviews, then
/// the No Surprises Act's (missing estimates, dispute eligibility), each in record order, so the
/// same view and time always give the same list.
pub fn caseload_alerts(view: &EpisodeView, now: DateTime<Utc>) -> Vec<CaseloadAlert> {
    let client_id = view.client_id;
    let episode_clinician =
        |episode: EpisodeId| view.episodes.iter().find(|e| e.episode_id == episode).map(|e| e.clinician_id);
    let episode_open =
        |episode: EpisodeId| view.episodes.iter().any(|e| e.episode_id == episode && e.status == EpisodeStatus::Open);
    let mut alerts = Vec::new();

    for flag in view.risk_flags.iter().filter(|f| f.acknowledged.is_none()) {
        alerts.push(CaseloadAlert {
            client_id,
            episode_id: flag.episode_id,
            clinician_id: episode_clinician(flag.episode_id),
            kind: AlertKind::UnacknowledgedRiskFlag {
                assessment_id: flag.assessment_id,
                item9_score: flag.item9_score,
                raised_at: flag.raised_at,
            },
        });
    }

    for session in view.sessions.iter().filter(|s| s.status == SessionStatus::Held && s.note.is_none()) {
        let Some(held) = &session.held else { continue };
        let ended_at = held.ended_at();
        if now - ended_at > NOTE_SIGNING_WINDOW {
            alerts.push(CaseloadAlert {
                client_id,
                episode_id: session.episode_id,
                clinician_id: Some(session.clinician_id),
                kind: AlertKind::UnsignedNote {
                    session_id: session.session_id,
                    ended_at,
                    hours_since: (now - ended_at).num_hours(),
                },
            });
        }
    }

    let today = now.date_naive();
    // A discharged plan or a closed episode has no more reviews; an unsigned plan has none yet.
    let reviewable = view.plans.iter().filter(|p| !p.discharged && p.signed_version.is_some());
    for plan in reviewable.filter(|p| episode_open(p.episode_id)) {
        let Some(due) = plan.next_review_due else { continue };
        let days_left = (due - today).num_days();
        let kind = if days_left < 0 {
            AlertKind::PlanReviewOverdue { plan_id: plan.plan_id, due, days_overdue: -days_left }
        } else if days_left <= REVIEW_WARNING_DAYS {
            AlertKind::PlanReviewDue { plan_id: plan.plan_id, due, days_left }
        } else {
            continue;
        };
        let signer = plan.last_signature().map(|s| s.signed_by);
        alerts.push(CaseloadAlert {
            client_id,
            episode_id: plan.episode_id,
            clinician_id: signer.or(episode_clinician(plan.episode_id)),
            kind,
        });
    }

    let missing = view.sessions.iter().filter(|s| s.status == SessionStatus::Scheduled && episode_open(s.episode_id));
    for session in missing {
        let Some(due) = session.estimate_due_by else { continue };
        alerts.push(CaseloadAlert {
            client_id,
            episode_id: session.episode_id,
            clinician_id: Some(session.clinician_id),
            kind: AlertKind::GoodFaithEstimateMissing {
                session_id: session.session_id,
                starts_at: session.starts_at,
                due,
            },
        });
    }
    if let (Some(eligibility), Some(episode)) =
        (&view.billing.dispute_resolution, view.open_episode().or(view.episodes.last()))
    {
        alerts.push(CaseloadAlert {
            client_id,
            episode_id: episode.episode_id,
            clinician_id: Some(episode.clinician_id),
            kind: AlertKind::DisputeResolutionEligible { eligibility: eligibility.clone() },
        });
    }
    alerts
}

#[cfg(test)]
mod tests {
    use carelog_domain::intake::{EpisodeClosed, RiskFlagAcknowledged, RiskFlagRaised};
    use carelog_domain::planning::{PlanReviewed, ReviewOutcome, TreatmentPlanDrafted, TreatmentPlanSigned};
    use carelog_domain::types::{AssessmentId, ItemScore};

    use super::*;
    use crate::episode::tests::Chart;
    use crate::testing::*;

    /// A chart whose plan was signed with a review due on 2026-06-01.
    fn signed_plan() -> Chart {
        let mut chart = Chart::new();
        chart.register();
        let (plan_id, client_id, episode_id, clinician) = (chart.plan, chart.client, chart.episode, chart.clinician);
        let addresses = vec![icd("F32.1")];
        let drafted_at = at(1, 9);
        chart.planning(TreatmentPlanDrafted {
            plan_id,
            client_id,
            episode_id,
            version: 1,
            addresses,
            drafted_by: clinician,
            drafted_at,
        });
        let next_review_due = date(2026, 6, 1);
        chart.planning(TreatmentPlanSigned { version: 1, signed_by: clinician, signed_at: at(1, 10), next_review_due });
        chart
    }

    fn kinds(chart: &Chart, now: DateTime<Utc>) -> Vec<AlertKind> {
        caseload_alerts(&chart.view(), now).into_iter().map(|a| a.kind).collect()
    }

    fn noon(d: NaiveDate) -> DateTime<Utc> {
        d.and_hms_opt(12, 0, 0).map(|t| t.and_utc()).expect("valid time")
    }

    #[test]
    fn an_unsigned_note_is_flagged_only_after_72_hours_from_the_end_of_the_session() {
        let mut chart = Chart::new();
        chart.register();
        let session = chart.schedule(at(7, 15));
        chart.hold(session, at(7, 15), 50);
        let ended_at = at(7, 15) + Duration::minutes(50);

        assert_eq!(kinds(&chart, ended_at + NOTE_SIGNING_WINDOW), []);
        let late = ended_at + NOTE_SIGNING_WINDOW + Duration::seconds(1);
        assert_eq!(kinds(&chart, late), [AlertKind::UnsignedNote { session_id: session, ended_at, hours_since: 72 }]);
        let alert = &caseload_alerts(&chart.view(), late)[0];
        assert_eq!((alert.clinician_id, alert.client_id), (Some(chart.clinician), Some(chart.client)));

        chart.sign_note(session, Vec::new(), late);
        assert_eq!(kinds(&chart, late + Duration::days(30)), []);
    }

    #[test]
    fn a_plan_review_shows_14_days_ahead_and_turns_overdue_the_day_after() {
        let chart = signed_plan();
        let (plan_id, due) = (chart.plan, date(2026, 6, 1));

        assert_eq!(kinds(&chart, noon(date(2026, 5, 17))), [], "15 days ahead");
        assert_eq!(kinds(&chart, noon(date(2026, 5, 18))), [AlertKind::PlanReviewDue { plan_id, due, days_left: 14 }]);
        assert_eq!(kinds(&chart, noon(due)), [AlertKind::PlanReviewDue { plan_id, due, days_left: 0 }]);
        assert_eq!(
            kinds(&chart, noon(date(2026, 6, 2))),
            [AlertKind::PlanReviewOverdue { plan_id, due, days_overdue: 1 }]
        );
    }

    #[test]
    fn a_discharged_plan_or_a_closed_episode_has_no_review_alert() {
        let mut chart = signed_plan();
        let reviewed_by = chart.clinician;
        chart.planning(PlanReviewed {
            version: 1,
            progress: Vec::new(),
            outcome: ReviewOutcome::Discharge,
            reviewed_by,
            reviewed_at: at(60, 9),
            next_review_due: None,
        });

        assert_eq!(kinds(&chart, noon(date(2026, 7, 1))), [], "discharged");

        let mut chart = signed_plan();
        let (episode_id, closed_by) = (chart.episode, chart.clinician);
        let discharge_summary = note("Moved away; referred on.");
        chart.intake(EpisodeClosed { episode_id, closed_by, discharge_summary, closed_at: at(60, 9) });
        assert_eq!(kinds(&chart, noon(date(2026, 7, 1))), [], "episode closed");
    }

    #[test]
    fn an_unacknowledged_risk_flag_stays_on_the_caseload_until_acknowledged() {
        let mut chart = Chart::new();
        chart.register();
        let (assessment_id, episode_id) = (AssessmentId::new_v4(), chart.episode);
        let item9_score = ItemScore::new(2).expect("score");
        chart.intake(RiskFlagRaised { assessment_id, episode_id, item9_score, raised_at: at(1, 9) });

        let alerts = caseload_alerts(&chart.view(), at(1, 10));
        assert_eq!(alerts.len(), 1);
        assert_eq!(
            alerts[0].kind,
            AlertKind::UnacknowledgedRiskFlag { assessment_id, item9_score: 2, raised_at: at(1, 9) }
        );
        assert_eq!(alerts[0].clinician_id, Some(chart.clinician), "the episode's clinician");

        let (acknowledged_by, action_taken) = (chart.clinician, reason("Safety plan in place"));
        chart.intake(RiskFlagAcknowledged { assessment_id, acknowledged_by, action_taken, acknowledged_at: at(1, 11) });
        assert_eq!(kinds(&chart, at(1, 12)), []);
    }

    /// Warn-scheduled self-pay sessions show until an estimate covering them is issued; a past
    /// session stays marked in the record (the estimate was missing) but leaves the caseload.
    #[test]
    fn a_self_pay_session_without_an_estimate_shows_until_one_is_issued() {
        use carelog_domain::intake::{EstimateLine, GoodFaithEstimateIssued};
        use carelog_domain::types::{ActorId, CptCode, EstimateId};
        let mut chart = Chart::new();
        chart.register();
        let due = date(2026, 3, 5);
        let session = chart.schedule_with_estimate_due(at(14, 10), Some(due));
        let starts_at = at(14, 10);
        assert_eq!(
            kinds(&chart, at(0, 12)),
            [AlertKind::GoodFaithEstimateMissing { session_id: session, starts_at, due }]
        );
        assert_eq!(chart.view().session(session).and_then(|s| s.estimate_due_by), Some(due));

        let line = EstimateLine { cpt: CptCode::Psychotherapy45, units: 1, unit_fee: cents(100), amount: cents(100) };
        let (estimate_id, issued_by) = (EstimateId::new_v4(), ActorId::new_v4());
        let total = cents(100);
        chart.intake(GoodFaithEstimateIssued { estimate_id, lines: vec![line], total, issued_by, issued_at: at(1, 9) });
        assert_eq!(kinds(&chart, at(1, 12)), []);
        assert_eq!(chart.view().session(session).and_then(|s| s.estimate_due_by), None);
    }

    #[test]
    fn dispute_resolution_eligibility_is_a_caseload_alert() {
        use carelog_domain::intake::{EstimateLine, GoodFaithEstimateIssued};
        use carelog_domain::types::{ActorId, ChargeId, CptCode, EstimateId};
        let mut chart = Chart::new();
        chart.register();
        let line = EstimateLine { cpt: CptCode::Psychotherapy45, units: 1, unit_fee: cents(100), amount: cents(100) };
        let (estimate_id, issued_by) = (EstimateId::new_v4(), ActorId::new_v4());
        let total = cents(10_000);
        chart.intake(GoodFaithEstimateIssued { estimate_id, lines: vec![line], total, issued_by, issued_at: at(0, 9) });
        let episode = chart.episode;
        chart.billing(charge(ChargeId::new_v4(), episode, date(2026, 3, 3), 49_999));
        assert_eq!(kinds(&chart, at(2, 12)), [], "$399.99 over");
        chart.billing(charge(ChargeId::new_v4(), episode, date(2026, 3, 4), 1));
        let alerts = caseload_alerts(&chart.view(), at(2, 12));
        let [alert] = &alerts[..] else { panic!("{alerts:?}") };
        let AlertKind::DisputeResolutionEligible { eligibility } = &alert.kind else { panic!("{alert:?}") };
        assert_eq!((eligibility.estimate_id, eligibility.over_by), (estimate_id, cents(40_000)));
        assert_eq!(alert.clinician_id, Some(chart.clinician));
    }
}
