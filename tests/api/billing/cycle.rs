//! The claim cycle over charged sessions: original, replacement and void claims, rejections,
//! remittances that must reconcile, payments, write-offs, superbills, and the ledger.

use carelog_blackbox::{TestApp, assert_rejected, ctx, ctx_because, on_both_backends};
use carelog_proto::v1 as proto;
use proto::SessionModality::InPerson;
use proto::post_remittance_request::adjustment::Group;
use proto::post_remittance_request::{Adjustment, Line};
use proto::schedule_session_request::Kind as SessionKind;
use proto::submit_claim_request::{Kind, Replacement, Void};
use serde_json::json;
use tonic::Code;

use super::{Clinic, Payer, Stage, clinic, id, original_claim, payment, stored, superbill, write_off};

/// An insured client with two charges: a 55-minute video session ($180.00) and a 40-minute
/// office session ($130.00).
async fn two_charges(app: &TestApp) -> (Clinic, String, String) {
    let mut c = clinic(app, Payer::Insured, &["F32.1"]).await;
    let video = c.signed_video().await;
    let office = c.session(SessionKind::Psychotherapy, 40, InPerson, Stage::Signed).await;
    let first = c.charged(app, &video).await.data["charge_id"].as_str().unwrap_or_default().to_owned();
    let second = c.charged(app, &office).await.data["charge_id"].as_str().unwrap_or_default().to_owned();
    (c, first, second)
}

fn claim_of(c: &Clinic, kind: Kind) -> proto::SubmitClaimRequest {
    proto::SubmitClaimRequest { context: ctx(), account_id: c.account_id.clone(), claim_id: id(), kind: Some(kind) }
}

/// A remittance line with one CO-45 adjustment and an N130 remark.
fn line(charge_id: &str, charged: i64, paid: i64, contractual: i64, patient: i64) -> Line {
    Line {
        charge_id: charge_id.to_owned(),
        charged_cents: charged,
        paid_cents: paid,
        patient_responsibility_cents: patient,
        adjustments: vec![Adjustment { group: Group::Co as i32, carc: "45".into(), amount_cents: contractual }],
        remarks: vec!["N130".into()],
    }
}

fn remittance(c: &Clinic, claim_id: &str, lines: Vec<Line>) -> proto::PostRemittanceRequest {
    proto::PostRemittanceRequest {
        context: ctx(),
        account_id: c.account_id.clone(),
        remittance_id: id(),
        claim_id: claim_id.to_owned(),
        payer_claim_number: "PCN-2026-0001".into(),
        lines,
    }
}

async fn claims_are_submitted_replaced_and_voided_by_reference(app: &TestApp) {
    let (mut c, first, second) = two_charges(app).await;
    let original = original_claim(&c.account_id, vec![first.clone()]);
    let original_id = original.claim_id.clone();
    let receipt = c.billing.submit_claim(original).await.unwrap().into_inner();
    let submitted = &stored(app, &receipt.stream).await[usize::try_from(receipt.revision).unwrap()];
    assert_eq!(
        (&submitted.data["frequency"], &submitted.data["total"]),
        (&json!({"kind": "original"}), &json!(18_000))
    );
    let err = c.billing.submit_claim(original_claim(&c.account_id, vec![first.clone()])).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "CHARGE_ALREADY_CLAIMED");

    let charges = vec![first.clone(), second.clone()];
    let replacement =
        claim_of(&c, Kind::Replacement(Replacement { original_claim_id: original_id.clone(), charge_ids: charges }));
    let replacement_id = replacement.claim_id.clone();
    let receipt = c.billing.submit_claim(replacement).await.unwrap().into_inner();
    let replaced = &stored(app, &receipt.stream).await[usize::try_from(receipt.revision).unwrap()];
    assert_eq!(replaced.data["frequency"], json!({"kind": "replacement", "original": original_id}));
    assert_eq!(replaced.data["total"], 31_000);
    let again = Kind::Replacement(Replacement { original_claim_id: original_id, charge_ids: vec![first.clone()] });
    let err = c.billing.submit_claim(claim_of(&c, again)).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "CLAIM_NOT_CORRECTABLE");

    let void = claim_of(&c, Kind::Void(Void { original_claim_id: replacement_id.clone() }));
    let receipt = c.billing.submit_claim(void).await.unwrap().into_inner();
    let voided = &stored(app, &receipt.stream).await[usize::try_from(receipt.revision).unwrap()];
    assert_eq!(voided.data["frequency"], json!({"kind": "void", "original": replacement_id}));
    assert_eq!(voided.data["charge_ids"], json!([first, second]));
    c.billing.submit_claim(original_claim(&c.account_id, vec![first])).await.unwrap();
}

async fn a_rejected_claim_frees_its_charges_and_takes_no_remittance(app: &TestApp) {
    let (mut c, first, _) = two_charges(app).await;
    let claim = original_claim(&c.account_id, vec![first.clone()]);
    let claim_id = claim.claim_id.clone();
    c.billing.submit_claim(claim).await.unwrap();
    let reject = proto::RejectClaimRequest {
        context: ctx_because("clearinghouse: subscriber id not found"),
        account_id: c.account_id.clone(),
        claim_id: claim_id.clone(),
    };
    let receipt = c.billing.reject_claim(reject.clone()).await.unwrap().into_inner();
    assert_eq!(receipt.event_types, ["ClaimRejected"]);
    let mut again = reject;
    again.context = ctx_because("twice");
    let err = c.billing.reject_claim(again).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "CLAIM_NOT_AWAITING_REMITTANCE");
    let err = c.billing.post_remittance(remittance(&c, &claim_id, vec![line(&first, 18_000, 18_000, 0, 0)])).await;
    assert_rejected(&err.unwrap_err(), Code::FailedPrecondition, "CLAIM_NOT_AWAITING_REMITTANCE");
    c.billing.submit_claim(original_claim(&c.account_id, vec![first])).await.unwrap();
}

async fn a_remittance_must_reconcile_every_line(app: &TestApp) {
    let (mut c, first, second) = two_charges(app).await;
    let claim = original_claim(&c.account_id, vec![first.clone()]);
    let claim_id = claim.claim_id.clone();
    c.billing.submit_claim(claim).await.unwrap();
    let before = app.event_count().await;
    for (lines, reason) in [
        (vec![line(&first, 18_000, 10_000, 5_000, 2_000)], "REMITTANCE_UNBALANCED"),
        (vec![line(&first, 17_000, 10_000, 5_000, 2_000)], "REMITTANCE_CHARGE_MISMATCH"),
        (vec![line(&second, 13_000, 13_000, 0, 0)], "CHARGE_NOT_ON_CLAIM"),
    ] {
        let err = c.billing.post_remittance(remittance(&c, &claim_id, lines)).await.unwrap_err();
        assert_rejected(&err, Code::FailedPrecondition, reason);
    }
    assert_eq!(app.event_count().await, before);
    let receipt =
        c.billing.post_remittance(remittance(&c, &claim_id, vec![line(&first, 18_000, 10_000, 5_000, 3_000)]));
    let receipt = receipt.await.unwrap().into_inner();
    let posted = &stored(app, &receipt.stream).await[usize::try_from(receipt.revision).unwrap()].data;
    assert_eq!(
        (&posted["paid"], &posted["adjusted"], &posted["patient_responsibility"]),
        (&json!(10_000), &json!(5_000), &json!(3_000))
    );
    assert_eq!(posted["lines"][0]["adjustments"], json!([{"group": "CO", "carc": "45", "amount": 5_000}]));
    assert_eq!(posted["lines"][0]["remarks"], json!(["N130"]));
    let err = c.billing.post_remittance(remittance(&c, &claim_id, vec![line(&first, 18_000, 10_000, 5_000, 3_000)]));
    assert_rejected(&err.await.unwrap_err(), Code::FailedPrecondition, "CLAIM_NOT_AWAITING_REMITTANCE");
}

/// The balance recomputed from the stored events: charges − payer payments − adjustments − client
/// payments − write-offs.
async fn ledger(app: &TestApp, c: &Clinic) -> i64 {
    let amount = |e: &carelog_store::RecordedEvent, k: &str| e.data[k].as_i64().unwrap_or_default();
    stored(app, &format!("account-{}", c.account_id))
        .await
        .iter()
        .map(|e| match e.event_type.as_str() {
            "ChargeCreated" => amount(e, "total"),
            "RemittancePosted" => -amount(e, "paid") - amount(e, "adjusted"),
            "PaymentReceived" | "WrittenOff" => -amount(e, "amount"),
            _ => 0,
        })
        .sum()
}

/// The service's own balance, read from its refusal to write off a cent more than it (nothing is stored).
async fn service_balance(c: &mut Clinic, probe: i64) -> String {
    let err = c.billing.write_off(write_off(&c.account_id, probe)).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "WRITE_OFF_EXCEEDS_BALANCE");
    err.message().rsplit("balance of ").next().unwrap_or_default().to_owned()
}

fn dollars(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}${}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

async fn the_balance_always_equals_charges_minus_payments_adjustments_and_write_offs(app: &TestApp) {
    let (mut c, first, second) = two_charges(app).await;
    let claim = original_claim(&c.account_id, vec![first.clone(), second.clone()]);
    let claim_id = claim.claim_id.clone();
    let lines = vec![line(&first, 18_000, 12_000, 4_000, 2_000), line(&second, 13_000, 8_000, 3_000, 2_000)];
    let steps: Vec<(&str, i64)> =
        vec![("charged", 31_000), ("claimed", 31_000), ("remitted", 4_000), ("paid", 1_500), ("written off", 1_000)];
    for (step, expected) in steps {
        match step {
            "claimed" => drop(c.billing.submit_claim(claim.clone()).await.unwrap()),
            "remitted" => drop(c.billing.post_remittance(remittance(&c, &claim_id, lines.clone())).await.unwrap()),
            "paid" => drop(c.billing.receive_payment(payment(&c.account_id, 2_500)).await.unwrap()),
            "written off" => drop(c.billing.write_off(write_off(&c.account_id, 500)).await.unwrap()),
            _ => {}
        }
        assert_eq!(ledger(app, &c).await, expected, "after {step}");
        assert_eq!(service_balance(&mut c, expected + 1).await, dollars(expected), "after {step}");
    }
    let small = proto::write_off_request::Reason::SmallBalance as i32;
    let rest = proto::WriteOffRequest { reason: small, ..write_off(&c.account_id, 1_000) };
    c.billing.write_off(rest).await.unwrap();
    assert_eq!((ledger(app, &c).await, service_balance(&mut c, 1).await), (0, dollars(0)));
}

async fn a_self_pay_client_gets_a_superbill_and_pays_it(app: &TestApp) {
    let mut c = clinic(app, Payer::SelfPay, &["F41.1"]).await;
    let session = c.signed_video().await;
    let charge = c.charged(app, &session).await.data["charge_id"].as_str().unwrap_or_default().to_owned();
    let err = c.billing.submit_claim(original_claim(&c.account_id, vec![charge.clone()])).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "INSURANCE_REQUIRED");
    let receipt = c.billing.issue_superbill(superbill(&c.account_id, vec![charge.clone()])).await.unwrap().into_inner();
    let issued = &stored(app, &receipt.stream).await[usize::try_from(receipt.revision).unwrap()];
    assert_eq!((&issued.data["charge_ids"], &issued.data["total"]), (&json!([charge]), &json!(18_000)));
    c.billing.receive_payment(payment(&c.account_id, 18_000)).await.unwrap();
    assert_eq!((ledger(app, &c).await, service_balance(&mut c, 1).await), (0, dollars(0)));
}

on_both_backends!(
    claims_are_submitted_replaced_and_voided_by_reference,
    a_rejected_claim_frees_its_charges_and_takes_no_remittance,
    a_remittance_must_reconcile_every_line,
    the_balance_always_equals_charges_minus_payments_adjustments_and_write_offs,
    a_self_pay_client_gets_a_superbill_and_pays_it,
);
