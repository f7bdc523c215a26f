//! Accounts, bad input, and the rules that need no session: payer kinds, unknown charges and
//! claims, payments, idempotent retries and concurrent writers.

use carelog_blackbox::{TestApp, assert_invalid_field, assert_rejected, ctx, ctx_because, on_both_backends};
use carelog_proto::v1 as proto;
use tonic::Code;
use uuid::Uuid;

use super::{Payer, clinic, id, open_account, original_claim, payment, stored, superbill, write_off};

async fn an_account_opens_with_the_payer_from_the_clients_registration(app: &TestApp) {
    let mut c = clinic(app, Payer::Insured, &[]).await;
    let events = stored(app, &format!("account-{}", c.account_id)).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "AccountOpened");
    assert_eq!(events[0].data["payer"]["kind"], "insurance");
    assert_eq!(events[0].data["payer"]["member_id"], "ACM123456789");
    assert_eq!(events[0].metadata.tags.client.as_deref(), Some(c.client_id.as_str()));
    assert_eq!(events[0].metadata.actor.role, "biller");
    let err = c.billing.open_account(open_account(&c.account_id, &c.client_id)).await.unwrap_err();
    assert_rejected(&err, Code::AlreadyExists, "ACCOUNT_ALREADY_EXISTS");
    let err = c.billing.open_account(open_account(&id(), &id())).await.unwrap_err();
    assert_rejected(&err, Code::NotFound, "CLIENT_NOT_FOUND");
}

async fn every_command_needs_an_open_account(app: &TestApp) {
    let mut c = clinic(app, Payer::Insured, &["F41.1"]).await;
    let session = c.signed_video().await;
    let before = app.event_count().await;
    c.account_id = id();
    let err = c.billing.receive_payment(payment(&c.account_id, 100)).await.unwrap_err();
    assert_rejected(&err, Code::NotFound, "ACCOUNT_NOT_FOUND");
    let err = c.billing.create_charge(c.charge(&session, &[1])).await.unwrap_err();
    assert_rejected(&err, Code::NotFound, "ACCOUNT_NOT_FOUND");
    assert_eq!(app.event_count().await, before);
}

async fn bad_input_names_every_bad_field_and_stores_nothing(app: &TestApp) {
    let mut c = clinic(app, Payer::Insured, &[]).await;
    let before = app.event_count().await;
    let a = c.account_id.clone();
    let err = c.billing.open_account(open_account("not-a-uuid", &Uuid::new_v4().to_string())).await.unwrap_err();
    for field in ["account_id", "client_id"] {
        assert_invalid_field(&err, field);
    }
    let mut charge = c.charge(&Uuid::new_v4().to_string(), &[1, 1]);
    (charge.charge_id, charge.plan_id) = (String::new(), "plan".into());
    let err = c.billing.create_charge(charge).await.unwrap_err();
    for field in ["charge_id", "session_id", "plan_id", "diagnosis_pointers"] {
        assert_invalid_field(&err, field);
    }
    for pointers in [&[][..], &[0], &[13], &[1, 2, 3, 4, 5]] {
        let err = c.billing.create_charge(c.charge(&id(), pointers)).await.unwrap_err();
        assert_invalid_field(&err, "diagnosis_pointers");
    }
    let mut claim = original_claim(&a, vec![]);
    claim.claim_id = "x".into();
    let err = c.billing.submit_claim(claim).await.unwrap_err();
    for field in ["claim_id", "original.charge_ids"] {
        assert_invalid_field(&err, field);
    }
    let mut claim = original_claim(&a, vec!["nope".into()]);
    claim.kind = None;
    assert_invalid_field(&c.billing.submit_claim(claim).await.unwrap_err(), "kind");
    let err = c.billing.submit_claim(original_claim(&a, vec!["nope".into()])).await.unwrap_err();
    assert_invalid_field(&err, "original.charge_ids[0]");
    use proto::post_remittance_request::{Adjustment, Line};
    let line = Line {
        charge_id: id(),
        charged_cents: -1,
        paid_cents: 0,
        patient_responsibility_cents: 0,
        adjustments: vec![Adjustment { group: 0, carc: "TOOLONG".into(), amount_cents: 5 }],
        remarks: vec!["X1".into()],
    };
    let remittance = |lines| proto::PostRemittanceRequest {
        context: ctx(),
        account_id: a.clone(),
        remittance_id: id(),
        claim_id: id(),
        payer_claim_number: String::new(),
        lines,
    };
    let err = c.billing.post_remittance(remittance(vec![line])).await.unwrap_err();
    let fields = ["charged_cents", "adjustments[0].group", "adjustments[0].carc", "remarks[0]"];
    for field in fields {
        assert_invalid_field(&err, &format!("lines[0].{field}"));
    }
    assert_invalid_field(&c.billing.post_remittance(remittance(vec![])).await.unwrap_err(), "lines");
    let mut pay = payment(&a, 0);
    pay.method = 0;
    let err = c.billing.receive_payment(pay).await.unwrap_err();
    for field in ["amount_cents", "method"] {
        assert_invalid_field(&err, field);
    }
    let mut off = write_off(&a, 100);
    off.context = ctx();
    assert_invalid_field(&c.billing.write_off(off).await.unwrap_err(), "context.reason");
    let charge = id();
    let err = c.billing.issue_superbill(superbill(&a, vec![charge.clone(), charge])).await.unwrap_err();
    assert_invalid_field(&err, "charge_ids");
    let reject = proto::RejectClaimRequest { context: ctx(), account_id: a.clone(), claim_id: id() };
    assert_invalid_field(&c.billing.reject_claim(reject).await.unwrap_err(), "context.reason");
    let mut pay = payment(&a, 100);
    pay.context = None;
    assert_invalid_field(&c.billing.receive_payment(pay).await.unwrap_err(), "context");
    assert_eq!(app.event_count().await, before);
}

async fn claims_are_for_insured_accounts_and_superbills_for_self_pay(app: &TestApp) {
    let mut self_pay = clinic(app, Payer::SelfPay, &[]).await;
    let err = self_pay.billing.submit_claim(original_claim(&self_pay.account_id, vec![id()])).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "INSURANCE_REQUIRED");
    let err = self_pay.billing.issue_superbill(superbill(&self_pay.account_id, vec![id()])).await.unwrap_err();
    assert_rejected(&err, Code::NotFound, "CHARGE_NOT_FOUND");
    let mut insured = clinic(app, Payer::Insured, &[]).await;
    let err = insured.billing.issue_superbill(superbill(&insured.account_id, vec![id()])).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "SELF_PAY_ONLY");
}

async fn claims_reference_charges_and_claims_of_the_account(app: &TestApp) {
    use proto::submit_claim_request::{Kind, Replacement, Void};
    let mut c = clinic(app, Payer::Insured, &[]).await;
    let a = c.account_id.clone();
    let err = c.billing.submit_claim(original_claim(&a, vec![id()])).await.unwrap_err();
    assert_rejected(&err, Code::NotFound, "CHARGE_NOT_FOUND");
    let mut replace = original_claim(&a, vec![]);
    replace.kind = Some(Kind::Replacement(Replacement { original_claim_id: id(), charge_ids: vec![id()] }));
    assert_rejected(&c.billing.submit_claim(replace).await.unwrap_err(), Code::NotFound, "CLAIM_NOT_FOUND");
    let mut void = original_claim(&a, vec![]);
    void.kind = Some(Kind::Void(Void { original_claim_id: id() }));
    assert_rejected(&c.billing.submit_claim(void).await.unwrap_err(), Code::NotFound, "CLAIM_NOT_FOUND");
    let reject = proto::RejectClaimRequest { context: ctx_because("invalid member id"), account_id: a, claim_id: id() };
    assert_rejected(&c.billing.reject_claim(reject).await.unwrap_err(), Code::NotFound, "CLAIM_NOT_FOUND");
}

async fn payments_leave_a_credit_that_cannot_be_written_off(app: &TestApp) {
    let mut c = clinic(app, Payer::SelfPay, &[]).await;
    let receipt = c.billing.receive_payment(payment(&c.account_id, 5_000)).await.unwrap().into_inner();
    assert_eq!((receipt.revision, receipt.event_types.as_slice()), (1, &["PaymentReceived".to_owned()][..]));
    let err = c.billing.write_off(write_off(&c.account_id, 1)).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "WRITE_OFF_EXCEEDS_BALANCE");
    let events = stored(app, &receipt.stream).await;
    assert_eq!((events[1].data["amount"].as_i64(), events[1].data["method"].as_str()), (Some(5_000), Some("card")));
}

async fn a_retried_command_is_applied_once(app: &TestApp) {
    let mut c = clinic(app, Payer::SelfPay, &[]).await;
    let before = app.event_count().await;
    let request = payment(&c.account_id, 2_500);
    let first = c.billing.receive_payment(request.clone()).await.unwrap().into_inner();
    let retry = c.billing.receive_payment(request).await.unwrap().into_inner();
    assert!(!first.already_applied && retry.already_applied);
    assert_eq!((retry.revision, retry.position), (first.revision, first.position));
    assert_eq!(app.event_count().await, before + 1);
}

/// Writers racing on one account either win or get ABORTED after bounded retries; retrying with
/// the same command id then stores each payment exactly once.
async fn concurrent_payments_on_one_account_are_each_kept_once(app: &TestApp) {
    let c = clinic(app, Payer::SelfPay, &[]).await;
    let requests: Vec<_> = (0..8).map(|i| payment(&c.account_id, 100 + i)).collect();
    let calls = requests.iter().cloned().map(|request| {
        let mut billing = c.billing.clone();
        async move { billing.receive_payment(request).await }
    });
    let outcomes = futures::future::join_all(calls).await;
    let mut billing = c.billing.clone();
    for (request, outcome) in requests.iter().zip(outcomes) {
        match outcome {
            Ok(receipt) => assert!(!receipt.into_inner().already_applied),
            Err(err) => assert_rejected(&err, Code::Aborted, "CONCURRENCY_CONFLICT"),
        }
        billing.receive_payment(request.clone()).await.unwrap();
    }
    let events = stored(app, &format!("account-{}", c.account_id)).await;
    let mut paid: Vec<i64> = events.iter().filter_map(|e| e.data["amount"].as_i64()).collect();
    paid.sort_unstable();
    assert_eq!(paid, (100..108).collect::<Vec<i64>>());
}

/// Two payments of the largest amount each were once both accepted: the ledger's total was no
/// valid amount, GetLedger answered INTERNAL and the next event on the account stalled the
/// projector for good. The second is refused now, and the ledger reads on.
async fn no_payment_takes_an_account_total_past_the_largest_amount(app: &TestApp) {
    const LARGEST: i64 = 100_000_000_000_000;
    let mut c = clinic(app, Payer::SelfPay, &[]).await;
    c.billing.receive_payment(payment(&c.account_id, LARGEST)).await.expect("the largest amount");
    let before = app.event_count().await;
    let err = c.billing.receive_payment(payment(&c.account_id, LARGEST)).await.unwrap_err();
    assert_invalid_field(&err, "amount_cents");
    assert_invalid_field(&c.billing.receive_payment(payment(&c.account_id, 1)).await.unwrap_err(), "amount_cents");
    assert_eq!(app.event_count().await, before, "a refusal stores nothing");
    let superbill = c.billing.issue_superbill(superbill(&c.account_id, vec![])).await;
    assert!(superbill.is_err(), "an empty superbill is refused as before");
    let mut records = app.records(&carelog_blackbox::Caller::new("auditor"));
    let ledger =
        proto::GetLedgerRequest { account_id: c.account_id.clone(), min_position: before, ..Default::default() };
    let reply = records.get_ledger(ledger).await.expect("the ledger reads").into_inner();
    let totals = crate::given::ledger_of(&reply).totals.expect("the ledger's totals");
    assert_eq!(totals.client_paid, LARGEST);
    // The next event on the account folds too.
    let receipt = c.billing.write_off(write_off(&c.account_id, 1)).await;
    assert!(receipt.is_err(), "a credit cannot be written off");
    let e = proto::GetEpisodeRequest { client_id: c.client_id.clone(), min_position: app.event_count().await };
    assert!(records.get_episode(e).await.is_ok());
}

on_both_backends!(
    no_payment_takes_an_account_total_past_the_largest_amount,
    an_account_opens_with_the_payer_from_the_clients_registration,
    every_command_needs_an_open_account,
    bad_input_names_every_bad_field_and_stores_nothing,
    claims_are_for_insured_accounts_and_superbills_for_self_pay,
    claims_reference_charges_and_claims_of_the_account,
    payments_leave_a_credit_that_cannot_be_written_off,
    a_retried_command_is_applied_once,
    concurrent_payments_on_one_account_are_each_kept_once,
);
