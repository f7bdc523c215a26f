//! Claim statuses, shared by the ledger and the episode view's billing summary so the two can
//! never disagree about a claim. Their money totals are the domain's own
//! ([`carelog_domain::billing::Ledger`]: its checked sums and its balance).

use carelog_domain::billing::{BillingEvent, ClaimFrequency};
use carelog_domain::types::ClaimId;
use serde::{Deserialize, Serialize};

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
