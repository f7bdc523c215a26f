//! Accounts-receivable aging: the open balance of each charge, bucketed by how long ago the
//! service was given.

use carelog_domain::types::Balance;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::LedgerView;

/// Open balance by age of service. Every bucket is zero or positive; money paid beyond what is
/// owed shows as `credit`, so `days_0_30 + days_31_60 + days_61_90 + over_90 − credit` is the
/// ledger balance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgingBuckets {
    /// Services 0 to 30 days ago (and any dated after `today`).
    pub days_0_30: Balance,
    pub days_31_60: Balance,
    pub days_61_90: Balance,
    /// Services more than 90 days ago.
    pub over_90: Balance,
    /// Payments and adjustments not absorbed by any open charge.
    pub credit: Balance,
}

impl AgingBuckets {
    /// The buckets minus the credit: equals the ledger balance.
    pub fn total(&self) -> Balance {
        Balance::from_cents(
            self.days_0_30.cents() + self.days_31_60.cents() + self.days_61_90.cents() + self.over_90.cents()
                - self.credit.cents(),
        )
    }

    fn add(&mut self, age_days: i64, cents: i64) {
        let bucket = match age_days {
            ..=30 => &mut self.days_0_30,
            31..=60 => &mut self.days_31_60,
            61..=90 => &mut self.days_61_90,
            _ => &mut self.over_90,
        };
        *bucket = Balance::from_cents(bucket.cents() + cents);
    }
}

impl LedgerView {
    /// Ages the open balance as of `today`.
    ///
    /// The payer's current adjudication of a charge (paid plus adjustments, after any reversal
    /// or recoupment) reduces that charge. Client payments and write-offs are made to the
    /// account, not to a charge, so they — and any payer money no adjudication accounts for —
    /// are applied to the oldest open charges first, the usual practice-management rule, which
    /// keeps the oldest buckets honest.
    pub fn aging(&self, today: NaiveDate) -> AgingBuckets {
        let mut open: Vec<(NaiveDate, i64)> = Vec::with_capacity(self.charges.len());
        let mut credited_to_lines = 0i64;
        for charge in &self.charges {
            // Within the account's checked totals, so far from overflow.
            let line_credit = charge.adjudication.as_ref().map_or(0, |a| a.paid.cents() + a.adjusted.cents());
            let applied = line_credit.min(charge.amount.cents());
            credited_to_lines += applied;
            open.push((charge.service_date, charge.amount.cents() - applied));
        }
        let t = &self.totals;
        let all_credits = t.payer_paid.cents() + t.adjusted.cents() + t.client_paid.cents() + t.written_off.cents();
        // Lines never credit more than their remittance totals on a reconciled log, so the pool
        // is not negative; clamp anyway rather than invent a debt.
        let mut pool = (all_credits - credited_to_lines).max(0);
        // Stable: charges with the same service date are relieved in the order charged.
        let mut oldest_first: Vec<usize> = (0..open.len()).collect();
        oldest_first.sort_by_key(|&i| open[i].0);
        for i in oldest_first {
            let take = pool.min(open[i].1);
            open[i].1 -= take;
            pool -= take;
        }
        let mut buckets = AgingBuckets { credit: Balance::from_cents(pool), ..AgingBuckets::default() };
        for (service_date, cents) in open {
            if cents > 0 {
                buckets.add((today - service_date).num_days(), cents);
            }
        }
        buckets
    }
}
