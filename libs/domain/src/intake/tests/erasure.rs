//! Given/when/then: legal holds and erasure (crypto-shredding is decided here, done by the vault).

use super::*;

impl Clinic {
    pub(super) fn erase(&self, retention_years: u32) -> IntakeCommand {
        IntakeCommand::EraseClient {
            reason: reason("client request under GDPR art. 17"),
            erased_by: self.staff,
            retention_years,
        }
    }

    pub(super) fn hold(&self) -> IntakeCommand {
        IntakeCommand::PlaceLegalHold { reason: reason("subpoena 24-CV-0193"), placed_by: self.staff }
    }

    pub(super) fn release(&self) -> IntakeCommand {
        IntakeCommand::ReleaseLegalHold { reason: reason("case dismissed"), released_by: self.staff }
    }

    /// A self-pay client whose only episode closed on the test day.
    fn discharged(&self) -> ClientState {
        self.given(&[self.register(Payer::SelfPay), self.open(), self.close()])
    }
}

#[test]
fn given_a_closed_episode_and_no_retention_when_erased_then_client_erased() {
    let c = clinic();
    let events = when(&c.erase(0), &c.discharged()).unwrap();
    assert!(matches!(&events[..], [IntakeEvent::ClientErased(e)] if e.erased_at == now()));
}

#[test]
fn given_an_open_episode_when_erased_then_episode_open() {
    let c = clinic();
    assert_eq!(code_of(when(&c.erase(0), &c.in_treatment())), "EPISODE_OPEN");
}

#[test]
fn given_a_discharge_today_when_erased_inside_seven_years_then_retention_period_active() {
    let c = clinic();
    let err = when(&c.erase(7), &c.discharged()).unwrap_err();
    assert_eq!(err.code(), "RETENTION_PERIOD_ACTIVE");
    assert!(err.to_string().contains("2033-03-02"), "{err}");
}

/// An absurd period once overflowed the calendar and fell back to the close date: the episode
/// closed a second before was erased.
#[test]
fn given_a_discharge_today_when_erased_with_an_absurd_retention_then_refused_not_erased() {
    let c = clinic();
    let err = when(&c.erase(1_000_000), &c.discharged()).unwrap_err();
    assert!(matches!(&err, crate::DomainError::Invalid(v) if v.field == "retention_years"), "{err:?}");
    assert_eq!(code_of(when(&c.erase(crate::intake::MAX_RETENTION_YEARS), &c.discharged())), "RETENTION_PERIOD_ACTIVE");
}

#[test]
fn retention_counts_from_the_last_close_not_from_registration() {
    let c = clinic();
    let s = c.discharged();
    let seven_years_on = now() + Duration::days(7 * 366);
    assert!(decide(&c.erase(7), &s, &IntakeContext::at(seven_years_on)).is_ok());
}

#[test]
fn given_a_legal_hold_when_erased_then_legal_hold_active_until_released() {
    let c = clinic();
    let held = [c.register(Payer::SelfPay), c.open(), c.close(), c.hold()];
    assert_eq!(code_of(when(&c.erase(0), &c.given(&held))), "LEGAL_HOLD_ACTIVE");
    assert_eq!(code_of(when(&c.hold(), &c.given(&held))), "LEGAL_HOLD_ACTIVE");
    let released = c.given(&[held.as_slice(), &[c.release()]].concat());
    assert!(when(&c.erase(0), &released).is_ok());
    assert_eq!(code_of(when(&c.release(), &released)), "LEGAL_HOLD_NOT_ACTIVE");
}

#[test]
fn given_an_erased_client_then_erasure_is_already_done_and_nothing_else_is_taken() {
    let c = clinic();
    let erased = c.given(&[c.register(Payer::SelfPay), c.open(), c.close(), c.erase(0)]);
    assert_eq!(code_of(when(&c.erase(0), &erased)), "ALREADY_ERASED");
    assert_eq!(code_of(when(&c.hold(), &erased)), "CLIENT_ERASED");
    assert_eq!(code_of(when(&c.diagnose("F32.1"), &erased)), "CLIENT_ERASED");
}

#[test]
fn an_erased_registration_still_decodes() {
    let c = clinic();
    let events = when(&c.register(insured()), &ClientState::default()).unwrap();
    let mut data = events[0].to_data().unwrap();
    for path in
        [&["legal_name"][..], &["preferred_name"], &["date_of_birth"], &["contact", "phone"], &["contact", "email"]]
    {
        let mut at = &mut data["demographics"];
        for key in path {
            at = &mut at[*key];
        }
        *at = ERASED.into();
    }
    data["demographics"]["payer"]["member_id"] = ERASED.into();
    let IntakeEvent::ClientRegistered(back) = IntakeEvent::from_stored("ClientRegistered", 1, &data).unwrap() else {
        unreachable!()
    };
    assert!(back.demographics.legal_name.is_erased());
    assert_eq!(back.demographics.date_of_birth, None);
    let s = evolve(ClientState::default(), &IntakeEvent::ClientRegistered(back));
    assert!(s.is_registered());
}
