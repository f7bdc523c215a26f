//! Given/when/then: voids and replacements of paid claims, the payer's reversals and
//! recoupments, and the payer and patient balances after each.

use super::*;

fn ctx() -> BillingContext {
    BillingContext::at(now())
}

/// An insured account whose $180.00 charge was claimed and paid: $120 paid, CO-45 $40, PR $20.
fn paid(b: &Books) -> (AccountState, ChargeId, ClaimId, RemittanceId) {
    let (s, id) = charged(b);
    let claim = ClaimId::new_v4();
    let s = run(s, &submit(claim, ClaimRequest::Original { charge_ids: vec![id] }), &ctx());
    let remittance = RemittanceId::new_v4();
    let cmd = BillingCommand::PostRemittance {
        remittance_id: remittance,
        claim_id: claim,
        payer_claim_number: Some(short("PCN-1")),
        lines: vec![line(id, 18_000, 12_000, 4_000, 2_000)],
    };
    (run(s, &cmd, &ctx()), id, claim, remittance)
}

fn reverse(remittance_id: RemittanceId) -> BillingCommand {
    BillingCommand::ReverseRemittance { reversal_id: RemittanceId::new_v4(), remittance_id, payer_claim_number: None }
}

fn recoup(claim_id: ClaimId, charge_id: ChargeId, amount: i64, group: CasGroup) -> BillingCommand {
    BillingCommand::RecoupPayment {
        recoupment_id: RecoupmentId::new_v4(),
        claim_id,
        charge_id,
        amount: cents(amount),
        group,
        carc: CarcCode::parse("45").unwrap(),
    }
}

fn balances(s: &AccountState) -> (i64, i64, i64) {
    (s.balance().cents(), s.payer_balance().cents(), s.patient_balance().cents())
}

#[test]
fn given_a_paid_claim_when_it_is_voided_and_the_payer_reverses_then_payment_and_adjustments_leave_the_ledger() {
    let b = books();
    let (s, id, claim, remittance) = paid(&b);
    assert_eq!(balances(&s), (2_000, 0, 2_000), "paid: the client owes the PR");
    let s = run(s, &submit(ClaimId::new_v4(), ClaimRequest::Void { original: claim }), &ctx());
    assert_eq!(balances(&s), (2_000, 0, 2_000), "a void request moves no money until the payer answers");
    let events = plain(&reverse(remittance), &s).unwrap();
    let [BillingEvent::RemittanceReversed(r)] = &events[..] else { panic!("{events:?}") };
    assert_eq!((r.paid.cents(), r.adjusted.cents(), r.patient_responsibility.cents()), (12_000, 4_000, 2_000));
    assert_eq!(r.payer_claim_number, Some(short("PCN-1")), "named as the payer knows the claim");
    assert_eq!(r.lines[0].adjustments[0].group, AdjustmentGroup::ContractualObligation);
    let s = events.iter().fold(s, evolve);
    assert_eq!(
        (s.ledger.payer_paid, s.ledger.adjusted, s.ledger.patient_responsibility),
        (cents(0), cents(0), cents(0))
    );
    assert_eq!(balances(&s), (18_000, 18_000, 0), "the charge is the payer's to adjudicate again");
    assert_eq!(s.claims[&claim].status, ClaimStatus::Superseded);
    assert_eq!(code_of(plain(&reverse(remittance), &s)), "REMITTANCE_ALREADY_REVERSED");
    assert_eq!(code_of(plain(&reverse(RemittanceId::new_v4()), &s)), "REMITTANCE_NOT_FOUND");
    let again = ClaimId::new_v4();
    let s = run(s, &submit(again, ClaimRequest::Original { charge_ids: vec![id] }), &ctx());
    let s = run(s, &remit(again, vec![line(id, 18_000, 15_000, 1_000, 2_000)]), &ctx());
    assert_eq!(balances(&s), (2_000, 0, 2_000));
}

#[test]
fn given_a_paid_claim_when_it_is_replaced_then_the_new_remittance_waits_for_the_reversal_of_the_old() {
    let b = books();
    let (s, id, claim, remittance) = paid(&b);
    let replacement = ClaimId::new_v4();
    let events =
        plain(&submit(replacement, ClaimRequest::Replacement { original: claim, charge_ids: vec![id] }), &s).unwrap();
    assert!(
        matches!(&events[..], [BillingEvent::ClaimSubmitted(c)] if c.frequency.code() == 7 && c.payer_claim_number == Some(short("PCN-1")))
    );
    let s = events.iter().fold(s, evolve);
    let corrected = remit(replacement, vec![line(id, 18_000, 14_000, 2_000, 2_000)]);
    assert_eq!(code_of(plain(&corrected, &s)), "CHARGE_ALREADY_ADJUDICATED", "no charge is paid twice");
    let s = run(s, &reverse(remittance), &ctx());
    assert_eq!(s.charges[&id].claim, Some(replacement), "the reversal leaves the replacement carrying the charge");
    let s = run(s, &corrected, &ctx());
    assert_eq!((s.ledger.payer_paid.cents(), s.ledger.adjusted.cents()), (14_000, 2_000));
    assert_eq!(balances(&s), (2_000, 0, 2_000));
}

#[test]
fn given_a_paid_claim_when_the_payer_reverses_on_its_own_then_the_claim_is_reversed_and_its_charges_free() {
    let b = books();
    let (s, id, claim, remittance) = paid(&b);
    let s = run(s, &reverse(remittance), &ctx());
    assert_eq!((s.claims[&claim].status, s.charges[&id].claim), (ClaimStatus::Reversed, None));
    assert_eq!(
        code_of(plain(&submit(ClaimId::new_v4(), ClaimRequest::Void { original: claim }), &s)),
        "CLAIM_NOT_CORRECTABLE"
    );
    assert!(plain(&submit(ClaimId::new_v4(), ClaimRequest::Original { charge_ids: vec![id] }), &s).is_ok());
}

#[test]
fn a_recoupment_moves_paid_money_to_its_cas_group_and_never_takes_more_than_was_paid() {
    let b = books();
    let (s, id, claim, remittance) = paid(&b);
    let s = run(s, &recoup(claim, id, 3_000, CasGroup::ContractualObligation), &ctx());
    assert_eq!((s.ledger.payer_paid.cents(), s.ledger.adjusted.cents()), (9_000, 7_000));
    assert_eq!(balances(&s), (2_000, 0, 2_000), "a contractual takeback is not the client's to pay");
    let s = run(s, &recoup(claim, id, 1_000, CasGroup::PatientResponsibility), &ctx());
    assert_eq!(balances(&s), (3_000, 0, 3_000), "deductible found later: the client owes it");
    assert_eq!(s.ledger.patient_responsibility.cents(), 3_000);
    assert_eq!(code_of(plain(&recoup(claim, id, 8_001, CasGroup::OtherAdjustment), &s)), "RECOUPMENT_EXCEEDS_PAID");
    assert_eq!(code_of(plain(&recoup(claim, id, 0, CasGroup::OtherAdjustment), &s)), "INVALID_ARGUMENT");
    assert_eq!(code_of(plain(&recoup(ClaimId::new_v4(), id, 1, CasGroup::OtherAdjustment), &s)), "CLAIM_NOT_FOUND");
    assert_eq!(code_of(plain(&recoup(claim, ChargeId::new_v4(), 1, CasGroup::PayerInitiated), &s)), "CHARGE_NOT_FOUND");
    // The reversal takes back what stands now: $80 paid, $70 adjusted (two CO lines), $30 PR.
    let events = plain(&reverse(remittance), &s).unwrap();
    let [BillingEvent::RemittanceReversed(r)] = &events[..] else { panic!() };
    assert_eq!((r.paid.cents(), r.adjusted.cents(), r.patient_responsibility.cents()), (8_000, 7_000, 3_000));
    assert_eq!(r.lines[0].adjustments.len(), 2);
    let s = events.iter().fold(s, evolve);
    assert_eq!(balances(&s), (18_000, 18_000, 0));
    assert_eq!(
        code_of(plain(&recoup(claim, id, 1, CasGroup::ContractualObligation), &s)),
        "CHARGE_NOT_ADJUDICATED",
        "nothing left to take back once reversed"
    );
}

#[test]
fn a_self_pay_balance_is_all_the_clients() {
    let b = books();
    let s = run(b.account(Payer::SelfPay), &charge(ChargeId::new_v4()), &charging(b.signed_video()));
    assert_eq!(balances(&s), (18_000, 0, 18_000));
}
