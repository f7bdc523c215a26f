//! Given/when/then: assessments, risk flags, diagnoses, estimates and closing the episode.

use super::*;

#[test]
fn an_assessment_records_total_and_severity() {
    let c = clinic();
    let s = c.in_treatment();
    let events = when(&c.assess(AssessmentId::new_v4(), Instrument::Gad7, &[2, 2, 2, 2, 1, 1, 1]), &s).unwrap();
    let [IntakeEvent::AssessmentRecorded(e)] = &events[..] else { panic!("{events:?}") };
    assert_eq!((e.total, e.severity, e.episode_id), (11, Severity::Moderate, c.episode));
}

/// Administered at 10:00 on day 0: recorded the same day it is on time; recorded two days
/// later it is a late entry referring to the administration; the practice's threshold decides.
#[test]
fn given_an_assessment_recorded_past_the_threshold_then_it_is_labelled_a_late_entry() {
    let c = clinic();
    let s = c.in_treatment();
    let label = |ctx: &IntakeContext| {
        let events = decide(&c.assess(AssessmentId::new_v4(), Instrument::Gad7, &[0; 7]), &s, ctx).unwrap();
        let [IntakeEvent::AssessmentRecorded(e)] = &events[..] else { panic!("{events:?}") };
        e.late_entry
    };
    assert_eq!(label(&IntakeContext::at(now())), None);
    let late = label(&IntakeContext::at(at(2, 9))).expect("a late entry");
    assert_eq!((late.refers_to, late.written_at, late.threshold_hours), (at(0, 10), at(2, 9), 24));
    let lenient = IntakeContext::at(at(2, 9)).with_late_entry_after(Duration::hours(72));
    assert_eq!(label(&lenient), None, "within the practice's 72 hours");
}

#[test]
fn given_phq9_item_nine_above_zero_then_a_risk_flag_is_raised() {
    let c = clinic();
    let s = c.in_treatment();
    let id = AssessmentId::new_v4();
    let events = when(&c.assess(id, Instrument::Phq9, &[1, 1, 1, 1, 1, 1, 1, 1, 2]), &s).unwrap();
    assert_eq!(
        events.iter().map(IntakeEvent::event_type).collect::<Vec<_>>(),
        ["AssessmentRecorded", "RiskFlagRaised"]
    );
    let no_flag = when(&c.assess(id, Instrument::Phq9, &[3, 3, 3, 3, 3, 3, 3, 3, 0]), &s).unwrap();
    assert_eq!(no_flag.len(), 1, "a severe total without item 9 raises no flag");
}

#[test]
fn assessments_need_an_open_episode_a_unique_id_and_a_past_time() {
    let c = clinic();
    let id = AssessmentId::new_v4();
    let no_episode = c.given(&[c.register(Payer::SelfPay)]);
    assert_eq!(code_of(when(&c.assess(id, Instrument::Gad7, &[0; 7]), &no_episode)), "EPISODE_NOT_OPEN");
    let s = c.given(&[c.register(Payer::SelfPay), c.open(), c.assess(id, Instrument::Gad7, &[0; 7])]);
    assert_eq!(code_of(when(&c.assess(id, Instrument::Gad7, &[0; 7]), &s)), "ASSESSMENT_ALREADY_EXISTS");
    let future = IntakeCommand::RecordAssessment {
        assessment_id: AssessmentId::new_v4(),
        scores: AssessmentScores::parse(Instrument::Gad7, &[0; 7]).unwrap(),
        administered_by: c.staff,
        administered_at: now() + Duration::minutes(5),
    };
    assert_eq!(code_of(when(&future, &s)), "INVALID_ARGUMENT");
}

#[test]
fn a_risk_flag_is_acknowledged_once() {
    let c = clinic();
    let id = AssessmentId::new_v4();
    let ack = IntakeCommand::AcknowledgeRiskFlag {
        assessment_id: id,
        clinician_id: c.clinician,
        action_taken: reason("Safety plan completed; no intent."),
    };
    let s =
        c.given(&[c.register(Payer::SelfPay), c.open(), c.assess(id, Instrument::Phq9, &[0, 0, 0, 0, 0, 0, 0, 0, 1])]);
    assert_eq!(s.unacknowledged_risk_flags(c.episode), 1);
    let s2 = c.given(&[
        c.register(Payer::SelfPay),
        c.open(),
        c.assess(id, Instrument::Phq9, &[0, 0, 0, 0, 0, 0, 0, 0, 1]),
        ack.clone(),
    ]);
    assert_eq!(s2.unacknowledged_risk_flags(c.episode), 0);
    assert_eq!(code_of(when(&ack, &s2)), "RISK_FLAG_ALREADY_ACKNOWLEDGED");
    let unknown = IntakeCommand::AcknowledgeRiskFlag {
        assessment_id: AssessmentId::new_v4(),
        clinician_id: c.clinician,
        action_taken: reason("x"),
    };
    assert_eq!(code_of(when(&unknown, &s)), "RISK_FLAG_NOT_FOUND");
}

#[test]
fn diagnoses_are_recorded_in_the_open_episode_once() {
    let c = clinic();
    let no_episode = c.given(&[c.register(Payer::SelfPay)]);
    assert_eq!(code_of(when(&c.diagnose("F32.1"), &no_episode)), "EPISODE_NOT_OPEN");
    let s = c.given(&[c.register(Payer::SelfPay), c.open(), c.diagnose("F32.1"), c.diagnose("F41.1")]);
    assert_eq!(s.active_diagnoses(c.episode), [dx("F32.1"), dx("F41.1")]);
    assert_eq!(code_of(when(&c.diagnose("F32.1"), &s)), "DIAGNOSIS_ALREADY_ACTIVE");
}

#[test]
fn revising_a_diagnosis_resolves_or_recodes_it_in_place() {
    let c = clinic();
    let revise = |from: &str, revision| IntakeCommand::ReviseDiagnosis {
        code: code(from),
        revision,
        reason: reason("reassessed"),
        clinician_id: c.clinician,
    };
    let recode = revise("F32.1", DiagnosisRevision::ChangedTo { diagnosis: dx("F33.1") });
    let s = c.given(&[c.register(Payer::SelfPay), c.open(), c.diagnose("F32.1"), c.diagnose("F41.1"), recode]);
    assert_eq!(s.active_diagnoses(c.episode), [dx("F33.1"), dx("F41.1")]);
    let s = c.given(&[
        c.register(Payer::SelfPay),
        c.open(),
        c.diagnose("F32.1"),
        c.diagnose("F41.1"),
        revise("F41.1", DiagnosisRevision::Resolved),
    ]);
    assert_eq!(s.active_diagnoses(c.episode), [dx("F32.1")]);
    assert_eq!(code_of(when(&revise("F41.1", DiagnosisRevision::Resolved), &s)), "DIAGNOSIS_NOT_ACTIVE");
    let s = c.given(&[c.register(Payer::SelfPay), c.open(), c.diagnose("F32.1"), c.diagnose("F41.1")]);
    let clash = revise("F32.1", DiagnosisRevision::ChangedTo { diagnosis: dx("F41.1") });
    assert_eq!(code_of(when(&clash, &s)), "DIAGNOSIS_ALREADY_ACTIVE");
}

#[test]
fn a_good_faith_estimate_is_for_self_pay_clients_only() {
    let c = clinic();
    let lines = vec![
        EstimateRequestLine { cpt: CptCode::DiagnosticEvaluation, units: 1, unit_fee: cents(20_000) },
        EstimateRequestLine { cpt: CptCode::Psychotherapy45, units: 12, unit_fee: cents(13_000) },
    ];
    let gfe = IntakeCommand::IssueGoodFaithEstimate { estimate_id: EstimateId::new_v4(), lines, issued_by: c.staff };
    let insured_client = c.given(&[c.register(insured())]);
    assert_eq!(code_of(when(&gfe, &insured_client)), "SELF_PAY_ONLY");
    let s = c.given(&[c.register(Payer::SelfPay)]);
    let events = when(&gfe, &s).unwrap();
    let [IntakeEvent::GoodFaithEstimateIssued(e)] = &events[..] else { panic!() };
    assert_eq!(e.total.cents(), 20_000 + 12 * 13_000);
    let s = events.iter().fold(s, evolve);
    assert_eq!(code_of(when(&gfe, &s)), "ESTIMATE_ALREADY_EXISTS");
    let empty =
        IntakeCommand::IssueGoodFaithEstimate { estimate_id: EstimateId::new_v4(), lines: vec![], issued_by: c.staff };
    assert_eq!(code_of(when(&empty, &s)), "INVALID_ARGUMENT");
}

#[test]
fn given_an_estimate_of_add_on_codes_alone_when_issued_then_it_is_refused() {
    let c = clinic();
    let s = c.given(&[c.register(Payer::SelfPay)]);
    let estimate = |cpts: &[CptCode]| IntakeCommand::IssueGoodFaithEstimate {
        estimate_id: EstimateId::new_v4(),
        lines: cpts.iter().map(|&cpt| EstimateRequestLine { cpt, units: 1, unit_fee: cents(3_000) }).collect(),
        issued_by: c.staff,
    };
    assert_eq!(code_of(when(&estimate(&[CptCode::InteractiveComplexity]), &s)), "ADDON_REQUIRES_PRIMARY");
    assert_eq!(
        code_of(when(&estimate(&[CptCode::Crisis, CptCode::InteractiveComplexity]), &s)),
        "ADDON_REQUIRES_PRIMARY",
        "90785 is never reported with crisis codes"
    );
    assert!(when(&estimate(&[CptCode::Psychotherapy45, CptCode::InteractiveComplexity]), &s).is_ok());
}

#[test]
fn given_unsigned_notes_when_the_episode_is_closed_then_unsigned_notes() {
    let c = clinic();
    let s = c.in_treatment();
    let r = decide(&c.close(), &s, &IntakeContext::at(now()).with_unsigned_notes(2));
    assert_eq!(code_of(r), "UNSIGNED_NOTES");
}

#[test]
fn given_an_unacknowledged_risk_flag_when_the_episode_is_closed_then_refused() {
    let c = clinic();
    let s = c.given(&[
        c.register(Payer::SelfPay),
        c.open(),
        c.assess(AssessmentId::new_v4(), Instrument::Phq9, &[0, 0, 0, 0, 0, 0, 0, 0, 3]),
    ]);
    assert_eq!(code_of(when(&c.close(), &s)), "RISK_FLAG_UNACKNOWLEDGED");
}

#[test]
fn given_a_closed_episode_then_no_further_clinical_activity() {
    let c = clinic();
    let s = c.given(&[c.register(Payer::SelfPay), c.open(), c.close()]);
    assert_eq!(s.episode_status(c.episode), EpisodeStatus::Closed);
    assert_eq!(code_of(when(&c.close(), &s)), "EPISODE_CLOSED");
    assert_eq!(code_of(when(&c.diagnose("F32.1"), &s)), "EPISODE_NOT_OPEN");
    let unknown = IntakeCommand::CloseEpisode {
        episode_id: EpisodeId::new_v4(),
        clinician_id: c.clinician,
        discharge_summary: note("x"),
    };
    assert_eq!(code_of(when(&unknown, &s)), "EPISODE_NOT_FOUND");
    assert_eq!(s.episode_status(EpisodeId::new_v4()), EpisodeStatus::Unknown);
}
