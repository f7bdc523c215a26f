//! The ledger's side of a payer taking money back: each charge's current adjudication, the
//! reversals of whole remittances and the recoupments of part of a payment, and the payer
//! balance that follows from them.

use carelog_domain::billing::{self, PaymentRecouped, RemittancePosted, RemittanceReversed};
use carelog_domain::types::{Balance, ClaimId, Money, RemittanceId};
use serde::{Deserialize, Serialize};

use super::LedgerView;

/// How the payer's current remittance adjudicated a charge, after any recoupment:
/// `charged = paid + adjusted + patient_responsibility`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeAdjudication {
    pub remittance_id: RemittanceId,
    pub claim_id: ClaimId,
    pub paid: Money,
    pub adjusted: Money,
    pub patient_responsibility: Money,
}

impl LedgerView {
    /// The charges no payer has adjudicated, on an insured account: the domain's own rule.
    pub(super) fn payer_balance(&self) -> Balance {
        let unadjudicated = self.charges.iter().filter(|c| c.adjudication.is_none()).map(|c| c.amount);
        billing::payer_balance(self.payer.as_ref(), unadjudicated)
    }

    pub(super) fn adjudicate(&mut self, e: &RemittancePosted) {
        for line in &e.lines {
            if let Some(c) = self.charges.iter_mut().find(|c| c.charge_id == line.charge_id) {
                c.adjudication = Some(ChargeAdjudication {
                    remittance_id: e.remittance_id,
                    claim_id: e.claim_id,
                    paid: line.paid,
                    // Within the account's checked totals, so no overflow on a folded event.
                    adjusted: line.checked_adjusted().unwrap_or(Money::MAX),
                    patient_responsibility: line.patient_responsibility,
                });
            }
        }
    }

    pub(super) fn reverse(&mut self, e: &RemittanceReversed) {
        for line in &e.lines {
            if let Some(c) = self.charges.iter_mut().find(|c| c.charge_id == line.charge_id)
                && c.adjudication.as_ref().is_some_and(|a| a.remittance_id == e.remittance_id)
            {
                c.adjudication = None;
            }
        }
        if let Some(r) = self.remittances.iter_mut().find(|r| r.posted.remittance_id == e.remittance_id) {
            r.reversed_by = Some(e.reversal_id);
        }
        self.reversals.push(e.clone());
    }

    pub(super) fn recoup(&mut self, e: &PaymentRecouped) {
        if let Some(a) =
            self.charges.iter_mut().find(|c| c.charge_id == e.charge_id).and_then(|c| c.adjudication.as_mut())
            && let Some(paid) = a.paid.checked_sub(e.amount)
        {
            a.paid = paid;
            let moved = if e.group.adjustment().is_some() { &mut a.adjusted } else { &mut a.patient_responsibility };
            *moved = moved.checked_add(e.amount).unwrap_or(Money::MAX);
        }
        self.recoupments.push(e.clone());
    }
}
