//! The billing account aggregate (`account-{uuid}`): charges derived from held, documented
//! sessions; claims (original, replacement, void); remittances; payments; write-offs; superbills.
//!
//! Ledger invariant: `balance = charges − payer payments − adjustments − client payments −
//! write-offs`, kept by [`AccountState::balance`] from running totals that only events change.
//! Each remittance line must reconcile: `charged = paid + adjustments + patient responsibility`.
//! Nothing is edited: a wrong claim is replaced or voided by a new claim, a wrong charge is
//! written off.

mod command;
mod cpt;
mod decide;
mod event;
mod state;
#[cfg(test)]
mod tests;

pub use command::{BillingCommand, BillingContext, ClaimRequest, OverduePolicy};
pub use cpt::{FeeSchedule, Procedure, check_add_ons, derive_procedures};
pub use decide::{decide, evolve};
pub use event::{
    AccountOpened, Adjustment, AdjustmentGroup, BillingEvent, ChargeCreated, ChargeLine, ClaimFrequency, ClaimRejected,
    ClaimSubmitted, PaymentMethod, PaymentReceived, RemittanceLine, RemittancePosted, SuperbillIssued, WriteOffReason,
    WrittenOff,
};
pub use state::{AccountState, ChargeRecord, ClaimRecord, ClaimStatus, Ledger};
