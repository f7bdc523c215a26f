//! Every BillingService request, generated from the API's descriptors: converted, or refused with
//! violations naming its fields; never a panic.

use carelog_runtime::testing::{fuzz, meta, schema, uuid};
use proptest::prelude::*;

use super::*;

/// The stream written is the account the request names.
fn on_account(raw: &str, converted: &AccountRequest) -> Result<(), TestCaseError> {
    prop_assert_eq!(converted.account_id.as_uuid(), uuid(raw));
    Ok(())
}

fn other(action: &Action) -> TestCaseError {
    TestCaseError::fail(format!("converted to another action: {action:?}"))
}

#[test]
fn every_billing_request_is_fuzzed() {
    let fuzzed = [
        "CreateChargeRequest",
        "IssueSuperbillRequest",
        "OpenAccountRequest",
        "PostRemittanceRequest",
        "ReceivePaymentRequest",
        "RecoupPaymentRequest",
        "RejectClaimRequest",
        "ReverseRemittanceRequest",
        "SubmitClaimRequest",
        "WriteOffRequest",
    ];
    assert_eq!(schema::requests_of("BillingService"), fuzzed);
}

#[test]
fn open_account_never_panics() {
    let convert = |r: &proto::OpenAccountRequest| open_account(r, &meta(r.context.as_ref()));
    fuzz("OpenAccountRequest", convert, |r, converted| {
        on_account(&r.account_id, converted)?;
        let Action::Open { client_id } = &converted.action else { return Err(other(&converted.action)) };
        prop_assert_eq!(client_id.as_uuid(), uuid(&r.client_id));
        Ok(())
    });
}

#[test]
fn create_charge_never_panics() {
    let convert = |r: &proto::CreateChargeRequest| create_charge(r, &meta(r.context.as_ref()));
    fuzz("CreateChargeRequest", convert, |r, converted| {
        on_account(&r.account_id, converted)?;
        let Action::Charge { session_id, .. } = &converted.action else { return Err(other(&converted.action)) };
        prop_assert_eq!(session_id.as_uuid(), uuid(&r.session_id));
        Ok(())
    });
}

#[test]
fn submit_claim_never_panics() {
    let convert = |r: &proto::SubmitClaimRequest| submit_claim(r, &meta(r.context.as_ref()));
    fuzz("SubmitClaimRequest", convert, |r, converted| on_account(&r.account_id, converted));
}

#[test]
fn reject_claim_never_panics() {
    let convert = |r: &proto::RejectClaimRequest| reject_claim(r, &meta(r.context.as_ref()));
    fuzz("RejectClaimRequest", convert, |r, converted| on_account(&r.account_id, converted));
}

#[test]
fn post_remittance_never_panics() {
    let convert = |r: &proto::PostRemittanceRequest| post_remittance(r, &meta(r.context.as_ref()));
    fuzz("PostRemittanceRequest", convert, |r, converted| {
        on_account(&r.account_id, converted)?;
        let Action::Account(BillingCommand::PostRemittance { lines, .. }) = &converted.action else {
            return Err(other(&converted.action));
        };
        prop_assert_eq!(lines.len(), r.lines.len());
        for (line, raw) in lines.iter().zip(&r.lines) {
            prop_assert_eq!(line.paid.cents(), raw.paid_cents);
        }
        Ok(())
    });
}

#[test]
fn receive_payment_never_panics() {
    let convert = |r: &proto::ReceivePaymentRequest| receive_payment(r, &meta(r.context.as_ref()));
    fuzz("ReceivePaymentRequest", convert, |r, converted| {
        on_account(&r.account_id, converted)?;
        let Action::Account(BillingCommand::ReceivePayment { amount, .. }) = &converted.action else {
            return Err(other(&converted.action));
        };
        prop_assert!(amount.cents() > 0 && amount.cents() == r.amount_cents);
        Ok(())
    });
}

#[test]
fn write_off_never_panics() {
    let convert = |r: &proto::WriteOffRequest| write_off(r, &meta(r.context.as_ref()));
    fuzz("WriteOffRequest", convert, |r, converted| on_account(&r.account_id, converted));
}

#[test]
fn issue_superbill_never_panics() {
    let convert = |r: &proto::IssueSuperbillRequest| issue_superbill(r, &meta(r.context.as_ref()));
    fuzz("IssueSuperbillRequest", convert, |r, converted| on_account(&r.account_id, converted));
}

#[test]
fn reverse_remittance_never_panics() {
    let convert = |r: &proto::ReverseRemittanceRequest| reverse_remittance(r, &meta(r.context.as_ref()));
    fuzz("ReverseRemittanceRequest", convert, |r, converted| on_account(&r.account_id, converted));
}

#[test]
fn recoup_payment_never_panics() {
    let convert = |r: &proto::RecoupPaymentRequest| recoup_payment(r, &meta(r.context.as_ref()));
    fuzz("RecoupPaymentRequest", convert, |r, converted| {
        on_account(&r.account_id, converted)?;
        let Action::Account(BillingCommand::RecoupPayment { amount, .. }) = &converted.action else {
            return Err(other(&converted.action));
        };
        prop_assert!(amount.cents() > 0 && amount.cents() == r.amount_cents);
        Ok(())
    });
}
