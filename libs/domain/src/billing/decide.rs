//! The billing account's rules.

use std::collections::BTreeSet;

use super::charge::create_charge;
use super::command::{BillingCommand, BillingContext, ClaimRequest};
use super::event::*;
use super::state::{AccountState, ClaimStatus};
use super::takeback::{check_recoupment, reverse_remittance};
use crate::error::{DomainError, Entity};
use crate::intake::Payer;
use crate::types::{ChargeId, ClaimId, Money};

/// Folds an event into the state.
pub fn evolve(mut state: AccountState, event: &BillingEvent) -> AccountState {
    state.apply(event);
    state
}

/// Decides which events a command produces, or which rule refuses it.
pub fn decide(
    cmd: &BillingCommand,
    state: &AccountState,
    ctx: &BillingContext,
) -> Result<Vec<BillingEvent>, DomainError> {
    let now = ctx.now;
    if let BillingCommand::OpenAccount { account_id, client_id, payer } = cmd {
        if state.account_id.is_some() {
            return Err(DomainError::exists(Entity::Account, account_id));
        }
        return Ok(vec![
            AccountOpened { account_id: *account_id, client_id: *client_id, payer: payer.clone(), opened_at: now }
                .into(),
        ]);
    }
    if state.account_id.is_none() {
        return Err(DomainError::not_found(Entity::Account, "in this stream"));
    }
    let event: BillingEvent = match cmd {
        BillingCommand::OpenAccount { account_id, .. } => return Err(DomainError::exists(Entity::Account, account_id)),
        BillingCommand::CreateCharge { charge_id, interactive_complexity, diagnosis_pointers } => {
            create_charge(state, ctx, *charge_id, *interactive_complexity, diagnosis_pointers)?.into()
        }
        BillingCommand::SubmitClaim { claim_id, request } => submit_claim(state, ctx, *claim_id, request)?.into(),
        BillingCommand::RejectClaim { claim_id, reason } => {
            let claim = state.claims.get(claim_id).ok_or_else(|| DomainError::not_found(Entity::Claim, claim_id))?;
            if claim.status != ClaimStatus::Submitted {
                return Err(DomainError::ClaimNotAwaitingRemittance(claim_id.to_string(), claim.status.label()));
            }
            ClaimRejected { claim_id: *claim_id, reason: reason.clone(), rejected_at: now }.into()
        }
        BillingCommand::PostRemittance { remittance_id, claim_id, payer_claim_number, lines } => {
            if state.remittances.contains_key(remittance_id) {
                return Err(DomainError::exists(Entity::Remittance, remittance_id));
            }
            check_remittance(state, *claim_id, lines)?;
            let adjusted = lines.iter().map(RemittanceLine::checked_adjusted).collect::<Option<Vec<_>>>();
            RemittancePosted {
                remittance_id: *remittance_id,
                claim_id: *claim_id,
                payer_claim_number: payer_claim_number.clone(),
                paid: sum("lines", lines.iter().map(|l| l.paid))?,
                adjusted: sum("lines", adjusted.ok_or_else(|| DomainError::invalid("lines", too_large()))?)?,
                patient_responsibility: sum("lines", lines.iter().map(|l| l.patient_responsibility))?,
                lines: lines.clone(),
                posted_at: now,
            }
            .into()
        }
        BillingCommand::ReverseRemittance { reversal_id, remittance_id, payer_claim_number } => {
            reverse_remittance(state, *reversal_id, *remittance_id, payer_claim_number.clone(), now)?.into()
        }
        BillingCommand::RecoupPayment { recoupment_id, claim_id, charge_id, amount, group, carc } => {
            let recouped = PaymentRecouped {
                recoupment_id: *recoupment_id,
                claim_id: *claim_id,
                charge_id: *charge_id,
                amount: *amount,
                group: *group,
                carc: carc.clone(),
                recouped_at: now,
            };
            check_recoupment(state, &recouped)?;
            recouped.into()
        }
        BillingCommand::ReceivePayment { payment_id, amount, method, service_date } => {
            if state.payments.contains(payment_id) {
                return Err(DomainError::exists(Entity::Payment, payment_id));
            }
            if *amount == Money::ZERO {
                return Err(DomainError::invalid("amount_cents", "must be greater than zero"));
            }
            // Clinical time is never in the future: no payment is for a service not yet given.
            if service_date.is_some_and(|d| d > now.date_naive()) {
                return Err(DomainError::invalid("service_date", "must not be in the future"));
            }
            PaymentReceived {
                payment_id: *payment_id,
                amount: *amount,
                method: *method,
                service_date: *service_date,
                received_at: now,
            }
            .into()
        }
        BillingCommand::WriteOff { write_off_id, amount, reason, note } => {
            if state.write_offs.contains(write_off_id) {
                return Err(DomainError::exists(Entity::WriteOff, write_off_id));
            }
            if *amount == Money::ZERO {
                return Err(DomainError::invalid("amount_cents", "must be greater than zero"));
            }
            // Writing off more than is owed would manufacture a credit out of nothing.
            if amount.cents() > state.balance().cents() {
                return Err(DomainError::WriteOffExceedsBalance(amount.to_string(), state.balance().to_string()));
            }
            WrittenOff {
                write_off_id: *write_off_id,
                amount: *amount,
                reason: *reason,
                note: note.clone(),
                written_off_at: now,
            }
            .into()
        }
        BillingCommand::IssueSuperbill { superbill_id, charge_ids } => {
            if !matches!(state.payer, Some(Payer::SelfPay)) {
                return Err(DomainError::SelfPayOnly);
            }
            if state.superbills.contains(superbill_id) {
                return Err(DomainError::exists(Entity::Superbill, superbill_id));
            }
            let total = charges_total(state, charge_ids)?;
            SuperbillIssued { superbill_id: *superbill_id, charge_ids: charge_ids.clone(), total, issued_at: now }
                .into()
        }
    };
    // Every total of the account stays a valid amount, so a read model can always add it up.
    if state.ledger.after(&event).is_none() {
        return Err(DomainError::invalid(amount_field(cmd), too_large()));
    }
    Ok(vec![event])
}

/// The request field whose amount would take a total past the bound.
fn amount_field(cmd: &BillingCommand) -> &'static str {
    match cmd {
        BillingCommand::PostRemittance { .. } => "lines",
        BillingCommand::ReverseRemittance { .. } => "remittance_id",
        BillingCommand::CreateCharge { .. } => "charge_id",
        _ => "amount_cents",
    }
}

pub(super) fn too_large() -> String {
    format!("would take an account total past {} (the largest amount Carelog holds)", Money::MAX)
}

/// `Σ amounts`, or a refusal of `field` past the bound.
pub(super) fn sum(field: &'static str, amounts: impl IntoIterator<Item = Money>) -> Result<Money, DomainError> {
    Money::checked_sum(amounts).ok_or_else(|| DomainError::invalid(field, too_large()))
}

fn submit_claim(
    state: &AccountState,
    ctx: &BillingContext,
    claim_id: ClaimId,
    request: &ClaimRequest,
) -> Result<ClaimSubmitted, DomainError> {
    if !matches!(state.payer, Some(Payer::Insurance { .. })) {
        return Err(DomainError::InsuranceRequired);
    }
    if state.claims.contains_key(&claim_id) {
        return Err(DomainError::exists(Entity::Claim, claim_id));
    }
    let correctable = |original: &ClaimId| {
        let claim = state.claims.get(original).ok_or_else(|| DomainError::not_found(Entity::Claim, original))?;
        match claim.status {
            ClaimStatus::Submitted | ClaimStatus::Remitted => Ok(claim),
            other => Err(DomainError::ClaimNotCorrectable(original.to_string(), other.label())),
        }
    };
    let (frequency, charge_ids) = match request {
        ClaimRequest::Original { charge_ids } => {
            claimable(state, charge_ids, None)?;
            (ClaimFrequency::Original, charge_ids.clone())
        }
        ClaimRequest::Replacement { original, charge_ids } => {
            correctable(original)?;
            claimable(state, charge_ids, Some(*original))?;
            (ClaimFrequency::Replacement { original: *original }, charge_ids.clone())
        }
        ClaimRequest::Void { original } => {
            let claim = correctable(original)?;
            (ClaimFrequency::Void { original: *original }, claim.charge_ids.clone())
        }
    };
    // A correction names the original as the payer knows it, when a remittance told us how.
    let payer_claim_number =
        frequency.original().and_then(|original| state.claims.get(&original)?.payer_claim_number.clone());
    let dates = charge_ids.iter().filter_map(|id| state.charges.get(id).map(|c| c.service_date));
    Ok(ClaimSubmitted {
        claim_id,
        frequency,
        payer_claim_number,
        service_from: dates.clone().min(),
        service_to: dates.max(),
        total: charges_total(state, &charge_ids)?,
        charge_ids,
        submitted_at: ctx.now,
    })
}

/// Charges must exist, be listed once, and not sit on another open claim (`replacing` may
/// already carry them).
fn claimable(state: &AccountState, charge_ids: &[ChargeId], replacing: Option<ClaimId>) -> Result<(), DomainError> {
    if charge_ids.is_empty() {
        return Err(DomainError::invalid("charge_ids", "must list at least one charge"));
    }
    for id in charge_ids {
        let charge = state.charges.get(id).ok_or_else(|| DomainError::not_found(Entity::Charge, id))?;
        if charge.claim.is_some() && charge.claim != replacing {
            return Err(DomainError::ChargeAlreadyClaimed(id.to_string()));
        }
    }
    Ok(())
}

fn charges_total(state: &AccountState, charge_ids: &[ChargeId]) -> Result<Money, DomainError> {
    if charge_ids.is_empty() {
        return Err(DomainError::invalid("charge_ids", "must list at least one charge"));
    }
    let unique: BTreeSet<_> = charge_ids.iter().collect();
    if unique.len() != charge_ids.len() {
        return Err(DomainError::invalid("charge_ids", "must not repeat a charge"));
    }
    let totals = charge_ids
        .iter()
        .map(|id| state.charges.get(id).map(|c| c.total).ok_or_else(|| DomainError::not_found(Entity::Charge, id)))
        .collect::<Result<Vec<_>, _>>()?;
    sum("charge_ids", totals)
}

/// Each line must belong to the claim, restate the charge, and reconcile:
/// charged = paid + adjustments + patient responsibility.
fn check_remittance(state: &AccountState, claim_id: ClaimId, lines: &[RemittanceLine]) -> Result<(), DomainError> {
    let claim = state.claims.get(&claim_id).ok_or_else(|| DomainError::not_found(Entity::Claim, claim_id))?;
    if claim.status != ClaimStatus::Submitted {
        return Err(DomainError::ClaimNotAwaitingRemittance(claim_id.to_string(), claim.status.label()));
    }
    if lines.is_empty() {
        return Err(DomainError::invalid("lines", "must have at least one line"));
    }
    let mut seen = BTreeSet::new();
    for line in lines {
        if !claim.charge_ids.contains(&line.charge_id) {
            return Err(DomainError::ChargeNotOnClaim(line.charge_id.to_string(), claim_id.to_string()));
        }
        if !seen.insert(line.charge_id) {
            return Err(DomainError::invalid("lines", "must not repeat a charge"));
        }
        let charge = state.charges.get(&line.charge_id);
        // A charge is adjudicated once at a time: a replacement's remittance comes after the
        // payer reversed the original's (an 835 carries the reversal first).
        if let Some(earlier) = charge.and_then(|c| c.adjudication.as_ref()) {
            return Err(DomainError::ChargeAlreadyAdjudicated(
                line.charge_id.to_string(),
                earlier.remittance_id.to_string(),
            ));
        }
        let charged = charge.map_or(Money::ZERO, |c| c.total);
        if line.charged != charged {
            return Err(DomainError::RemittanceChargeMismatch(
                line.charge_id.to_string(),
                line.charged.to_string(),
                charged.to_string(),
            ));
        }
        let accounted = line
            .checked_adjusted()
            .and_then(|adjusted| Money::checked_sum([line.paid, adjusted, line.patient_responsibility]));
        let Some(accounted) = accounted else {
            return Err(DomainError::invalid("lines", too_large()));
        };
        if accounted != line.charged {
            return Err(DomainError::RemittanceUnbalanced(
                line.charge_id.to_string(),
                line.charged.to_string(),
                accounted.to_string(),
            ));
        }
    }
    Ok(())
}
