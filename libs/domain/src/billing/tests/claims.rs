//! Given/when/then: claims, remittances, payments, write-offs, superbills and the ledger.

use super::*;

#[test]
fn claims_are_for_insured_clients_and_carry_each_charge_once() {
    let b = books();
    let self_pay = run(b.account(Payer::SelfPay), &charge(ChargeId::new_v4()), &charging(b.signed_video()));
    let any = self_pay.charges.keys().copied().collect();
    assert_eq!(
        code_of(plain(&submit(ClaimId::new_v4(), ClaimRequest::Original { charge_ids: any }), &self_pay)),
        "INSURANCE_REQUIRED"
    );
    let (s, id) = charged(&b);
    let first = ClaimId::new_v4();
    let events = plain(&submit(first, ClaimRequest::Original { charge_ids: vec![id] }), &s).unwrap();
    assert!(
        matches!(&events[..], [BillingEvent::ClaimSubmitted(c)] if c.frequency.code() == 1 && c.total.cents() == 18_000)
    );
    let s = events.iter().fold(s, evolve);
    assert_eq!(
        code_of(plain(&submit(ClaimId::new_v4(), ClaimRequest::Original { charge_ids: vec![id] }), &s)),
        "CHARGE_ALREADY_CLAIMED"
    );
    assert_eq!(
        code_of(plain(&submit(first, ClaimRequest::Original { charge_ids: vec![id] }), &s)),
        "CLAIM_ALREADY_EXISTS"
    );
    assert_eq!(
        code_of(plain(&submit(ClaimId::new_v4(), ClaimRequest::Original { charge_ids: vec![ChargeId::new_v4()] }), &s)),
        "CHARGE_NOT_FOUND"
    );
    assert_eq!(
        code_of(plain(&submit(ClaimId::new_v4(), ClaimRequest::Original { charge_ids: vec![] }), &s)),
        "INVALID_ARGUMENT"
    );
}

#[test]
fn a_replacement_claim_references_and_supersedes_the_original() {
    let b = books();
    let (s, id) = charged(&b);
    let (first, second) = (ClaimId::new_v4(), ClaimId::new_v4());
    let s = run(s, &submit(first, ClaimRequest::Original { charge_ids: vec![id] }), &BillingContext::at(now()));
    let events =
        plain(&submit(second, ClaimRequest::Replacement { original: first, charge_ids: vec![id] }), &s).unwrap();
    assert!(
        matches!(&events[..], [BillingEvent::ClaimSubmitted(c)] if c.frequency == ClaimFrequency::Replacement { original: first } && c.frequency.code() == 7)
    );
    let s = events.iter().fold(s, evolve);
    assert_eq!(s.claims[&first].status, ClaimStatus::Superseded);
    assert_eq!(s.charges[&id].claim, Some(second));
    assert_eq!(
        code_of(plain(
            &submit(ClaimId::new_v4(), ClaimRequest::Replacement { original: first, charge_ids: vec![id] }),
            &s
        )),
        "CLAIM_NOT_CORRECTABLE"
    );
    assert_eq!(
        code_of(plain(&submit(ClaimId::new_v4(), ClaimRequest::Void { original: ClaimId::new_v4() }), &s)),
        "CLAIM_NOT_FOUND"
    );
}

#[test]
fn given_a_remitted_claim_when_it_is_voided_then_the_void_names_the_payers_claim_number() {
    let b = books();
    let (s, id) = charged(&b);
    let first = ClaimId::new_v4();
    let s = run(s, &submit(first, ClaimRequest::Original { charge_ids: vec![id] }), &BillingContext::at(now()));
    let unremitted = plain(&submit(ClaimId::new_v4(), ClaimRequest::Void { original: first }), &s).unwrap();
    assert!(matches!(&unremitted[..], [BillingEvent::ClaimSubmitted(c)] if c.payer_claim_number.is_none()));
    let s = run(s, &remit(first, vec![line(id, 18_000, 12_000, 4_000, 2_000)]), &BillingContext::at(now()));
    let void = plain(&submit(ClaimId::new_v4(), ClaimRequest::Void { original: first }), &s).unwrap();
    assert!(
        matches!(&void[..], [BillingEvent::ClaimSubmitted(c)] if c.payer_claim_number == Some(short("PCN-1")) && c.frequency.code() == 8),
        "{void:?}"
    );
}

#[test]
fn a_void_claim_releases_the_charges_for_a_new_original() {
    let b = books();
    let (s, id) = charged(&b);
    let first = ClaimId::new_v4();
    let s = run(s, &submit(first, ClaimRequest::Original { charge_ids: vec![id] }), &BillingContext::at(now()));
    let events = plain(&submit(ClaimId::new_v4(), ClaimRequest::Void { original: first }), &s).unwrap();
    assert!(
        matches!(&events[..], [BillingEvent::ClaimSubmitted(c)] if c.frequency.code() == 8 && c.charge_ids == [id])
    );
    let s = events.iter().fold(s, evolve);
    assert_eq!(s.charges[&id].claim, None);
    assert!(plain(&submit(ClaimId::new_v4(), ClaimRequest::Original { charge_ids: vec![id] }), &s).is_ok());
}

#[test]
fn a_rejected_claim_frees_its_charges_and_takes_no_remittance() {
    let b = books();
    let (s, id) = charged(&b);
    let first = ClaimId::new_v4();
    let s = run(s, &submit(first, ClaimRequest::Original { charge_ids: vec![id] }), &BillingContext::at(now()));
    let reject = BillingCommand::RejectClaim { claim_id: first, reason: reason("invalid member id") };
    let s = run(s, &reject, &BillingContext::at(now()));
    assert_eq!((s.claims[&first].status, s.charges[&id].claim), (ClaimStatus::Rejected, None));
    assert_eq!(code_of(plain(&reject, &s)), "CLAIM_NOT_AWAITING_REMITTANCE");
    assert_eq!(
        code_of(plain(&remit(first, vec![line(id, 18_000, 10_000, 5_000, 3_000)]), &s)),
        "CLAIM_NOT_AWAITING_REMITTANCE"
    );
    assert_eq!(
        code_of(plain(
            &submit(ClaimId::new_v4(), ClaimRequest::Replacement { original: first, charge_ids: vec![id] }),
            &s
        )),
        "CLAIM_NOT_CORRECTABLE"
    );
}

#[test]
fn a_remittance_must_reconcile_charged_with_paid_adjustments_and_patient_responsibility() {
    let b = books();
    let (s, id) = charged(&b);
    let claim = ClaimId::new_v4();
    let s = run(s, &submit(claim, ClaimRequest::Original { charge_ids: vec![id] }), &BillingContext::at(now()));
    assert_eq!(
        code_of(plain(&remit(claim, vec![line(id, 18_000, 10_000, 5_000, 2_000)]), &s)),
        "REMITTANCE_UNBALANCED"
    );
    assert_eq!(
        code_of(plain(&remit(claim, vec![line(id, 17_000, 10_000, 5_000, 2_000)]), &s)),
        "REMITTANCE_CHARGE_MISMATCH"
    );
    assert_eq!(
        code_of(plain(&remit(claim, vec![line(ChargeId::new_v4(), 18_000, 10_000, 5_000, 3_000)]), &s)),
        "CHARGE_NOT_ON_CLAIM"
    );
    assert_eq!(code_of(plain(&remit(claim, vec![]), &s)), "INVALID_ARGUMENT");
    let s = run(s, &remit(claim, vec![line(id, 18_000, 10_000, 5_000, 3_000)]), &BillingContext::at(now()));
    assert_eq!(s.balance().cents(), 3_000, "what is left is the patient's responsibility");
    assert_eq!(
        code_of(plain(&remit(claim, vec![line(id, 18_000, 10_000, 5_000, 3_000)]), &s)),
        "CLAIM_NOT_AWAITING_REMITTANCE"
    );
}

#[test]
fn payments_reduce_the_balance_and_overpayment_leaves_a_credit() {
    let b = books();
    let (s, _) = charged(&b);
    let pay = |c| BillingCommand::ReceivePayment {
        payment_id: PaymentId::new_v4(),
        amount: cents(c),
        method: PaymentMethod::Card,
        service_date: None,
    };
    let s = run(s, &pay(20_000), &BillingContext::at(now()));
    assert_eq!(s.balance().cents(), -2_000);
    assert_eq!(code_of(plain(&pay(0), &s)), "INVALID_ARGUMENT");
    let id = PaymentId::new_v4();
    let once = BillingCommand::ReceivePayment {
        payment_id: id,
        amount: cents(1),
        method: PaymentMethod::Cash,
        service_date: None,
    };
    let s = run(s, &once, &BillingContext::at(now()));
    assert_eq!(code_of(plain(&once, &s)), "PAYMENT_ALREADY_EXISTS");
}

/// Two payments of the largest amount each were once accepted; their sum was no valid amount,
/// and the ledger read model failed on it for good.
#[test]
fn no_payment_takes_an_account_total_past_the_largest_amount() {
    let b = books();
    let (s, _) = charged(&b);
    let pay = |c| BillingCommand::ReceivePayment {
        payment_id: PaymentId::new_v4(),
        amount: cents(c),
        method: PaymentMethod::Card,
        service_date: None,
    };
    let s = run(s, &pay(crate::types::MAX_CENTS), &BillingContext::at(now()));
    let refused = plain(&pay(1), &s).unwrap_err();
    assert!(matches!(&refused, crate::DomainError::Invalid(v) if v.field == "amount_cents"), "{refused:?}");
    assert_eq!(s.ledger.client_paid.cents(), crate::types::MAX_CENTS);
}

#[test]
fn a_write_off_cannot_exceed_the_balance() {
    let b = books();
    let (s, _) = charged(&b);
    let off = |c| BillingCommand::WriteOff {
        write_off_id: WriteOffId::new_v4(),
        amount: cents(c),
        reason: WriteOffReason::FinancialHardship,
        note: reason("sliding scale"),
    };
    assert_eq!(code_of(plain(&off(18_001), &s)), "WRITE_OFF_EXCEEDS_BALANCE");
    let s = run(s, &off(18_000), &BillingContext::at(now()));
    assert_eq!(s.balance().cents(), 0);
    assert_eq!(code_of(plain(&off(1), &s)), "WRITE_OFF_EXCEEDS_BALANCE");
}

#[test]
fn a_superbill_is_for_self_pay_clients_and_lists_existing_charges() {
    let b = books();
    let id = ChargeId::new_v4();
    let s = run(b.account(Payer::SelfPay), &charge(id), &charging(b.signed_video()));
    let bill = |charge_ids| BillingCommand::IssueSuperbill { superbill_id: SuperbillId::new_v4(), charge_ids };
    let events = plain(&bill(vec![id]), &s).unwrap();
    assert!(matches!(&events[..], [BillingEvent::SuperbillIssued(e)] if e.total.cents() == 18_000));
    assert_eq!(code_of(plain(&bill(vec![ChargeId::new_v4()]), &s)), "CHARGE_NOT_FOUND");
    assert_eq!(code_of(plain(&bill(vec![id, id]), &s)), "INVALID_ARGUMENT");
    let (insured_account, cid) = charged(&books());
    assert_eq!(code_of(plain(&bill(vec![cid]), &insured_account)), "SELF_PAY_ONLY");
}

/// The ledger is recomputed independently from the events after a full billing cycle.
#[test]
fn the_balance_always_equals_charges_minus_payments_adjustments_and_write_offs() {
    let b = books();
    let ctx = BillingContext::at(now());
    let (c1, c2) = (ChargeId::new_v4(), ChargeId::new_v4());
    let claim = ClaimId::new_v4();
    let mut events = decide(&b.open(insured()), &AccountState::default(), &ctx).unwrap();
    let mut state = events.iter().fold(AccountState::default(), evolve);
    let cmds: Vec<(BillingCommand, BillingContext)> = vec![
        (charge(c1), charging(b.signed_video())),
        (charge(c2), charging(b.session(SessionKind::Psychotherapy, 40, Modality::InPerson, None, Stage::Signed))),
        (submit(claim, ClaimRequest::Original { charge_ids: vec![c1, c2] }), ctx.clone()),
        (
            remit(claim, vec![line(c1, 18_000, 12_000, 4_000, 2_000), line(c2, 13_000, 8_000, 3_000, 2_000)]),
            ctx.clone(),
        ),
        (
            BillingCommand::ReceivePayment {
                payment_id: PaymentId::new_v4(),
                amount: cents(2_500),
                method: PaymentMethod::Card,
                service_date: None,
            },
            ctx.clone(),
        ),
        (
            BillingCommand::WriteOff {
                write_off_id: WriteOffId::new_v4(),
                amount: cents(500),
                reason: WriteOffReason::SmallBalance,
                note: reason("under $10"),
            },
            ctx.clone(),
        ),
    ];
    for (cmd, c) in &cmds {
        let new = decide(cmd, &state, c).unwrap();
        state = new.iter().fold(state, evolve);
        events.extend(new);
        let mut expected = 0i64;
        for e in &events {
            expected += match e {
                BillingEvent::ChargeCreated(e) => e.total.cents(),
                BillingEvent::RemittancePosted(e) => -(e.paid.cents() + e.adjusted.cents()),
                BillingEvent::PaymentReceived(e) => -e.amount.cents(),
                BillingEvent::WrittenOff(e) => -e.amount.cents(),
                _ => 0,
            };
        }
        assert_eq!(state.balance().cents(), expected);
    }
    assert_eq!(state.balance().cents(), 31_000 - 20_000 - 7_000 - 2_500 - 500);
    assert_eq!(state.ledger.patient_responsibility.cents(), 4_000);
}

#[test]
fn every_billing_event_round_trips_through_stored_json() {
    let b = books();
    let ctx = BillingContext::at(now());
    let (s, id) = charged(&b);
    let claim = ClaimId::new_v4();
    let mut samples: Vec<BillingEvent> = decide(&b.open(insured()), &AccountState::default(), &ctx).unwrap();
    samples.extend(decide(&charge(ChargeId::new_v4()), &b.account(insured()), &charging(b.signed_video())).unwrap());
    let s = run(s, &submit(claim, ClaimRequest::Original { charge_ids: vec![id] }), &ctx);
    samples.extend(
        plain(&submit(ClaimId::new_v4(), ClaimRequest::Replacement { original: claim, charge_ids: vec![id] }), &s)
            .unwrap(),
    );
    samples.extend(plain(&submit(ClaimId::new_v4(), ClaimRequest::Void { original: claim }), &s).unwrap());
    samples.extend(plain(&BillingCommand::RejectClaim { claim_id: claim, reason: reason("r") }, &s).unwrap());
    samples.extend(plain(&remit(claim, vec![line(id, 18_000, 10_000, 5_000, 3_000)]), &s).unwrap());
    let remittance = RemittanceId::new_v4();
    let posted = BillingCommand::PostRemittance {
        remittance_id: remittance,
        claim_id: claim,
        payer_claim_number: Some(short("PCN-9")),
        lines: vec![line(id, 18_000, 10_000, 5_000, 3_000)],
    };
    let paid = run(s.clone(), &posted, &ctx);
    let reverse = BillingCommand::ReverseRemittance {
        reversal_id: RemittanceId::new_v4(),
        remittance_id: remittance,
        payer_claim_number: None,
    };
    samples.extend(plain(&reverse, &paid).unwrap());
    let recoup = BillingCommand::RecoupPayment {
        recoupment_id: RecoupmentId::new_v4(),
        claim_id: claim,
        charge_id: id,
        amount: cents(500),
        group: CasGroup::PatientResponsibility,
        carc: CarcCode::parse("1").unwrap(),
    };
    samples.extend(plain(&recoup, &paid).unwrap());
    samples.extend(
        plain(
            &BillingCommand::ReceivePayment {
                payment_id: PaymentId::new_v4(),
                amount: cents(3_000),
                method: PaymentMethod::Check,
                service_date: None,
            },
            &s,
        )
        .unwrap(),
    );
    samples.extend(
        plain(
            &BillingCommand::WriteOff {
                write_off_id: WriteOffId::new_v4(),
                amount: cents(100),
                reason: WriteOffReason::BadDebt,
                note: reason("n"),
            },
            &s,
        )
        .unwrap(),
    );
    let self_pay = run(b.account(Payer::SelfPay), &charge(id), &charging(b.signed_video()));
    samples.extend(
        plain(&BillingCommand::IssueSuperbill { superbill_id: SuperbillId::new_v4(), charge_ids: vec![id] }, &self_pay)
            .unwrap(),
    );
    assert_round_trips(&samples, BillingEvent::EVENT_TYPES, BillingEvent::event_type, |e| {
        let data = e.to_data().unwrap();
        let back = BillingEvent::from_stored(e.event_type(), e.schema_version(), &data).unwrap();
        (e.schema_version(), data, back)
    });
}
