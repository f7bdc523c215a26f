//! A payer taking money back: the reversal of a whole remittance (after a void or replacement of
//! a paid claim, or on the payer's own motion) and the recoupment of part of one charge's
//! payment. Both are allowed on a claim since replaced or voided: that is when payers send them.
//! Neither can take back more than was posted, so every total stays non-negative and every
//! adjudicated charge still reconciles.

use super::event::{Adjustment, PaymentRecouped, RemittanceLine, RemittanceReversed};
use super::state::{AccountState, ClaimStatus, RemittanceRecord};
use crate::error::{DomainError, Entity};
use crate::types::{Money, RemittanceId, ShortText};
use chrono::{DateTime, Utc};

/// The reversal of `remittance_id`: each charge it adjudicated, as the adjudication stands now.
pub(super) fn reverse_remittance(
    state: &AccountState,
    reversal_id: RemittanceId,
    remittance_id: RemittanceId,
    payer_claim_number: Option<ShortText>,
    now: DateTime<Utc>,
) -> Result<RemittanceReversed, DomainError> {
    if state.remittances.contains_key(&reversal_id) {
        return Err(DomainError::exists(Entity::Remittance, reversal_id));
    }
    let Some(RemittanceRecord::Posted { claim_id, charge_ids, reversed }) = state.remittances.get(&remittance_id)
    else {
        return Err(DomainError::not_found(Entity::Remittance, remittance_id));
    };
    if *reversed {
        return Err(DomainError::RemittanceAlreadyReversed(remittance_id.to_string()));
    }
    let lines: Vec<RemittanceLine> = charge_ids
        .iter()
        .filter_map(|id| {
            let charge = state.charges.get(id)?;
            let adjudication = charge.adjudication.as_ref().filter(|a| a.remittance_id == remittance_id)?;
            Some(adjudication.line(*id, charge.total))
        })
        .collect();
    let too_large = || DomainError::invalid("remittance_id", "the reversal's amounts pass the largest amount");
    let adjusted = lines.iter().map(RemittanceLine::checked_adjusted).collect::<Option<Vec<_>>>();
    Ok(RemittanceReversed {
        reversal_id,
        remittance_id,
        claim_id: *claim_id,
        payer_claim_number: payer_claim_number.or_else(|| state.claims.get(claim_id)?.payer_claim_number.clone()),
        paid: Money::checked_sum(lines.iter().map(|l| l.paid)).ok_or_else(too_large)?,
        adjusted: adjusted.and_then(Money::checked_sum).ok_or_else(too_large)?,
        patient_responsibility: Money::checked_sum(lines.iter().map(|l| l.patient_responsibility))
            .ok_or_else(too_large)?,
        lines,
        reversed_at: now,
    })
}

/// Checks a recoupment the payer sent: its id is new, and it takes back at most what the payer
/// paid on the charge under the claim that currently adjudicates it.
pub(super) fn check_recoupment(state: &AccountState, r: &PaymentRecouped) -> Result<(), DomainError> {
    if state.recoupments.contains(&r.recoupment_id) {
        return Err(DomainError::exists(Entity::Recoupment, r.recoupment_id));
    }
    if !state.claims.contains_key(&r.claim_id) {
        return Err(DomainError::not_found(Entity::Claim, r.claim_id));
    }
    let charge = state.charges.get(&r.charge_id).ok_or_else(|| DomainError::not_found(Entity::Charge, r.charge_id))?;
    let adjudication = charge
        .adjudication
        .as_ref()
        .filter(|a| a.claim_id == r.claim_id)
        .ok_or_else(|| DomainError::ChargeNotAdjudicated(r.charge_id.to_string(), r.claim_id.to_string()))?;
    if r.amount == Money::ZERO {
        return Err(DomainError::invalid("amount_cents", "must be greater than zero"));
    }
    if r.amount > adjudication.paid {
        return Err(DomainError::RecoupmentExceedsPaid(r.amount.to_string(), adjudication.paid.to_string()));
    }
    Ok(())
}

impl AccountState {
    /// Folds a reversal: the charges it names are unadjudicated again, and free to be claimed
    /// again if the reversed claim still carried them.
    pub(super) fn reverse(&mut self, e: &RemittanceReversed) {
        self.remittances.insert(e.reversal_id, RemittanceRecord::Reversal);
        if let Some(RemittanceRecord::Posted { reversed, .. }) = self.remittances.get_mut(&e.remittance_id) {
            *reversed = true;
        }
        for line in &e.lines {
            if let Some(c) = self.charges.get_mut(&line.charge_id)
                && c.adjudication.as_ref().is_some_and(|a| a.remittance_id == e.remittance_id)
            {
                c.adjudication = None;
            }
        }
        if self.claims.get(&e.claim_id).is_some_and(|c| c.status == ClaimStatus::Remitted) {
            self.release(e.claim_id, ClaimStatus::Reversed);
        }
    }

    /// Folds a recoupment: the amount moves from paid to the CAS group it was reassigned to.
    pub(super) fn recoup(&mut self, e: &PaymentRecouped) {
        self.recoupments.insert(e.recoupment_id);
        let Some(a) = self.charges.get_mut(&e.charge_id).and_then(|c| c.adjudication.as_mut()) else {
            return;
        };
        let Some(paid) = a.paid.checked_sub(e.amount) else {
            return;
        };
        a.paid = paid;
        match e.group.adjustment() {
            Some(group) => a.adjustments.push(Adjustment { group, carc: e.carc.clone(), amount: e.amount }),
            None => {
                a.patient_responsibility = a.patient_responsibility.checked_add(e.amount).unwrap_or(Money::MAX);
            }
        }
    }
}
