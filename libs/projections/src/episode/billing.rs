//! The billing summary in the episode view: counts and totals across the client's accounts.
//! The per-line detail lives in the ledger view; this is what a clinician's screen shows.

use std::collections::BTreeMap;

use carelog_domain::billing::BillingEvent;
use carelog_domain::types::{AccountId, Balance, ClaimId, EstimateId, Money};
use carelog_store::RecordedEvent;
use serde::{Deserialize, Serialize};

use crate::decode::{overflow, stream_id};
use crate::error::ViewError;
use crate::ledger::{ClaimStatus, LedgerTotals, claim_transitions};

/// Billing at a glance for one client, over all of the client's accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingSummary {
    /// The client's accounts in opening order.
    pub accounts: Vec<AccountId>,
    pub charges: u32,
    pub remittances: u32,
    pub payments: u32,
    pub write_offs: u32,
    pub superbills: u32,
    pub totals: LedgerTotals,
    /// `totals.balance()`, kept beside the totals for readers of the stored JSON.
    pub balance: Balance,
    /// Each claim's current status.
    pub claims: BTreeMap<ClaimId, ClaimStatus>,
    /// How many claims are in each status.
    pub claims_by_status: BTreeMap<ClaimStatus, u32>,
    /// No Surprises Act (45 CFR 149.620): set while the client's charges exceed their latest
    /// Good Faith Estimate by $400 or more, which makes them eligible for patient-provider
    /// dispute resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispute_resolution: Option<DisputeEligibility>,
}

/// The difference that makes a self-pay client eligible for dispute resolution: $400.
pub const DISPUTE_THRESHOLD: i64 = 40_000;

/// Charges past the estimate by at least [`DISPUTE_THRESHOLD`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeEligibility {
    pub estimate_id: EstimateId,
    pub estimated: Money,
    pub billed: Money,
    pub over_by: Money,
}

impl BillingSummary {
    /// Recomputes [`Self::dispute_resolution`] against the latest estimate (every charge of the
    /// client's accounts counts as billed; estimates are given to self-pay clients only).
    pub(super) fn compare_with(&mut self, latest: Option<(EstimateId, Money)>) {
        self.dispute_resolution = latest.and_then(|(estimate_id, estimated)| {
            let over = self.totals.charged.cents() - estimated.cents();
            (over >= DISPUTE_THRESHOLD).then(|| DisputeEligibility {
                estimate_id,
                estimated,
                billed: self.totals.charged,
                over_by: Money::from_cents(over).unwrap_or(Money::MAX),
            })
        });
    }
}

impl BillingSummary {
    pub(super) fn apply(&mut self, event: &RecordedEvent, e: &BillingEvent) -> Result<(), ViewError> {
        // Money counts even if the opening event was never seen, exactly as in the domain's
        // ledger; the account is then remembered from its stream name.
        let account = stream_id(event, AccountId::from_stream_name)?;
        // Checked before anything changes, so a refused event leaves the summary as it was.
        // Totals span every account of the client: each is bounded, their sum is checked here.
        let totals = self.totals.after(e).ok_or_else(|| overflow(event))?;
        if !self.accounts.contains(&account) {
            self.accounts.push(account);
        }
        match e {
            BillingEvent::ChargeCreated(_) => self.charges += 1,
            BillingEvent::RemittancePosted(_) => self.remittances += 1,
            BillingEvent::PaymentReceived(_) => self.payments += 1,
            BillingEvent::WrittenOff(_) => self.write_offs += 1,
            BillingEvent::SuperbillIssued(_) => self.superbills += 1,
            BillingEvent::AccountOpened(_)
            | BillingEvent::ClaimSubmitted(_)
            | BillingEvent::ClaimRejected(_)
            | BillingEvent::RemittanceReversed(_)
            | BillingEvent::PaymentRecouped(_) => {}
        }
        self.totals = totals;
        self.balance = self.totals.balance();
        let transitions = claim_transitions(e);
        if !transitions.is_empty() {
            for (claim, status) in transitions {
                // A new claim is added; a status change for a claim never seen is ignored, as
                // the domain's fold ignores it.
                let is_new = matches!(e, BillingEvent::ClaimSubmitted(s) if s.claim_id == claim);
                if is_new {
                    self.claims.insert(claim, status);
                } else if let Some(current) = self.claims.get_mut(&claim) {
                    *current = current.then(status);
                }
            }
            self.claims_by_status = BTreeMap::new();
            for status in self.claims.values() {
                *self.claims_by_status.entry(*status).or_default() += 1;
            }
        }
        Ok(())
    }
}
