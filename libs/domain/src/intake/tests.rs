//! Given/when/then tests of the client aggregate's rules.

use chrono::Duration;

use super::*;
use crate::testing::*;
use crate::types::*;

struct Clinic {
    client: ClientId,
    episode: EpisodeId,
    clinician: ClinicianId,
    staff: ActorId,
}

fn clinic() -> Clinic {
    Clinic {
        client: ClientId::new_v7(),
        episode: EpisodeId::new_v4(),
        clinician: ClinicianId::new_v4(),
        staff: ActorId::new_v4(),
    }
}

fn demographics(payer: Payer) -> Demographics {
    Demographics {
        legal_name: name("Jordan Rivera"),
        preferred_name: Some(name("Jo")),
        date_of_birth: date(1990, 5, 17),
        contact: Contact {
            phone: Some(PhoneNumber::parse("+1 555 010 0199").unwrap()),
            email: Some(Email::parse("jo@example.org").unwrap()),
            address: None,
        },
        payer,
    }
}

fn insured() -> Payer {
    Payer::Insurance {
        payer_name: short("Blue Plan"),
        member_id: MemberId::parse("XYZ123456").unwrap(),
    }
}

impl Clinic {
    fn register(&self, payer: Payer) -> IntakeCommand {
        IntakeCommand::RegisterClient {
            client_id: self.client,
            demographics: demographics(payer),
            registered_by: self.staff,
        }
    }

    fn open(&self) -> IntakeCommand {
        IntakeCommand::OpenEpisode {
            episode_id: self.episode,
            clinician_id: self.clinician,
            opened_at: at(0, 9),
        }
    }

    fn consent(&self, id: ConsentId, kind: ConsentKind) -> IntakeCommand {
        IntakeCommand::GiveConsent {
            consent_id: id,
            kind,
            given_at: at(0, 9),
            recorded_by: self.staff,
        }
    }

    fn assess(&self, id: AssessmentId, instrument: Instrument, items: &[u32]) -> IntakeCommand {
        IntakeCommand::RecordAssessment {
            assessment_id: id,
            scores: AssessmentScores::parse(instrument, items).unwrap(),
            administered_by: self.staff,
            administered_at: at(0, 10),
        }
    }

    fn diagnose(&self, c: &str) -> IntakeCommand {
        IntakeCommand::RecordDiagnosis {
            diagnosis: dx(c),
            clinician_id: self.clinician,
        }
    }

    fn close(&self) -> IntakeCommand {
        IntakeCommand::CloseEpisode {
            episode_id: self.episode,
            clinician_id: self.clinician,
            discharge_summary: note("Goals met; relapse-prevention plan reviewed."),
        }
    }

    /// Runs commands from an empty stream, failing on the first refusal.
    fn given(&self, cmds: &[IntakeCommand]) -> ClientState {
        cmds.iter().fold(ClientState::default(), |s, c| {
            let events = decide(c, &s, &IntakeContext::at(now())).unwrap();
            events.iter().fold(s, evolve)
        })
    }

    /// A registered self-pay client with an open episode.
    fn in_treatment(&self) -> ClientState {
        self.given(&[self.register(Payer::SelfPay), self.open()])
    }
}

fn when(cmd: &IntakeCommand, state: &ClientState) -> Result<Vec<IntakeEvent>, crate::DomainError> {
    decide(cmd, state, &IntakeContext::at(now()))
}

fn part2(right_to_revoke: bool, expiry: ConsentExpiry) -> ConsentKind {
    ConsentKind::Part2(Part2Consent {
        disclosing_program: short("Carelog Outpatient SUD Program"),
        recipient: short("Dr. Lee, primary care"),
        purpose: short("care coordination"),
        information: short("diagnosis and medication list"),
        expiry,
        signed_by: name("Jordan Rivera"),
        signed_on: date(2026, 3, 2),
        right_to_revoke_acknowledged: right_to_revoke,
    })
}

#[test]
fn registering_a_new_client_records_demographics_and_payer() {
    let c = clinic();
    let events = when(&c.register(insured()), &ClientState::default()).unwrap();
    assert!(matches!(&events[..], [IntakeEvent::ClientRegistered(e)] if e.client_id == c.client && e.registered_at == now()));
}

#[test]
fn given_a_registered_client_when_registered_again_then_client_already_registered() {
    let c = clinic();
    let s = c.given(&[c.register(Payer::SelfPay)]);
    assert_eq!(code_of(when(&c.register(Payer::SelfPay), &s)), "CLIENT_ALREADY_REGISTERED");
}

#[test]
fn a_date_of_birth_in_the_future_is_invalid() {
    let c = clinic();
    let IntakeCommand::RegisterClient { client_id, mut demographics, registered_by } = c.register(Payer::SelfPay) else {
        unreachable!()
    };
    demographics.date_of_birth = date(2030, 1, 1);
    let r = when(&IntakeCommand::RegisterClient { client_id, demographics, registered_by }, &ClientState::default());
    assert!(matches!(r, Err(crate::DomainError::Invalid(e)) if e.field == "date_of_birth"));
}

#[test]
fn given_no_registration_when_anything_else_then_client_not_found() {
    let c = clinic();
    assert_eq!(code_of(when(&c.open(), &ClientState::default())), "CLIENT_NOT_FOUND");
}

#[test]
fn given_an_open_episode_when_another_is_opened_then_episode_already_open() {
    let c = clinic();
    let s = c.in_treatment();
    let other = IntakeCommand::OpenEpisode { episode_id: EpisodeId::new_v4(), clinician_id: c.clinician, opened_at: now() };
    assert_eq!(code_of(when(&other, &s)), "EPISODE_ALREADY_OPEN");
    assert_eq!(code_of(when(&c.open(), &s)), "EPISODE_ALREADY_EXISTS");
}

#[test]
fn an_episode_cannot_be_opened_in_the_future() {
    let c = clinic();
    let s = c.given(&[c.register(Payer::SelfPay)]);
    let cmd = IntakeCommand::OpenEpisode { episode_id: c.episode, clinician_id: c.clinician, opened_at: now() + Duration::hours(1) };
    assert_eq!(code_of(when(&cmd, &s)), "INVALID_ARGUMENT");
}

#[test]
fn consents_are_active_until_revoked() {
    let c = clinic();
    let treatment = ConsentId::new_v4();
    let s = c.given(&[c.register(Payer::SelfPay), c.consent(treatment, ConsentKind::Treatment)]);
    assert!(s.has_active_consent(ConsentType::Treatment, now()));
    assert!(!s.has_active_consent(ConsentType::Telehealth, now()));
    let revoke = IntakeCommand::RevokeConsent { consent_id: treatment, reason: reason("client request"), revoked_at: at(0, 11) };
    let s = c.given(&[c.register(Payer::SelfPay), c.consent(treatment, ConsentKind::Treatment), revoke.clone()]);
    assert!(!s.has_active_consent(ConsentType::Treatment, now()));
    assert!(s.has_active_consent(ConsentType::Treatment, at(0, 10)), "it applied before revocation");
    assert_eq!(code_of(when(&revoke, &s)), "CONSENT_ALREADY_REVOKED");
}

#[test]
fn revoking_an_unknown_consent_or_before_it_was_given_is_refused() {
    let c = clinic();
    let id = ConsentId::new_v4();
    let s = c.given(&[c.register(Payer::SelfPay), c.consent(id, ConsentKind::Telehealth)]);
    let unknown = IntakeCommand::RevokeConsent { consent_id: ConsentId::new_v4(), reason: reason("x"), revoked_at: now() };
    assert_eq!(code_of(when(&unknown, &s)), "CONSENT_NOT_FOUND");
    let early = IntakeCommand::RevokeConsent { consent_id: id, reason: reason("x"), revoked_at: at(0, 8) };
    assert_eq!(code_of(when(&early, &s)), "INVALID_ARGUMENT");
    assert_eq!(code_of(when(&c.consent(id, ConsentKind::Treatment), &s)), "CONSENT_ALREADY_EXISTS");
}

#[test]
fn a_consent_cannot_be_dated_in_the_future() {
    let c = clinic();
    let s = c.given(&[c.register(Payer::SelfPay)]);
    let cmd = IntakeCommand::GiveConsent { consent_id: ConsentId::new_v4(), kind: ConsentKind::Treatment, given_at: now() + Duration::days(1), recorded_by: c.staff };
    assert!(matches!(when(&cmd, &s), Err(crate::DomainError::Invalid(e)) if e.field == "given_at"));
}

#[test]
fn a_release_of_information_expires_and_cannot_expire_before_it_is_given() {
    let c = clinic();
    let roi = |expires_on| ConsentKind::ReleaseOfInformation(ReleaseOfInformation { recipient: short("school counselor"), purpose: short("coordination"), expires_on });
    let s = c.given(&[c.register(Payer::SelfPay), c.consent(ConsentId::new_v4(), roi(date(2026, 3, 31)))]);
    assert!(s.has_active_consent(ConsentType::ReleaseOfInformation, now()));
    assert!(!s.has_active_consent(ConsentType::ReleaseOfInformation, at(30, 12)), "expired in April");
    assert_eq!(code_of(when(&c.consent(ConsentId::new_v4(), roi(date(2026, 3, 1))), &s)), "INVALID_ARGUMENT");
}

#[test]
fn a_part2_consent_needs_every_required_element() {
    let c = clinic();
    let s = c.given(&[c.register(Payer::SelfPay)]);
    let until = ConsentExpiry::OnDate { date: date(2027, 3, 2) };
    assert!(when(&c.consent(ConsentId::new_v4(), part2(true, until.clone())), &s).is_ok());
    let upon = ConsentExpiry::UponEvent { event: short("end of treatment") };
    assert!(when(&c.consent(ConsentId::new_v4(), part2(true, upon)), &s).is_ok());
    let r = when(&c.consent(ConsentId::new_v4(), part2(false, until)), &s);
    assert!(matches!(r, Err(crate::DomainError::Invalid(e)) if e.field == "kind.right_to_revoke_acknowledged"));
    let before = ConsentExpiry::OnDate { date: date(2026, 3, 1) };
    assert_eq!(code_of(when(&c.consent(ConsentId::new_v4(), part2(true, before)), &s)), "INVALID_ARGUMENT");
}

#[test]
fn a_part2_consent_cannot_be_signed_after_it_was_given() {
    let c = clinic();
    let s = c.given(&[c.register(Payer::SelfPay)]);
    let ConsentKind::Part2(mut p) = part2(true, ConsentExpiry::OnDate { date: date(2027, 1, 1) }) else { unreachable!() };
    p.signed_on = date(2026, 3, 3);
    assert_eq!(code_of(when(&c.consent(ConsentId::new_v4(), ConsentKind::Part2(p)), &s)), "INVALID_ARGUMENT");
}

#[test]
fn an_assessment_records_total_and_severity() {
    let c = clinic();
    let s = c.in_treatment();
    let events = when(&c.assess(AssessmentId::new_v4(), Instrument::Gad7, &[2, 2, 2, 2, 1, 1, 1]), &s).unwrap();
    let [IntakeEvent::AssessmentRecorded(e)] = &events[..] else { panic!("{events:?}") };
    assert_eq!((e.total, e.severity, e.episode_id), (11, Severity::Moderate, c.episode));
}

#[test]
fn given_phq9_item_nine_above_zero_then_a_risk_flag_is_raised() {
    let c = clinic();
    let s = c.in_treatment();
    let id = AssessmentId::new_v4();
    let events = when(&c.assess(id, Instrument::Phq9, &[1, 1, 1, 1, 1, 1, 1, 1, 2]), &s).unwrap();
    assert_eq!(events.iter().map(IntakeEvent::event_type).collect::<Vec<_>>(), ["AssessmentRecorded", "RiskFlagRaised"]);
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
    let future = IntakeCommand::RecordAssessment { assessment_id: AssessmentId::new_v4(), scores: AssessmentScores::parse(Instrument::Gad7, &[0; 7]).unwrap(), administered_by: c.staff, administered_at: now() + Duration::minutes(5) };
    assert_eq!(code_of(when(&future, &s)), "INVALID_ARGUMENT");
}

#[test]
fn a_risk_flag_is_acknowledged_once() {
    let c = clinic();
    let id = AssessmentId::new_v4();
    let ack = IntakeCommand::AcknowledgeRiskFlag { assessment_id: id, clinician_id: c.clinician, action_taken: reason("Safety plan completed; no intent.") };
    let s = c.given(&[c.register(Payer::SelfPay), c.open(), c.assess(id, Instrument::Phq9, &[0, 0, 0, 0, 0, 0, 0, 0, 1])]);
    assert_eq!(s.unacknowledged_risk_flags(c.episode), 1);
    let s2 = c.given(&[c.register(Payer::SelfPay), c.open(), c.assess(id, Instrument::Phq9, &[0, 0, 0, 0, 0, 0, 0, 0, 1]), ack.clone()]);
    assert_eq!(s2.unacknowledged_risk_flags(c.episode), 0);
    assert_eq!(code_of(when(&ack, &s2)), "RISK_FLAG_ALREADY_ACKNOWLEDGED");
    let unknown = IntakeCommand::AcknowledgeRiskFlag { assessment_id: AssessmentId::new_v4(), clinician_id: c.clinician, action_taken: reason("x") };
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
    let revise = |from: &str, revision| IntakeCommand::ReviseDiagnosis { code: code(from), revision, reason: reason("reassessed"), clinician_id: c.clinician };
    let recode = revise("F32.1", DiagnosisRevision::ChangedTo { diagnosis: dx("F33.1") });
    let s = c.given(&[c.register(Payer::SelfPay), c.open(), c.diagnose("F32.1"), c.diagnose("F41.1"), recode]);
    assert_eq!(s.active_diagnoses(c.episode), [dx("F33.1"), dx("F41.1")]);
    let s = c.given(&[c.register(Payer::SelfPay), c.open(), c.diagnose("F32.1"), c.diagnose("F41.1"), revise("F41.1", DiagnosisRevision::Resolved)]);
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
    let empty = IntakeCommand::IssueGoodFaithEstimate { estimate_id: EstimateId::new_v4(), lines: vec![], issued_by: c.staff };
    assert_eq!(code_of(when(&empty, &s)), "INVALID_ARGUMENT");
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
    let s = c.given(&[c.register(Payer::SelfPay), c.open(), c.assess(AssessmentId::new_v4(), Instrument::Phq9, &[0, 0, 0, 0, 0, 0, 0, 0, 3])]);
    assert_eq!(code_of(when(&c.close(), &s)), "RISK_FLAG_UNACKNOWLEDGED");
}

#[test]
fn given_a_closed_episode_then_no_further_clinical_activity() {
    let c = clinic();
    let s = c.given(&[c.register(Payer::SelfPay), c.open(), c.close()]);
    assert_eq!(s.episode_status(c.episode), EpisodeStatus::Closed);
    assert_eq!(code_of(when(&c.close(), &s)), "EPISODE_CLOSED");
    assert_eq!(code_of(when(&c.diagnose("F32.1"), &s)), "EPISODE_NOT_OPEN");
    let unknown = IntakeCommand::CloseEpisode { episode_id: EpisodeId::new_v4(), clinician_id: c.clinician, discharge_summary: note("x") };
    assert_eq!(code_of(when(&unknown, &s)), "EPISODE_NOT_FOUND");
    assert_eq!(s.episode_status(EpisodeId::new_v4()), EpisodeStatus::Unknown);
}

#[test]
fn every_intake_event_round_trips_through_stored_json() {
    let c = clinic();
    let aid = AssessmentId::new_v4();
    let recode = IntakeCommand::ReviseDiagnosis { code: code("F32.1"), revision: DiagnosisRevision::ChangedTo { diagnosis: dx("F33.1") }, reason: reason("r"), clinician_id: c.clinician };
    let cmds = [
        c.register(insured()),
        c.open(),
        c.consent(ConsentId::new_v4(), ConsentKind::Treatment),
        c.consent(ConsentId::new_v4(), part2(true, ConsentExpiry::UponEvent { event: short("discharge") })),
        c.assess(aid, Instrument::Phq9, &[1, 2, 3, 0, 1, 2, 3, 0, 1]),
        IntakeCommand::AcknowledgeRiskFlag { assessment_id: aid, clinician_id: c.clinician, action_taken: reason("safety plan") },
        c.diagnose("F32.1"),
        recode,
        c.close(),
    ];
    let mut state = ClientState::default();
    let mut samples = Vec::new();
    for cmd in &cmds {
        let events = decide(cmd, &state, &IntakeContext::at(now())).unwrap();
        state = events.iter().fold(state, evolve);
        samples.extend(events);
    }
    let self_pay = c.given(&[c.register(Payer::SelfPay)]);
    let gfe = IntakeCommand::IssueGoodFaithEstimate { estimate_id: EstimateId::new_v4(), lines: vec![EstimateRequestLine { cpt: CptCode::Psychotherapy60, units: 2, unit_fee: cents(18_000) }], issued_by: c.staff };
    samples.extend(when(&gfe, &self_pay).unwrap());
    let revoke = IntakeCommand::RevokeConsent { consent_id: ConsentId::new_v4(), reason: reason("r"), revoked_at: now() };
    let _ = revoke;
    samples.push(ConsentRevoked { consent_id: ConsentId::new_v4(), reason: reason("moving away"), revoked_at: now() }.into());
    assert_round_trips(&samples, IntakeEvent::EVENT_TYPES, IntakeEvent::event_type, |e| {
        let data = e.to_data().unwrap();
        let back = IntakeEvent::from_stored(e.event_type(), e.schema_version(), &data).unwrap();
        (e.schema_version(), data, back)
    });
}

#[test]
fn stored_events_with_unknown_types_versions_or_bad_data_are_refused() {
    let data = serde_json::json!({"episode_id": EpisodeId::new_v4(), "clinician_id": ClinicianId::new_v4(), "opened_at": now()});
    assert!(IntakeEvent::from_stored("EpisodeOpened", 1, &data).is_ok());
    assert!(matches!(IntakeEvent::from_stored("EpisodeReopened", 1, &data), Err(crate::DecodeError::UnknownType(_))));
    assert!(matches!(IntakeEvent::from_stored("EpisodeOpened", 2, &data), Err(crate::DecodeError::UnsupportedVersion { .. })));
    let bad = serde_json::json!({"episode_id": "not-a-uuid", "clinician_id": ClinicianId::new_v4(), "opened_at": now()});
    assert!(matches!(IntakeEvent::from_stored("EpisodeOpened", 1, &bad), Err(crate::DecodeError::Data { .. })));
}
