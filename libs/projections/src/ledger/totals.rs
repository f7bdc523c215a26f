//! Money totals and claim statuses, shared by the ledger and the episode view's billing summary
//! so the two can never disagree about a balance.

use carelog_domain::billing::{BillingEvent, ClaimFrequency};
use carelog_domain::types::{Balance, ClaimId, Money};
use serde::{Deserialize, Serialize};

/// Running totals of an account; every amount comes from an event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerTotals {
    pub charged: Money,
    /// Paid by payers on remittances.
    pub payer_paid: Money,
    /// CARC adjustments on remittances.
    pub adjusted: Money,
    /// Informational: the part of the charges payers assigned to the client (still owed until paid).
    pub patient_responsibility: Money,
    pub client_paid: Money,
    pub written_off: Money,
}

impl LedgerTotals {
    /// Charges − payments − adjustments − write-offs; negative is a credit. The same formula as
    /// the domain's `Ledger::balance`, which the tests hold it to.
    pub fn balance(&self) -> Balance {
        Balance::default()
            .plus(self.charged)
            .minus(self.payer_paid)
            .minus(self.adjusted)
            .minus(self.client_paid)
            .minus(self.written_off)
    }

    /// Adds the amounts an event moves.
    pub(crate) fn apply(&mut self, event: &BillingEvent) {
        match event {
            BillingEvent::ChargeCreated(e) => self.charged = self.charged + e.total,
            BillingEvent::RemittancePosted(e) => {
                self.payer_paid = self.payer_paid + e.paid;
                self.adjusted = self.adjusted + e.adjusted;
                self.patient_responsibility = self.patient_responsibility + e.patient_responsibility;
            }
            BillingEvent::PaymentReceived(e) => self.client_paid = self.client_paid + e.amount,
            BillingEvent::WrittenOff(e) => self.written_off = self.written_off + e.amount,
            BillingEvent::AccountOpened(_)
            | BillingEvent::ClaimSubmitted(_)
            | BillingEvent::ClaimRejected(_)
            | BillingEvent::SuperbillIssued(_) => {}
        }
    }
}

/// Where a claim stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    /// Sent to the payer, not yet answered.
    Submitted,
    /// Refused before adjudication; its charges may be claimed again.
    Rejected,
    /// Adjudicated: a remittance was posted (the amount paid may be zero when denied).
    Paid,
    /// Superseded by a replacement claim (frequency 7).
    Replaced,
    /// Cancelled by a void claim (frequency 8).
    Voided,
    /// The void claim (frequency 8) itself.
    VoidRequest,
}

/// The status changes a billing event causes, in the order to apply them. Changes for claims
/// the reader has never seen are the reader's to ignore, as the domain's own fold does.
pub(crate) fn claim_transitions(event: &BillingEvent) -> Vec<(ClaimId, ClaimStatus)> {
    match event {
        BillingEvent::ClaimSubmitted(e) => {
            let mut out = Vec::with_capacity(2);
            match e.frequency {
                ClaimFrequency::Original => out.push((e.claim_id, ClaimStatus::Submitted)),
                ClaimFrequency::Replacement { original } => {
                    out.push((original, ClaimStatus::Replaced));
                    out.push((e.claim_id, ClaimStatus::Submitted));
                }
                ClaimFrequency::Void { original } => {
                    out.push((original, ClaimStatus::Voided));
                    out.push((e.claim_id, ClaimStatus::VoidRequest));
                }
            }
            out
        }
        BillingEvent::ClaimRejected(e) => vec![(e.claim_id, ClaimStatus::Rejected)],
        BillingEvent::RemittancePosted(e) => vec![(e.claim_id, ClaimStatus::Paid)],
        _ => Vec::new(),
    }
}
