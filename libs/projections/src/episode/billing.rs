//! The billing summary in the episode view: counts and totals across the client's accounts.
//! The per-line detail lives in the ledger view; this is what a clinician's screen shows.

use std::collections::BTreeMap;

use carelog_domain::billing::{BillingEvent, Ledger};
use carelog_domain::sessions::estimate::ESTIMATE_COVERS_MONTHS;
use carelog_domain::types::{AccountId, Balance, ClaimId, EstimateId, Money};
use carelog_store::RecordedEvent;
use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::decode::{overflow, stream_id};
use crate::error::ViewError;
use crate::ledger::{ClaimStatus, claim_transitions};

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
    /// Summed over the accounts by the domain's checked sums ([`Ledger::after`]).
    pub totals: Ledger,
    /// `totals.balance()`, kept beside the totals for readers of the stored JSON.
    pub balance: Balance,
    /// Each claim's current status.
    pub claims: BTreeMap<ClaimId, ClaimStatus>,
    /// How many claims are in each status.
    pub claims_by_status: BTreeMap<ClaimStatus, u32>,
    /// No Surprises Act (45 CFR 149.620): the latest estimate period whose charges exceed its
    /// Good Faith Estimate by $400 or more, which makes the client eligible for patient-provider
    /// dispute resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispute_resolution: Option<DisputeEligibility>,
    /// Each Good Faith Estimate's period and what was billed for services in it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub estimate_periods: Vec<EstimatePeriod>,
}

/// The difference that makes a self-pay client eligible for dispute resolution: $400.
pub const DISPUTE_THRESHOLD: i64 = 40_000;

/// The services one estimate covers: from the day it was issued until the next estimate was
/// issued, for at most 12 months; and the charges for services on those days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstimatePeriod {
    pub estimate_id: EstimateId,
    pub from: NaiveDate,
    /// The first day it no longer covers.
    pub until: NaiveDate,
    pub estimated: Money,
    pub billed: Money,
}

/// Charges past the estimate of their period by at least [`DISPUTE_THRESHOLD`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeEligibility {
    pub estimate_id: EstimateId,
    pub estimated: Money,
    pub billed: Money,
    pub over_by: Money,
    /// The estimate's period: services from this day …
    pub from: NaiveDate,
    /// … until the day before this one.
    pub until: NaiveDate,
}

impl EstimatePeriod {
    fn eligibility(&self) -> Option<DisputeEligibility> {
        let over = self.billed.cents() - self.estimated.cents();
        (over >= DISPUTE_THRESHOLD).then(|| DisputeEligibility {
            estimate_id: self.estimate_id,
            estimated: self.estimated,
            billed: self.billed,
            over_by: Money::from_cents(over).unwrap_or(Money::MAX),
            from: self.from,
            until: self.until,
        })
    }
}

impl BillingSummary {
    /// A new estimate covers services from the day it is issued: the previous one ends there.
    /// Charges already attributed stay with the estimate of their service date.
    pub(super) fn estimate_issued(&mut self, estimate_id: EstimateId, issued_at: DateTime<Utc>, estimated: Money) {
        let from = issued_at.date_naive();
        let until = from.checked_add_months(Months::new(ESTIMATE_COVERS_MONTHS)).unwrap_or(NaiveDate::MAX);
        if let Some(previous) = self.estimate_periods.last_mut() {
            previous.until = previous.until.min(from);
        }
        self.estimate_periods.push(EstimatePeriod { estimate_id, from, until, estimated, billed: Money::ZERO });
        self.compare_with_estimates();
    }

    /// The period covering `service_date`, if any, with `amount` billed in it; `None` on overflow.
    fn bill_period(&self, service_date: NaiveDate, amount: Money) -> Option<Vec<EstimatePeriod>> {
        let mut periods = self.estimate_periods.clone();
        if let Some(p) = periods.iter_mut().rev().find(|p| p.from <= service_date && service_date < p.until) {
            p.billed = p.billed.checked_add(amount)?;
        }
        Some(periods)
    }

    fn compare_with_estimates(&mut self) {
        self.dispute_resolution = self.estimate_periods.iter().rev().find_map(EstimatePeriod::eligibility);
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
        let periods = match e {
            BillingEvent::ChargeCreated(c) => {
                Some(self.bill_period(c.service_date, c.total).ok_or_else(|| overflow(event))?)
            }
            _ => None,
        };
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
        if let Some(periods) = periods {
            self.estimate_periods = periods;
            self.compare_with_estimates();
        }
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
