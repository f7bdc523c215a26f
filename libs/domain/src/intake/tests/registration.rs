//! Given/when/then: registration, episodes and consents.

use super::*;

#[test]
fn registering_a_new_client_records_demographics_and_payer() {
    let c = clinic();
    let events = when(&c.register(insured()), &ClientState::default()).unwrap();
    assert!(
        matches!(&events[..], [IntakeEvent::ClientRegistered(e)] if e.client_id == c.client && e.registered_at == now())
    );
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
    let IntakeCommand::RegisterClient { client_id, mut demographics, registered_by } = c.register(Payer::SelfPay)
    else {
        unreachable!()
    };
    demographics.date_of_birth = Some(date(2030, 1, 1));
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
    let other =
        IntakeCommand::OpenEpisode { episode_id: EpisodeId::new_v4(), clinician_id: c.clinician, opened_at: now() };
    assert_eq!(code_of(when(&other, &s)), "EPISODE_ALREADY_OPEN");
    assert_eq!(code_of(when(&c.open(), &s)), "EPISODE_ALREADY_EXISTS");
}

#[test]
fn an_episode_cannot_be_opened_in_the_future() {
    let c = clinic();
    let s = c.given(&[c.register(Payer::SelfPay)]);
    let cmd = IntakeCommand::OpenEpisode {
        episode_id: c.episode,
        clinician_id: c.clinician,
        opened_at: now() + Duration::hours(1),
    };
    assert_eq!(code_of(when(&cmd, &s)), "INVALID_ARGUMENT");
}

#[test]
fn consents_are_active_until_revoked() {
    let c = clinic();
    let treatment = ConsentId::new_v4();
    let s = c.given(&[c.register(Payer::SelfPay), c.consent(treatment, ConsentKind::Treatment)]);
    assert!(s.has_active_consent(ConsentType::Treatment, now()));
    assert!(!s.has_active_consent(ConsentType::Telehealth, now()));
    let revoke =
        IntakeCommand::RevokeConsent { consent_id: treatment, reason: reason("client request"), revoked_at: at(0, 11) };
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
    let unknown =
        IntakeCommand::RevokeConsent { consent_id: ConsentId::new_v4(), reason: reason("x"), revoked_at: now() };
    assert_eq!(code_of(when(&unknown, &s)), "CONSENT_NOT_FOUND");
    let early = IntakeCommand::RevokeConsent { consent_id: id, reason: reason("x"), revoked_at: at(0, 8) };
    assert_eq!(code_of(when(&early, &s)), "INVALID_ARGUMENT");
    assert_eq!(code_of(when(&c.consent(id, ConsentKind::Treatment), &s)), "CONSENT_ALREADY_EXISTS");
}

#[test]
fn a_consent_cannot_be_dated_in_the_future() {
    let c = clinic();
    let s = c.given(&[c.register(Payer::SelfPay)]);
    let cmd = IntakeCommand::GiveConsent {
        consent_id: ConsentId::new_v4(),
        kind: ConsentKind::Treatment,
        given_at: now() + Duration::days(1),
        recorded_by: c.staff,
    };
    assert!(matches!(when(&cmd, &s), Err(crate::DomainError::Invalid(e)) if e.field == "given_at"));
}

#[test]
fn a_release_of_information_expires_and_cannot_expire_before_it_is_given() {
    let c = clinic();
    let roi = |expires_on| {
        ConsentKind::ReleaseOfInformation(ReleaseOfInformation {
            recipient: short("school counselor"),
            purpose: short("coordination"),
            expires_on,
        })
    };
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
    let ConsentKind::Part2(mut p) = part2(true, ConsentExpiry::OnDate { date: date(2027, 1, 1) }) else {
        unreachable!()
    };
    p.signed_on = date(2026, 3, 3);
    assert_eq!(code_of(when(&c.consent(ConsentId::new_v4(), ConsentKind::Part2(p)), &s)), "INVALID_ARGUMENT");
}
