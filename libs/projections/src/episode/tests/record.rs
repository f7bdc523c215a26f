//! The client stream's facts in the view: demographics, episodes, consents, assessments, risk
//! flags, diagnoses and estimates.

use super::*;
use crate::episode::{ConsentStatus, DiagnosisStatus, EpisodeStatus};

fn phq9(items: &[u32]) -> AssessmentScores {
    AssessmentScores::parse(Instrument::Phq9, items).expect("valid PHQ-9")
}

#[test]
fn registration_and_episode_fill_demographics_payer_and_clinician() {
    let mut chart = Chart::new();
    chart.register();

    let view = chart.view();

    let demographics = view.demographics.as_ref().expect("demographics");
    assert_eq!(demographics.legal_name.as_str(), "Ada Lovelace");
    assert_eq!(demographics.date_of_birth, Some(date(1990, 12, 10)));
    assert!(matches!(view.payer(), Some(Payer::Insurance { .. })));
    assert_eq!(view.registered_at, Some(at(0, 9)));
    assert!(view.registered_by.is_some());
    assert_eq!(view.episodes.len(), 1);
    let ep = &view.episodes[0];
    assert_eq!((ep.episode_id, ep.clinician_id, ep.opened_at), (chart.episode, chart.clinician, at(0, 10)));
    assert_eq!(ep.status, EpisodeStatus::Open);
    assert_eq!(view.assigned_clinician(), Some(chart.clinician));
    assert_eq!(view.client_id, Some(chart.client));
}

#[test]
fn a_revoked_consent_shows_revoked_with_its_reason_and_time() {
    let mut chart = Chart::new();
    chart.register();
    let treatment = chart.consent(ConsentKind::Treatment);
    let telehealth = chart.consent(ConsentKind::Telehealth);

    chart.intake(ConsentRevoked {
        consent_id: telehealth,
        reason: reason("Prefers in-person sessions only"),
        revoked_at: at(3, 9),
    });
    let view = chart.view();

    let by_id = |id| view.consents.iter().find(|c| c.consent_id == id).expect("consent");
    assert_eq!(by_id(treatment).status_at(at(4, 0)), ConsentStatus::Active);
    assert_eq!(
        by_id(telehealth).status_at(at(4, 0)),
        ConsentStatus::Revoked { reason: reason("Prefers in-person sessions only"), revoked_at: at(3, 9) }
    );
    assert_eq!(by_id(telehealth).status_at(at(2, 0)), ConsentStatus::Active, "active before the revocation");
    assert_eq!(by_id(telehealth).status_at(at(-1, 0)), ConsentStatus::NotYetGiven);
    let json = serde_json::to_string(&view).expect("serializes");
    assert!(json.contains("Prefers in-person sessions only"));
}

#[test]
fn a_release_of_information_expires_after_its_last_day() {
    let mut chart = Chart::new();
    chart.register();
    let roi = ConsentKind::ReleaseOfInformation(ReleaseOfInformation {
        recipient: short("Dr. Babbage, PCP"),
        purpose: short("Coordination of care"),
        expires_on: date(2026, 6, 30),
    });

    chart.consent(roi);
    let consent = chart.view().consents[0].clone();

    assert_eq!(consent.expires_on, Some(date(2026, 6, 30)));
    let last_day = date(2026, 6, 30).and_hms_opt(23, 0, 0).expect("time").and_utc();
    assert_eq!(consent.status_at(last_day), ConsentStatus::Active);
    assert_eq!(
        consent.status_at(last_day + chrono::Duration::hours(1)),
        ConsentStatus::Expired { expired_after: date(2026, 6, 30) }
    );
}

#[test]
fn assessments_keep_items_total_severity_and_risk_flags_their_acknowledgement() {
    let mut chart = Chart::new();
    chart.register();
    let (assessment_id, episode_id) = (AssessmentId::new_v4(), chart.episode);
    let scores = phq9(&[2, 2, 2, 1, 1, 1, 1, 0, 1]);
    let administered_by = ActorId::new_v4();
    chart.intake(AssessmentRecorded {
        assessment_id,
        episode_id,
        total: scores.total(),
        severity: scores.severity(),
        scores,
        administered_by,
        administered_at: at(1, 9),
        late_entry: None,
    });
    let item9_score = ItemScore::new(1).expect("score");
    chart.intake(RiskFlagRaised { assessment_id, episode_id, item9_score, raised_at: at(1, 9) });
    assert!(chart.view().risk_flags[0].acknowledged.is_none());

    let acknowledged_by = chart.clinician;
    let action_taken = reason("Safety plan reviewed; no intent or plan");
    chart.intake(RiskFlagAcknowledged { assessment_id, acknowledged_by, action_taken, acknowledged_at: at(1, 11) });
    let view = chart.view();

    let a = &view.assessments[0];
    let items: Vec<u8> = a.scores.items().iter().map(ItemScore::get).collect();
    assert_eq!(
        (a.scores.instrument(), items.as_slice(), a.total),
        (Instrument::Phq9, &[2, 2, 2, 1, 1, 1, 1, 0, 1][..], 11)
    );
    assert_eq!((a.severity, a.administered_by, a.administered_at), (Severity::Moderate, administered_by, at(1, 9)));
    let flag = &view.risk_flags[0];
    assert_eq!((flag.assessment_id, flag.item9_score, flag.raised_at), (assessment_id, 1, at(1, 9)));
    let ack = flag.acknowledged.as_ref().expect("acknowledged");
    assert_eq!((ack.acknowledged_by, ack.acknowledged_at), (chart.clinician, at(1, 11)));
}

#[test]
fn a_recoded_diagnosis_keeps_its_place_and_history_and_a_resolved_one_stays_visible() {
    let mut chart = Chart::new();
    chart.register();
    let (episode_id, diagnosed_by) = (chart.episode, chart.clinician);
    for (code, hour) in [("F32.1", 9), ("F41.1", 10)] {
        chart.intake(DiagnosisRecorded { episode_id, diagnosis: dx(code), diagnosed_by, recorded_at: at(1, hour) });
    }

    let revise = |code: &str, revision, why: &str| DiagnosisRevised {
        episode_id,
        code: icd(code),
        revision,
        reason: reason(why),
        revised_by: diagnosed_by,
        revised_at: at(20, 9),
    };
    chart.intake(revise("F32.1", DiagnosisRevision::ChangedTo { diagnosis: dx("F33.1") }, "Recurrent episode"));
    chart.intake(revise("F41.1", DiagnosisRevision::Resolved, "Remission"));
    let view = chart.view();

    let codes: Vec<_> = view.diagnoses.iter().map(|d| (d.code.as_str(), d.status)).collect();
    assert_eq!(codes, [("F33.1", DiagnosisStatus::Active), ("F41.1", DiagnosisStatus::Resolved)]);
    let recoded = &view.diagnoses[0];
    assert_eq!(recoded.code_set.year(), 2026);
    assert_eq!((recoded.history[0].previous_code.as_str(), recoded.history[0].resolved), ("F32.1", false));
    assert_eq!(view.diagnoses[1].history[0].reason.as_str(), "Remission");
    assert_eq!(view.active_diagnoses(episode_id).count(), 1);
}

#[test]
fn an_estimate_and_a_closed_episode_with_its_discharge_summary() {
    let mut chart = Chart::new();
    chart.register();
    let fee = cents(15_000);
    let line = EstimateLine {
        cpt: CptCode::Psychotherapy45,
        units: 12,
        unit_fee: fee,
        amount: fee.checked_times(12).unwrap(),
    };
    let estimate_id = EstimateId::new_v4();
    chart.intake(GoodFaithEstimateIssued {
        estimate_id,
        lines: vec![line],
        total: fee.checked_times(12).unwrap(),
        issued_by: ActorId::new_v4(),
        issued_at: at(0, 11),
    });
    let (episode_id, closed_by) = (chart.episode, chart.clinician);

    chart.intake(EpisodeClosed { episode_id, closed_by, discharge_summary: note("Goals met."), closed_at: at(90, 9) });
    let view = chart.view();

    assert_eq!((view.estimates[0].estimate_id, view.estimates[0].total), (estimate_id, cents(180_000)));
    let ep = &view.episodes[0];
    assert_eq!(ep.status, EpisodeStatus::Closed);
    let closed = ep.closed.as_ref().expect("closure");
    assert_eq!((closed.closed_at, closed.discharge_summary.as_str()), (at(90, 9), "Goals met."));
    assert!(view.open_episode().is_none());
    assert_eq!(view.assigned_clinician(), Some(chart.clinician), "the last episode's clinician");
}

/// 45 CFR 149.620: charges $400 or more past the estimate of their period make the client
/// eligible for patient-provider dispute resolution; $399.99 does not. A new estimate covers the
/// services from its issue on: charges already billed stay compared with the estimate they were
/// given under, later charges with the new one.
#[test]
fn charges_400_dollars_past_the_estimate_of_their_period_make_the_client_eligible_for_dispute_resolution() {
    let mut chart = Chart::new();
    chart.register();
    let estimate = |total: i64, issued_at| GoodFaithEstimateIssued {
        estimate_id: EstimateId::new_v4(),
        lines: vec![EstimateLine {
            cpt: CptCode::Psychotherapy45,
            units: 1,
            unit_fee: cents(total),
            amount: cents(total),
        }],
        total: cents(total),
        issued_by: ActorId::new_v4(),
        issued_at,
    };
    let episode = chart.episode;
    let charge = |day, amount| crate::testing::charge(ChargeId::new_v4(), episode, day, amount);

    chart.billing(charge(date(2026, 3, 1), 500_000));
    assert_eq!(chart.view().billing.dispute_resolution, None, "a charge before any estimate compares with none");
    let first = estimate(50_000, at(0, 11));
    let first_id = first.estimate_id;
    chart.intake(first);
    chart.billing(charge(date(2026, 3, 2), 89_999));
    assert_eq!(chart.view().billing.dispute_resolution, None, "$399.99 over");
    chart.billing(charge(date(2026, 3, 9), 1));
    let eligible = chart.view().billing.dispute_resolution.expect("eligible at $400.00 over");
    assert_eq!(
        (eligible.estimate_id, eligible.estimated, eligible.billed, eligible.over_by),
        (first_id, cents(50_000), cents(90_000), cents(40_000))
    );
    assert_eq!((eligible.from, eligible.until), (date(2026, 3, 2), date(2027, 3, 2)));

    let second = estimate(60_000, at(14, 11));
    let second_id = second.estimate_id;
    chart.intake(second);
    chart.billing(charge(date(2026, 3, 20), 59_000));
    let view = chart.view();
    let periods: Vec<_> =
        view.billing.estimate_periods.iter().map(|p| (p.estimate_id, p.from, p.until, p.billed)).collect();
    assert_eq!(
        periods,
        [
            (first_id, date(2026, 3, 2), date(2026, 3, 16), cents(90_000)),
            (second_id, date(2026, 3, 16), date(2027, 3, 16), cents(59_000)),
        ],
        "per period, not in total"
    );
    let still = view.billing.dispute_resolution.expect("the first period's bill still exceeds its estimate");
    assert_eq!(still.estimate_id, first_id);
    assert_eq!(view.billing.totals.charged, cents(649_000), "in total far above both, which is not the test");
}
