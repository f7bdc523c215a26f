//! Money totals and claim statuses, shared by the ledger and the episode view's billing summary
//! so the two can never disagree about a balance.

use carelog_domain::billing::{BillingEvent, ClaimFrequency, Ledger};
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

    /// The totals after the amounts `event` moves: the domain's own checked sum
    /// ([`Ledger::after`]), so the ledger and the account's decisions agree to the cent. A total
    /// past the bound (which the write side refuses) is an error for the caller to quarantine,
    /// never a capped or wrapped figure.
    pub(crate) fn after(&self, event: &BillingEvent) -> Option<Self> {
        let ledger = Ledger {
            charged: self.charged,
            payer_paid: self.payer_paid,
            adjusted: self.adjusted,
            patient_responsibility: self.patient_responsibility,
            client_paid: self.client_paid,
            written_off: self.written_off,
        };
        let next = ledger.after(event)?;
        Some(Self {
            charged: next.charged,
            payer_paid: next.payer_paid,
            adjusted: next.adjusted,
            patient_responsibility: next.patient_responsibility,
            client_paid: next.client_paid,
            written_off: next.written_off,
        })
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
    /// Paid, then its payment reversed by the payer (835 claim status 22); its charges may be
    /// claimed again. A replaced or voided claim stays replaced or voided when reversed.
    Reversed,
}

impl ClaimStatus {
    /// The status after a transition to `next`: a reversal changes only a paid claim.
    pub(crate) fn then(self, next: Self) -> Self {
        if next == Self::Reversed && self != Self::Paid { self } else { next }
    }
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
        BillingEvent::RemittanceReversed(e) => vec![(e.claim_id, ClaimStatus::Reversed)],
        _ => Vec::new(),
    }
}
