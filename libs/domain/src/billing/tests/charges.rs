//! Given/when/then: creating charges.

use super::*;

#[test]
fn an_account_is_opened_once_and_needed_for_everything_else() {
    let b = books();
    let s = b.account(Payer::SelfPay);
    assert_eq!(code_of(plain(&b.open(Payer::SelfPay), &s)), "ACCOUNT_ALREADY_EXISTS");
    let pay = BillingCommand::ReceivePayment {
        payment_id: PaymentId::new_v4(),
        amount: cents(100),
        method: PaymentMethod::Card,
        service_date: None,
    };
    assert_eq!(code_of(plain(&pay, &AccountState::default())), "ACCOUNT_NOT_FOUND");
}

#[test]
fn a_held_video_session_from_home_with_a_signed_note_is_charged_90837_pos_10_modifier_95() {
    let b = books();
    let events = decide(&charge(ChargeId::new_v4()), &b.account(insured()), &charging(b.signed_video())).unwrap();
    let [BillingEvent::ChargeCreated(c)] = &events[..] else { panic!("{events:?}") };
    let l = &c.lines[0];
    assert_eq!(
        (l.cpt, l.place_of_service, l.modifiers.as_slice()),
        (CptCode::Psychotherapy60, PlaceOfService::TelehealthHome10, &[Modifier::Video95][..])
    );
    assert_eq!((c.total.cents(), c.diagnoses.len(), c.plan_review_overdue), (18_000, 2, false));
    assert_eq!(c.service_date, date(2026, 3, 2));
}

#[test]
fn place_of_service_and_modifier_follow_the_held_session() {
    let b = books();
    let cases = [
        (Modality::InPerson, None, PlaceOfService::Office11, vec![]),
        (Modality::Audio, Some(PatientLocation::Other), PlaceOfService::TelehealthOther02, vec![Modifier::Audio93]),
    ];
    for (modality, loc, pos, mods) in cases {
        let s = b.session(SessionKind::Psychotherapy, 40, modality, loc, Stage::Signed);
        let events = decide(&charge(ChargeId::new_v4()), &b.account(insured()), &charging(s)).unwrap();
        let [BillingEvent::ChargeCreated(c)] = &events[..] else { panic!() };
        assert_eq!(
            (c.lines[0].cpt, c.lines[0].place_of_service, c.lines[0].modifiers.clone()),
            (CptCode::Psychotherapy45, pos, mods)
        );
    }
}

#[test]
fn given_a_no_show_when_charged_then_no_show_not_billable() {
    let b = books();
    let s = b.session(SessionKind::Psychotherapy, 53, Modality::InPerson, None, Stage::NoShow);
    assert_eq!(
        code_of(decide(&charge(ChargeId::new_v4()), &b.account(insured()), &charging(s))),
        "NO_SHOW_NOT_BILLABLE"
    );
}

#[test]
fn given_a_session_not_held_when_charged_then_session_not_held() {
    let b = books();
    for stage in [Stage::Scheduled, Stage::Cancelled] {
        let s = b.session(SessionKind::Psychotherapy, 53, Modality::InPerson, None, stage);
        assert_eq!(
            code_of(decide(&charge(ChargeId::new_v4()), &b.account(insured()), &charging(s))),
            "SESSION_NOT_HELD"
        );
    }
    assert_eq!(
        code_of(decide(&charge(ChargeId::new_v4()), &b.account(insured()), &charging(SessionState::default()))),
        "SESSION_NOT_FOUND"
    );
}

#[test]
fn given_an_unsigned_note_when_charged_then_note_not_signed() {
    let b = books();
    let s = b.session(SessionKind::Psychotherapy, 53, Modality::InPerson, None, Stage::HeldUnsigned);
    assert_eq!(code_of(decide(&charge(ChargeId::new_v4()), &b.account(insured()), &charging(s))), "NOTE_NOT_SIGNED");
}

#[test]
fn a_session_is_charged_once_to_its_own_clients_account() {
    let b = books();
    let session = b.signed_video();
    let id = ChargeId::new_v4();
    let s = run(b.account(insured()), &charge(id), &charging(session.clone()));
    assert_eq!(code_of(decide(&charge(ChargeId::new_v4()), &s, &charging(session))), "SESSION_ALREADY_CHARGED");
    assert_eq!(code_of(decide(&charge(id), &s, &charging(b.signed_video()))), "CHARGE_ALREADY_EXISTS");
    let stranger = books().signed_video();
    assert_eq!(code_of(decide(&charge(ChargeId::new_v4()), &s, &charging(stranger))), "SESSION_CLIENT_MISMATCH");
}

#[test]
fn given_a_session_charged_on_another_account_of_the_client_when_charged_again_then_it_is_refused() {
    let b = books();
    let elsewhere = ChargeId::new_v4();
    let ctx = BillingContext { charged_on_other_account: Some(elsewhere), ..charging(b.signed_video()) };
    let refused = decide(&charge(ChargeId::new_v4()), &b.account(Payer::SelfPay), &ctx).unwrap_err();
    assert_eq!(refused.code(), "SESSION_ALREADY_CHARGED");
    assert!(refused.to_string().contains(&elsewhere.to_string()), "names the existing charge: {refused}");
}

#[test]
fn a_charge_points_to_active_diagnoses() {
    let b = books();
    let none = BillingContext { active_diagnoses: vec![], ..charging(b.signed_video()) };
    assert_eq!(code_of(decide(&charge(ChargeId::new_v4()), &b.account(insured()), &none)), "NO_ACTIVE_DIAGNOSIS");
    let third = BillingCommand::CreateCharge {
        charge_id: ChargeId::new_v4(),
        interactive_complexity: false,
        diagnosis_pointers: DiagnosisPointer::parse_list(&[3]).unwrap(),
    };
    assert_eq!(
        code_of(decide(&third, &b.account(insured()), &charging(b.signed_video()))),
        "DIAGNOSIS_POINTER_INVALID"
    );
}

#[test]
fn given_an_overdue_plan_review_billing_warns_or_blocks_by_policy() {
    let b = books();
    let warn = BillingContext { plan_review_overdue: true, ..charging(b.signed_video()) };
    let events = decide(&charge(ChargeId::new_v4()), &b.account(insured()), &warn).unwrap();
    assert!(matches!(&events[..], [BillingEvent::ChargeCreated(c)] if c.plan_review_overdue));
    let block = BillingContext { overdue_policy: OverduePolicy::Block, ..warn };
    assert_eq!(code_of(decide(&charge(ChargeId::new_v4()), &b.account(insured()), &block)), "PLAN_REVIEW_OVERDUE");
}

#[test]
fn the_context_reads_the_plan_review_status_and_the_episodes_diagnoses() {
    use crate::planning::{PlanState, PlanningEvent, TreatmentPlanSigned};
    let b = books();
    let mut plan = PlanState::default();
    plan.apply(&PlanningEvent::TreatmentPlanSigned(TreatmentPlanSigned {
        version: 1,
        signed_by: b.clinician,
        signed_at: at(-100, 9),
        next_review_due: date(2026, 3, 1),
    }));
    let ctx =
        BillingContext::at(now()).for_session(b.signed_video(), &crate::intake::ClientState::default(), Some(&plan));
    assert!(ctx.plan_review_overdue);
    assert!(ctx.active_diagnoses.is_empty());
}

#[test]
fn charges_follow_the_cpt_rules_for_short_crisis_and_add_on_sessions() {
    let b = books();
    let short_session = b.session(SessionKind::Psychotherapy, 15, Modality::InPerson, None, Stage::Signed);
    assert_eq!(
        code_of(decide(&charge(ChargeId::new_v4()), &b.account(insured()), &charging(short_session))),
        "DURATION_NOT_BILLABLE"
    );
    let crisis = b.session(SessionKind::Crisis, 60, Modality::InPerson, None, Stage::Signed);
    let with_ic = BillingCommand::CreateCharge {
        charge_id: ChargeId::new_v4(),
        interactive_complexity: true,
        diagnosis_pointers: DiagnosisPointer::parse_list(&[1]).unwrap(),
    };
    assert_eq!(code_of(decide(&with_ic, &b.account(insured()), &charging(crisis))), "ADDON_REQUIRES_PRIMARY");
    let long_crisis = b.session(SessionKind::Crisis, 110, Modality::InPerson, None, Stage::Signed);
    let events = decide(&charge(ChargeId::new_v4()), &b.account(insured()), &charging(long_crisis)).unwrap();
    let [BillingEvent::ChargeCreated(c)] = &events[..] else { panic!() };
    assert_eq!(c.total.cents(), 20_000 + 2 * 9_500);
}

#[test]
fn a_code_without_a_configured_fee_is_refused() {
    let b = books();
    let ctx = BillingContext { fee_schedule: FeeSchedule::new([]), ..charging(b.signed_video()) };
    assert_eq!(code_of(decide(&charge(ChargeId::new_v4()), &b.account(insured()), &ctx)), "FEE_NOT_CONFIGURED");
}
