//! Given/when/then: events through stored JSON.

use super::*;

#[test]
fn every_intake_event_round_trips_through_stored_json() {
    let c = clinic();
    let aid = AssessmentId::new_v4();
    let recode = IntakeCommand::ReviseDiagnosis {
        code: code("F32.1"),
        revision: DiagnosisRevision::ChangedTo { diagnosis: dx("F33.1") },
        reason: reason("r"),
        clinician_id: c.clinician,
    };
    let cmds = [
        c.register(insured()),
        c.open(),
        c.consent(ConsentId::new_v4(), ConsentKind::Treatment),
        c.consent(ConsentId::new_v4(), part2(true, ConsentExpiry::UponEvent { event: short("discharge") })),
        c.assess(aid, Instrument::Phq9, &[1, 2, 3, 0, 1, 2, 3, 0, 1]),
        IntakeCommand::AcknowledgeRiskFlag {
            assessment_id: aid,
            clinician_id: c.clinician,
            action_taken: reason("safety plan"),
        },
        c.diagnose("F32.1"),
        recode,
        c.close(),
        c.hold(),
        c.release(),
        c.erase(0),
    ];
    let mut state = ClientState::default();
    let mut samples = Vec::new();
    for cmd in &cmds {
        let events = decide(cmd, &state, &IntakeContext::at(now())).unwrap();
        state = events.iter().fold(state, evolve);
        samples.extend(events);
    }
    let self_pay = c.given(&[c.register(Payer::SelfPay)]);
    let gfe = IntakeCommand::IssueGoodFaithEstimate {
        estimate_id: EstimateId::new_v4(),
        lines: vec![EstimateRequestLine { cpt: CptCode::Psychotherapy60, units: 2, unit_fee: cents(18_000) }],
        issued_by: c.staff,
    };
    samples.extend(when(&gfe, &self_pay).unwrap());
    samples.push(
        ConsentRevoked { consent_id: ConsentId::new_v4(), reason: reason("moving away"), revoked_at: now() }.into(),
    );
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
    assert!(matches!(
        IntakeEvent::from_stored("EpisodeOpened", 2, &data),
        Err(crate::DecodeError::UnsupportedVersion { .. })
    ));
    let bad =
        serde_json::json!({"episode_id": "not-a-uuid", "clinician_id": ClinicianId::new_v4(), "opened_at": now()});
    assert!(matches!(IntakeEvent::from_stored("EpisodeOpened", 1, &bad), Err(crate::DecodeError::Data { .. })));
}
