//! Given/when/then: scheduling, holding, cancelling and no-shows.

use super::*;

#[test]
fn a_session_is_scheduled_for_a_registered_client_in_an_open_episode() {
    let v = visit();
    assert!(v.when(&v.schedule(), &SessionState::default()).is_ok());
    assert_eq!(code_of(v.when(&v.schedule(), &v.given(&[v.schedule()]))), "SESSION_ALREADY_EXISTS");
    let unknown = SessionContext { client_registered: false, ..v.ctx() };
    assert_eq!(code_of(decide(&v.schedule(), &SessionState::default(), &unknown)), "CLIENT_NOT_FOUND");
}

#[test]
fn given_a_closed_episode_when_a_session_is_scheduled_or_held_then_episode_closed() {
    let v = visit();
    let closed = SessionContext { episode: EpisodeStatus::Closed, ..v.ctx() };
    assert_eq!(code_of(decide(&v.schedule(), &SessionState::default(), &closed)), "EPISODE_CLOSED");
    let s = v.given(&[v.schedule()]);
    assert_eq!(code_of(decide(&v.hold(Modality::InPerson, None), &s, &closed)), "EPISODE_CLOSED");
    let unknown = SessionContext { episode: EpisodeStatus::Unknown, ..v.ctx() };
    assert_eq!(code_of(decide(&v.schedule(), &SessionState::default(), &unknown)), "EPISODE_NOT_FOUND");
}

#[test]
fn commands_on_an_unscheduled_session_are_refused() {
    let v = visit();
    assert_eq!(code_of(v.when(&v.hold(Modality::InPerson, None), &SessionState::default())), "SESSION_NOT_FOUND");
}

#[test]
fn given_consent_revoked_when_a_session_is_recorded_as_held_then_consent_not_active() {
    let v = visit();
    let treatment = ConsentId::new_v4();
    let record = client_record(&v, &[(treatment, ConsentKind::Treatment)], Some(treatment));
    let ctx = SessionContext::from_client(&record, v.episode, now());
    let s = v.given(&[v.schedule()]);
    assert_eq!(code_of(decide(&v.hold(Modality::InPerson, None), &s, &ctx)), "CONSENT_NOT_ACTIVE");
}

/// A revocation recorded with a clinical time after the decision's clock (its own arrival, later
/// than this call's) still stops the session: the rule reads the record, not a clock.
#[test]
fn given_a_recorded_revocation_timed_after_now_when_a_session_is_held_then_consent_not_active() {
    let v = visit();
    let treatment = ConsentId::new_v4();
    let record = client_record(&v, &[(treatment, ConsentKind::Treatment)], Some(treatment));
    let before_revocation = at(0, 10);
    assert!(
        record.has_active_consent(crate::intake::ConsentType::Treatment, before_revocation),
        "as of then it was active"
    );
    let ctx = SessionContext::from_client(&record, v.episode, before_revocation);
    let s = v.given(&[v.schedule()]);
    assert_eq!(code_of(decide(&v.hold(Modality::InPerson, None), &s, &ctx)), "CONSENT_NOT_ACTIVE");
}

#[test]
fn given_no_telehealth_consent_when_a_video_or_audio_session_is_held_then_telehealth_consent_required() {
    let v = visit();
    let record = client_record(&v, &[(ConsentId::new_v4(), ConsentKind::Treatment)], None);
    let ctx = SessionContext::from_client(&record, v.episode, now());
    let s = v.given(&[v.schedule()]);
    for m in [Modality::Video, Modality::Audio] {
        assert_eq!(code_of(decide(&v.hold(m, Some(PatientLocation::Home)), &s, &ctx)), "TELEHEALTH_CONSENT_REQUIRED");
    }
    assert!(decide(&v.hold(Modality::InPerson, None), &s, &ctx).is_ok(), "in person needs only treatment consent");
}

#[test]
fn given_both_consents_a_video_session_is_held_with_the_patients_location() {
    let v = visit();
    let record = client_record(
        &v,
        &[(ConsentId::new_v4(), ConsentKind::Treatment), (ConsentId::new_v4(), ConsentKind::Telehealth)],
        None,
    );
    let ctx = SessionContext::from_client(&record, v.episode, now());
    let s = v.given(&[v.schedule()]);
    let events = decide(&v.hold(Modality::Video, Some(PatientLocation::Home)), &s, &ctx).unwrap();
    assert!(matches!(&events[..], [SessionEvent::SessionHeld(e)] if e.patient_location == Some(PatientLocation::Home)));
    let missing = v.hold(Modality::Audio, None);
    assert!(matches!(decide(&missing, &s, &ctx), Err(crate::DomainError::Invalid(e)) if e.field == "patient_location"));
    let in_person = decide(&v.hold(Modality::InPerson, Some(PatientLocation::Other)), &s, &ctx).unwrap();
    assert!(matches!(&in_person[..], [SessionEvent::SessionHeld(e)] if e.patient_location.is_none()));
}

#[test]
fn a_session_cannot_be_held_twice_or_in_the_future() {
    let v = visit();
    assert_eq!(code_of(v.when(&v.hold(Modality::InPerson, None), &v.held())), "SESSION_ALREADY_CONCLUDED");
    let future = SessionCommand::HoldSession {
        started_at: now() + Duration::hours(1),
        actual_minutes: mins(50),
        modality: Modality::InPerson,
        patient_location: None,
    };
    assert_eq!(code_of(v.when(&future, &v.given(&[v.schedule()]))), "INVALID_ARGUMENT");
}

#[test]
fn a_cancellation_within_24_hours_is_late() {
    let v = visit();
    let cancel = SessionCommand::CancelSession { cancelled_by: CancelledBy::Client, reason: reason("sick") };
    let events = v.when(&cancel, &v.given(&[v.schedule()])).unwrap();
    assert!(matches!(&events[..], [SessionEvent::SessionCancelled(e)] if e.late));
    let next_week = SessionCommand::ScheduleSession {
        session_id: v.session,
        client_id: v.client,
        episode_id: v.episode,
        clinician_id: v.clinician,
        kind: SessionKind::Psychotherapy,
        starts_at: at(7, 10),
        planned_minutes: mins(45),
        planned_modality: Modality::InPerson,
    };
    let events = v.when(&cancel, &v.given(&[next_week])).unwrap();
    assert!(matches!(&events[..], [SessionEvent::SessionCancelled(e)] if !e.late));
    assert_eq!(code_of(v.when(&cancel, &v.held())), "SESSION_ALREADY_CONCLUDED");
}

#[test]
fn a_no_show_is_recorded_only_after_the_start_time_and_ends_the_session() {
    let v = visit();
    let no_show = SessionCommand::RecordNoShow { recorded_by: ActorId::new_v4() };
    let early = SessionContext { now: at(0, 9), ..v.ctx() };
    assert_eq!(code_of(decide(&no_show, &v.given(&[v.schedule()]), &early)), "NO_SHOW_BEFORE_START");
    let s = v.given(&[v.schedule(), no_show.clone()]);
    assert_eq!(s.status, SessionStatus::NoShow);
    assert_eq!(code_of(v.when(&v.hold(Modality::InPerson, None), &s)), "SESSION_ALREADY_CONCLUDED");
    assert_eq!(code_of(v.when(&v.sign(), &s)), "SESSION_NOT_HELD");
}

#[test]
fn given_an_episode_treated_by_one_clinician_when_a_session_is_scheduled_with_another_then_refused() {
    let v = visit();
    let treated_elsewhere = SessionContext { episode_clinician: Some(ClinicianId::new_v4()), ..v.ctx() };
    let refused = decide(&v.schedule(), &SessionState::default(), &treated_elsewhere);
    assert_eq!(code_of(refused), "NOT_TREATING_CLINICIAN");
}

/// A recorded revocation stops new activity: nothing new is scheduled after it. A client who
/// has not given consent yet can still be booked for the first visit, where consent is taken.
#[test]
fn given_consent_revoked_when_a_session_is_scheduled_then_consent_not_active() {
    let v = visit();
    let (treatment, telehealth) = (ConsentId::new_v4(), ConsentId::new_v4());
    let consents = [(treatment, ConsentKind::Treatment), (telehealth, ConsentKind::Telehealth)];
    let revoked = client_record(&v, &consents, Some(treatment));
    let ctx = SessionContext::from_client(&revoked, v.episode, at(0, 10));
    assert_eq!(code_of(decide(&v.schedule(), &SessionState::default(), &ctx)), "CONSENT_NOT_ACTIVE");

    let telehealth_revoked = client_record(&v, &consents, Some(telehealth));
    let ctx = SessionContext::from_client(&telehealth_revoked, v.episode, now());
    let video = v.schedule();
    assert_eq!(code_of(decide(&video, &SessionState::default(), &ctx)), "TELEHEALTH_CONSENT_REQUIRED");

    let not_yet_given = client_record(&v, &[], None);
    let ctx = SessionContext::from_client(&not_yet_given, v.episode, now());
    assert!(decide(&v.schedule(), &SessionState::default(), &ctx).is_ok(), "a first visit before consent");
}
