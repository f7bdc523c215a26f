//! The billing account aggregate (`account-{uuid}`): charges derived from held, documented
//! sessions; claims (original, replacement, void); remittances; payments; write-offs; superbills.
//!
//! Ledger invariant: `balance = charges − payer payments − adjustments − client payments −
//! write-offs`, kept by [`AccountState::balance`] from running totals that only events change.
//! Each remittance line must reconcile: `charged = paid + adjustments + patient responsibility`.
//! Nothing is edited: a wrong claim is replaced or voided by a new claim, a wrong charge is
//! written off, a payer's takeback is a reversal or recoupment event that moves money back.
//! Every adjudicated charge reconciles at every point (charged = paid + adjustments + patient
//! responsibility); what no payer has adjudicated is the payer balance, the rest of the balance
//! is the client's.

mod charge;
mod command;
mod cpt;
mod decide;
mod event;
mod state;
mod takeback;
#[cfg(test)]
mod tests;

pub use command::{BillingCommand, BillingContext, ClaimRequest, OverduePolicy};
pub use cpt::{FeeSchedule, Procedure, check_add_ons, derive_procedures};
pub use decide::{decide, evolve};
pub use event::{
    AccountOpened, Adjustment, AdjustmentGroup, BillingEvent, CasGroup, ChargeCreated, ChargeLine, ClaimFrequency,
    ClaimRejected, ClaimSubmitted, PaymentMethod, PaymentReceived, PaymentRecouped, RemittanceLine, RemittancePosted,
    RemittanceReversed, SuperbillIssued, WriteOffReason, WrittenOff,
};
pub use state::{
    AccountState, Adjudication, ChargeRecord, ClaimRecord, ClaimStatus, Ledger, RemittanceRecord, patient_balance,
    payer_balance,
};
