//! Proto requests → validated billing commands. Every bad field is reported, by its proto path.

use std::collections::BTreeSet;

use carelog_domain::billing::{
    Adjustment, AdjustmentGroup, BillingCommand, CasGroup, ClaimRequest, PaymentMethod, RemittanceLine, WriteOffReason,
};
use carelog_domain::types::{
    AccountId, CarcCode, ChargeId, ClaimId, ClientId, DiagnosisPointer, Money, PaymentId, PlanId, RarcCode, Reason,
    RecoupmentId, RemittanceId, SessionId, ShortText, SuperbillId, WriteOffId,
};
use carelog_executor::{CommandMeta, ServiceError};
use carelog_proto::v1 as proto;
use carelog_runtime::parse::{self, Fields};
use proto::post_remittance_request::adjustment::Group;
use proto::receive_payment_request::Method;
use proto::recoup_payment_request::Group as RecoupGroup;
use proto::submit_claim_request::Kind;
use proto::write_off_request::Reason as ProtoWriteOffReason;

#[cfg(test)]
mod fuzz;

/// A parsed request: the account it writes to and what it needs to read first.
#[derive(Debug, Clone)]
pub struct AccountRequest {
    pub account_id: AccountId,
    pub action: Action,
}

/// What a request does, by the streams its decision reads besides the account.
#[derive(Debug, Clone)]
pub enum Action {
    /// Opens the account; the payer is read from the client's registration, never restated by
    /// the caller, so an account cannot disagree with the client's record.
    Open { client_id: ClientId },
    /// Charges a session, read with the account's client and, if named, the treatment plan.
    Charge { session_id: SessionId, plan_id: Option<PlanId>, command: BillingCommand },
    /// A command decided on the account stream alone.
    Account(BillingCommand),
}

fn request(account_id: Option<AccountId>, action: Action) -> Option<AccountRequest> {
    Some(AccountRequest { account_id: account_id?, action })
}

fn account_id(f: &mut Fields, raw: &str) -> Option<AccountId> {
    f.take("account_id", AccountId::parse(raw))
}

/// The reason in the command context, required where the event keeps it (rejections, write-offs).
fn context_reason(f: &mut Fields, meta: &CommandMeta) -> Option<Reason> {
    f.take("context.reason", Reason::parse(meta.reason.as_deref().unwrap_or_default()))
}

/// A non-empty list of distinct charge ids, each violation named `field[i]`.
fn charge_ids(f: &mut Fields, field: &str, raw: &[String]) -> Option<Vec<ChargeId>> {
    if raw.is_empty() {
        f.violation(field, "must list at least one charge");
        return None;
    }
    let ids: Vec<Option<ChargeId>> =
        raw.iter().enumerate().map(|(i, id)| f.take(&format!("{field}[{i}]"), ChargeId::parse(id))).collect();
    let ids = ids.into_iter().collect::<Option<Vec<_>>>()?;
    if ids.iter().collect::<BTreeSet<_>>().len() != ids.len() {
        f.violation(field, "must not repeat a charge");
        return None;
    }
    Some(ids)
}

fn money(f: &mut Fields, field: &str, cents: i64) -> Option<Money> {
    f.take(field, Money::from_cents(cents))
}

pub fn open_account(r: &proto::OpenAccountRequest, _: &CommandMeta) -> Result<AccountRequest, ServiceError> {
    let mut f = Fields::default();
    let account_id = account_id(&mut f, &r.account_id);
    let client_id = f.take("client_id", ClientId::parse(&r.client_id));
    f.finish(|| request(account_id, Action::Open { client_id: client_id? }))
}

pub fn create_charge(r: &proto::CreateChargeRequest, _: &CommandMeta) -> Result<AccountRequest, ServiceError> {
    let mut f = Fields::default();
    let account_id = account_id(&mut f, &r.account_id);
    let charge_id = f.take("charge_id", ChargeId::parse(&r.charge_id));
    let session_id = f.take("session_id", SessionId::parse(&r.session_id));
    let plan_id =
        if r.plan_id.trim().is_empty() { Some(None) } else { f.take("plan_id", PlanId::parse(&r.plan_id)).map(Some) };
    let pointers = f.take("diagnosis_pointers", DiagnosisPointer::parse_list(&r.diagnosis_pointers));
    f.finish(|| {
        let command = BillingCommand::CreateCharge {
            charge_id: charge_id?,
            interactive_complexity: r.interactive_complexity,
            diagnosis_pointers: pointers?,
        };
        request(account_id, Action::Charge { session_id: session_id?, plan_id: plan_id?, command })
    })
}

pub fn submit_claim(r: &proto::SubmitClaimRequest, _: &CommandMeta) -> Result<AccountRequest, ServiceError> {
    let mut f = Fields::default();
    let account_id = account_id(&mut f, &r.account_id);
    let claim_id = f.take("claim_id", ClaimId::parse(&r.claim_id));
    let kind = match &r.kind {
        None => {
            f.violation("kind", "is required: original, replacement or void");
            None
        }
        Some(Kind::Original(o)) => charge_ids(&mut f, "original.charge_ids", &o.charge_ids)
            .map(|charge_ids| ClaimRequest::Original { charge_ids }),
        Some(Kind::Replacement(rep)) => {
            let original = f.take("replacement.original_claim_id", ClaimId::parse(&rep.original_claim_id));
            let charge_ids = charge_ids(&mut f, "replacement.charge_ids", &rep.charge_ids);
            original.zip(charge_ids).map(|(original, charge_ids)| ClaimRequest::Replacement { original, charge_ids })
        }
        Some(Kind::Void(v)) => f
            .take("void.original_claim_id", ClaimId::parse(&v.original_claim_id))
            .map(|original| ClaimRequest::Void { original }),
    };
    f.finish(|| {
        request(account_id, Action::Account(BillingCommand::SubmitClaim { claim_id: claim_id?, request: kind? }))
    })
}

pub fn reject_claim(r: &proto::RejectClaimRequest, meta: &CommandMeta) -> Result<AccountRequest, ServiceError> {
    let mut f = Fields::default();
    let account_id = account_id(&mut f, &r.account_id);
    let claim_id = f.take("claim_id", ClaimId::parse(&r.claim_id));
    let reason = context_reason(&mut f, meta);
    f.finish(|| {
        request(account_id, Action::Account(BillingCommand::RejectClaim { claim_id: claim_id?, reason: reason? }))
    })
}

pub fn post_remittance(r: &proto::PostRemittanceRequest, _: &CommandMeta) -> Result<AccountRequest, ServiceError> {
    let mut f = Fields::default();
    let account_id = account_id(&mut f, &r.account_id);
    let remittance_id = f.take("remittance_id", RemittanceId::parse(&r.remittance_id));
    let claim_id = f.take("claim_id", ClaimId::parse(&r.claim_id));
    let payer_claim_number = payer_claim_number(&mut f, &r.payer_claim_number);
    if r.lines.is_empty() {
        f.violation("lines", "a remittance needs at least one line");
    }
    let lines: Vec<Option<RemittanceLine>> =
        r.lines.iter().enumerate().map(|(i, line)| remittance_line(&mut f, &format!("lines[{i}]"), line)).collect();
    f.finish(|| {
        let command = BillingCommand::PostRemittance {
            remittance_id: remittance_id?,
            claim_id: claim_id?,
            payer_claim_number: payer_claim_number?,
            lines: lines.into_iter().collect::<Option<Vec<_>>>()?,
        };
        request(account_id, Action::Account(command))
    })
}

/// An optional payer claim control number: `Some(None)` when absent, `None` when malformed.
fn payer_claim_number(f: &mut Fields, raw: &str) -> Option<Option<ShortText>> {
    if raw.trim().is_empty() { Some(None) } else { f.take("payer_claim_number", ShortText::parse(raw)).map(Some) }
}

pub fn reverse_remittance(
    r: &proto::ReverseRemittanceRequest,
    _: &CommandMeta,
) -> Result<AccountRequest, ServiceError> {
    let mut f = Fields::default();
    let account_id = account_id(&mut f, &r.account_id);
    let reversal_id = f.take("reversal_id", RemittanceId::parse(&r.reversal_id));
    let remittance_id = f.take("remittance_id", RemittanceId::parse(&r.remittance_id));
    let payer_claim_number = payer_claim_number(&mut f, &r.payer_claim_number);
    f.finish(|| {
        let command = BillingCommand::ReverseRemittance {
            reversal_id: reversal_id?,
            remittance_id: remittance_id?,
            payer_claim_number: payer_claim_number?,
        };
        request(account_id, Action::Account(command))
    })
}

pub fn recoup_payment(r: &proto::RecoupPaymentRequest, _: &CommandMeta) -> Result<AccountRequest, ServiceError> {
    let mut f = Fields::default();
    let account_id = account_id(&mut f, &r.account_id);
    let recoupment_id = f.take("recoupment_id", RecoupmentId::parse(&r.recoupment_id));
    let claim_id = f.take("claim_id", ClaimId::parse(&r.claim_id));
    let charge_id = f.take("charge_id", ChargeId::parse(&r.charge_id));
    let amount = f.take("amount_cents", Money::positive(r.amount_cents));
    let group = match f.take("group", parse::enumeration::<RecoupGroup>("group", r.group)) {
        Some(RecoupGroup::Co) => Some(CasGroup::ContractualObligation),
        Some(RecoupGroup::Pr) => Some(CasGroup::PatientResponsibility),
        Some(RecoupGroup::Oa) => Some(CasGroup::OtherAdjustment),
        Some(RecoupGroup::Pi) => Some(CasGroup::PayerInitiated),
        Some(RecoupGroup::Unspecified) | None => None,
    };
    let carc = f.take("carc", CarcCode::parse(&r.carc));
    f.finish(|| {
        let command = BillingCommand::RecoupPayment {
            recoupment_id: recoupment_id?,
            claim_id: claim_id?,
            charge_id: charge_id?,
            amount: amount?,
            group: group?,
            carc: carc?,
        };
        request(account_id, Action::Account(command))
    })
}

/// One line; whether it reconciles is a billing rule (`REMITTANCE_UNBALANCED`), not a format check.
fn remittance_line(f: &mut Fields, at: &str, line: &proto::post_remittance_request::Line) -> Option<RemittanceLine> {
    let charge_id = f.take(&format!("{at}.charge_id"), ChargeId::parse(&line.charge_id));
    let charged = money(f, &format!("{at}.charged_cents"), line.charged_cents);
    let paid = money(f, &format!("{at}.paid_cents"), line.paid_cents);
    let patient_responsibility =
        money(f, &format!("{at}.patient_responsibility_cents"), line.patient_responsibility_cents);
    let adjustments: Vec<Option<Adjustment>> = line
        .adjustments
        .iter()
        .enumerate()
        .map(|(j, a)| {
            let field = format!("{at}.adjustments[{j}]");
            let group = match f.take(&format!("{field}.group"), parse::enumeration::<Group>("group", a.group)) {
                Some(Group::Co) => Some(AdjustmentGroup::ContractualObligation),
                Some(Group::Oa) => Some(AdjustmentGroup::OtherAdjustment),
                Some(Group::Pi) => Some(AdjustmentGroup::PayerInitiated),
                Some(Group::Unspecified) | None => None,
            };
            let carc = f.take(&format!("{field}.carc"), CarcCode::parse(&a.carc));
            let amount = money(f, &format!("{field}.amount_cents"), a.amount_cents);
            Some(Adjustment { group: group?, carc: carc?, amount: amount? })
        })
        .collect();
    let remarks: Vec<Option<RarcCode>> = line
        .remarks
        .iter()
        .enumerate()
        .map(|(k, code)| f.take(&format!("{at}.remarks[{k}]"), RarcCode::parse(code)))
        .collect();
    Some(RemittanceLine {
        charge_id: charge_id?,
        charged: charged?,
        paid: paid?,
        patient_responsibility: patient_responsibility?,
        adjustments: adjustments.into_iter().collect::<Option<Vec<_>>>()?,
        remarks: remarks.into_iter().collect::<Option<Vec<_>>>()?,
    })
}

pub fn receive_payment(r: &proto::ReceivePaymentRequest, _: &CommandMeta) -> Result<AccountRequest, ServiceError> {
    let mut f = Fields::default();
    let account_id = account_id(&mut f, &r.account_id);
    let payment_id = f.take("payment_id", PaymentId::parse(&r.payment_id));
    let amount = f.take("amount_cents", Money::positive(r.amount_cents));
    let method = match f.take("method", parse::enumeration::<Method>("method", r.method)) {
        Some(Method::Cash) => Some(PaymentMethod::Cash),
        Some(Method::Card) => Some(PaymentMethod::Card),
        Some(Method::Check) => Some(PaymentMethod::Check),
        Some(Method::BankTransfer) => Some(PaymentMethod::BankTransfer),
        Some(Method::Unspecified) | None => None,
    };
    let service_date = if r.service_date.trim().is_empty() {
        Some(None)
    } else {
        f.take("service_date", parse::date("service_date", &r.service_date)).map(Some)
    };
    f.finish(|| {
        let command = BillingCommand::ReceivePayment {
            payment_id: payment_id?,
            amount: amount?,
            method: method?,
            service_date: service_date?,
        };
        request(account_id, Action::Account(command))
    })
}

pub fn write_off(r: &proto::WriteOffRequest, meta: &CommandMeta) -> Result<AccountRequest, ServiceError> {
    use ProtoWriteOffReason as R;
    let mut f = Fields::default();
    let account_id = account_id(&mut f, &r.account_id);
    let write_off_id = f.take("write_off_id", WriteOffId::parse(&r.write_off_id));
    let amount = f.take("amount_cents", Money::positive(r.amount_cents));
    let reason = match f.take("reason", parse::enumeration::<R>("reason", r.reason)) {
        Some(R::FinancialHardship) => Some(WriteOffReason::FinancialHardship),
        Some(R::SmallBalance) => Some(WriteOffReason::SmallBalance),
        Some(R::BadDebt) => Some(WriteOffReason::BadDebt),
        Some(R::ChargeCorrection) => Some(WriteOffReason::ChargeCorrection),
        Some(R::Administrative) => Some(WriteOffReason::Administrative),
        Some(R::Unspecified) | None => None,
    };
    let note = context_reason(&mut f, meta);
    f.finish(|| {
        let command =
            BillingCommand::WriteOff { write_off_id: write_off_id?, amount: amount?, reason: reason?, note: note? };
        request(account_id, Action::Account(command))
    })
}

pub fn issue_superbill(r: &proto::IssueSuperbillRequest, _: &CommandMeta) -> Result<AccountRequest, ServiceError> {
    let mut f = Fields::default();
    let account_id = account_id(&mut f, &r.account_id);
    let superbill_id = f.take("superbill_id", SuperbillId::parse(&r.superbill_id));
    let charge_ids = charge_ids(&mut f, "charge_ids", &r.charge_ids);
    f.finish(|| {
        let command = BillingCommand::IssueSuperbill { superbill_id: superbill_id?, charge_ids: charge_ids? };
        request(account_id, Action::Account(command))
    })
}
