//! A billing account as folded from its events.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use super::event::{Adjustment, BillingEvent, ClaimFrequency, RemittanceLine};
use crate::intake::Payer;
use crate::types::{
    AccountId, Balance, ChargeId, ClaimId, ClientId, Money, PaymentId, RecoupmentId, RemittanceId, SessionId,
    ShortText, SuperbillId, WriteOffId,
};

/// Running totals of the ledger; every amount comes from an event. The read side keeps these
/// very totals (serialized under these field names in the ledger and episode views), so the
/// account's decisions and every view agree to the cent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ledger {
    pub charged: Money,
    pub payer_paid: Money,
    pub adjusted: Money,
    /// Informational: how much of the balance payers assigned to the client.
    pub patient_responsibility: Money,
    pub client_paid: Money,
    pub written_off: Money,
}

impl Ledger {
    /// Charges − payments − adjustments − write-offs; negative is a credit.
    pub fn balance(&self) -> Balance {
        Balance::default()
            .plus(self.charged)
            .minus(self.payer_paid)
            .minus(self.adjusted)
            .minus(self.client_paid)
            .minus(self.written_off)
    }

    /// The totals after `event`, or `None` if a total would pass [`MAX_CENTS`] or a takeback
    /// would take one below zero: the decision
    /// refuses such an event, so every stored account stays within what read models can hold.
    pub fn after(&self, event: &BillingEvent) -> Option<Self> {
        let mut next = *self;
        match event {
            BillingEvent::ChargeCreated(e) => next.charged = self.charged.checked_add(e.total)?,
            BillingEvent::RemittancePosted(e) => {
                next.payer_paid = self.payer_paid.checked_add(e.paid)?;
                next.adjusted = self.adjusted.checked_add(e.adjusted)?;
                next.patient_responsibility = self.patient_responsibility.checked_add(e.patient_responsibility)?;
            }
            BillingEvent::RemittanceReversed(e) => {
                next.payer_paid = self.payer_paid.checked_sub(e.paid)?;
                next.adjusted = self.adjusted.checked_sub(e.adjusted)?;
                next.patient_responsibility = self.patient_responsibility.checked_sub(e.patient_responsibility)?;
            }
            BillingEvent::PaymentRecouped(e) => {
                next.payer_paid = self.payer_paid.checked_sub(e.amount)?;
                match e.group.adjustment() {
                    Some(_) => next.adjusted = self.adjusted.checked_add(e.amount)?,
                    None => next.patient_responsibility = self.patient_responsibility.checked_add(e.amount)?,
                }
            }
            BillingEvent::PaymentReceived(e) => next.client_paid = self.client_paid.checked_add(e.amount)?,
            BillingEvent::WrittenOff(e) => next.written_off = self.written_off.checked_add(e.amount)?,
            BillingEvent::AccountOpened(_)
            | BillingEvent::ClaimSubmitted(_)
            | BillingEvent::ClaimRejected(_)
            | BillingEvent::SuperbillIssued(_) => {}
        }
        Some(next)
    }
}

/// What payers still owe on an account with `payer`: on an insured account, every charge no
/// payer has adjudicated (not yet remitted, or remitted and reversed), given by its total in
/// `unadjudicated`. A self-pay account owes nothing to a payer. The ledger view calls this too.
pub fn payer_balance(payer: Option<&Payer>, unadjudicated: impl IntoIterator<Item = Money>) -> Balance {
    if !matches!(payer, Some(Payer::Insurance { .. })) {
        return Balance::default();
    }
    unadjudicated.into_iter().fold(Balance::default(), Balance::plus)
}

/// What the client owes (negative: a credit): the balance less the payer balance.
pub fn patient_balance(balance: Balance, payer_balance: Balance) -> Balance {
    Balance::from_cents(balance.cents() - payer_balance.cents())
}

/// How a payer's remittance adjudicated one charge, as it stands after any recoupment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjudication {
    pub remittance_id: RemittanceId,
    pub claim_id: ClaimId,
    pub paid: Money,
    pub adjustments: Vec<Adjustment>,
    pub patient_responsibility: Money,
}

impl Adjudication {
    /// The adjudication as a remittance line restating `charged` (what a reversal takes back).
    pub fn line(&self, charge_id: ChargeId, charged: Money) -> RemittanceLine {
        RemittanceLine {
            charge_id,
            charged,
            paid: self.paid,
            patient_responsibility: self.patient_responsibility,
            adjustments: self.adjustments.clone(),
            remarks: Vec::new(),
        }
    }
}

/// A charge and where it stands in the claim cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRecord {
    pub session_id: SessionId,
    pub service_date: NaiveDate,
    pub total: Money,
    /// The open claim carrying it, if any.
    pub claim: Option<ClaimId>,
    /// The payer's current adjudication; `None` before a remittance and after its reversal.
    pub adjudication: Option<Adjudication>,
}

/// A remittance id and what it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemittanceRecord {
    /// A posted remittance and the charges it adjudicated; `reversed` once taken back.
    Posted { claim_id: ClaimId, charge_ids: Vec<ChargeId>, reversed: bool },
    /// The id of a reversal.
    Reversal,
}

/// Where a claim stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimStatus {
    Submitted,
    Rejected,
    Remitted,
    /// Its remittance was reversed by the payer (without a replacement or void from us).
    Reversed,
    /// Replaced or voided by a later claim.
    Superseded,
    /// A void claim (frequency 8) itself.
    VoidRequest,
}

impl ClaimStatus {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Rejected => "rejected",
            Self::Remitted => "remitted",
            Self::Reversed => "reversed",
            Self::Superseded => "superseded",
            Self::VoidRequest => "a void request",
        }
    }
}

/// A submitted claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRecord {
    pub frequency: ClaimFrequency,
    /// The payer's own number for this claim, from its latest remittance that gave one.
    pub payer_claim_number: Option<ShortText>,
    pub charge_ids: Vec<ChargeId>,
    pub status: ClaimStatus,
}

/// Folded state of one account stream. `Default` is the state before any event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountState {
    pub account_id: Option<AccountId>,
    pub client_id: Option<ClientId>,
    pub payer: Option<Payer>,
    pub charges: BTreeMap<ChargeId, ChargeRecord>,
    pub charged_sessions: BTreeMap<SessionId, ChargeId>,
    pub claims: BTreeMap<ClaimId, ClaimRecord>,
    pub remittances: BTreeMap<RemittanceId, RemittanceRecord>,
    pub recoupments: BTreeSet<RecoupmentId>,
    pub payments: BTreeSet<PaymentId>,
    pub write_offs: BTreeSet<WriteOffId>,
    pub superbills: BTreeSet<SuperbillId>,
    pub ledger: Ledger,
}

impl AccountState {
    /// The account balance.
    pub fn balance(&self) -> Balance {
        self.ledger.balance()
    }

    /// What payers still owe (see [`payer_balance`]).
    pub fn payer_balance(&self) -> Balance {
        let unadjudicated = self.charges.values().filter(|c| c.adjudication.is_none()).map(|c| c.total);
        payer_balance(self.payer.as_ref(), unadjudicated)
    }

    /// What the client owes (see [`patient_balance`]).
    pub fn patient_balance(&self) -> Balance {
        patient_balance(self.balance(), self.payer_balance())
    }

    pub(super) fn set_claim(&mut self, charges: &[ChargeId], claim: Option<ClaimId>) {
        for id in charges {
            if let Some(c) = self.charges.get_mut(id) {
                c.claim = claim;
            }
        }
    }

    pub(super) fn release(&mut self, claim_id: ClaimId, status: ClaimStatus) {
        if let Some(claim) = self.claims.get_mut(&claim_id) {
            claim.status = status;
            let charges = claim.charge_ids.clone();
            self.set_claim(&charges, None);
        }
    }

    /// Folds one event into the state. An event that would take a total past [`MAX_CENTS`](crate::types::MAX_CENTS)
    /// (refused since the decision checks [`Ledger::after`]; only a stream written before that
    /// could hold one) leaves the totals as they were instead of wrapping or capping them.
    pub fn apply(&mut self, event: &BillingEvent) {
        if let Some(ledger) = self.ledger.after(event) {
            self.ledger = ledger;
        }
        match event {
            BillingEvent::AccountOpened(e) => {
                self.account_id = Some(e.account_id);
                self.client_id = Some(e.client_id);
                self.payer = Some(e.payer.clone());
            }
            BillingEvent::ChargeCreated(e) => {
                self.charges.insert(
                    e.charge_id,
                    ChargeRecord {
                        session_id: e.session_id,
                        service_date: e.service_date,
                        total: e.total,
                        claim: None,
                        adjudication: None,
                    },
                );
                self.charged_sessions.insert(e.session_id, e.charge_id);
            }
            BillingEvent::ClaimSubmitted(e) => {
                let status = match e.frequency {
                    ClaimFrequency::Void { .. } => ClaimStatus::VoidRequest,
                    _ => ClaimStatus::Submitted,
                };
                if let Some(original) = e.frequency.original() {
                    self.release(original, ClaimStatus::Superseded);
                }
                self.claims.insert(
                    e.claim_id,
                    ClaimRecord {
                        frequency: e.frequency,
                        payer_claim_number: None,
                        charge_ids: e.charge_ids.clone(),
                        status,
                    },
                );
                if status == ClaimStatus::Submitted {
                    self.set_claim(&e.charge_ids, Some(e.claim_id));
                }
            }
            BillingEvent::ClaimRejected(e) => self.release(e.claim_id, ClaimStatus::Rejected),
            BillingEvent::RemittancePosted(e) => {
                let charge_ids = e.lines.iter().map(|l| l.charge_id).collect();
                let record = RemittanceRecord::Posted { claim_id: e.claim_id, charge_ids, reversed: false };
                self.remittances.insert(e.remittance_id, record);
                if let Some(c) = self.claims.get_mut(&e.claim_id) {
                    c.status = ClaimStatus::Remitted;
                    c.payer_claim_number = e.payer_claim_number.clone().or(c.payer_claim_number.take());
                }
                for line in &e.lines {
                    if let Some(c) = self.charges.get_mut(&line.charge_id) {
                        c.adjudication = Some(Adjudication {
                            remittance_id: e.remittance_id,
                            claim_id: e.claim_id,
                            paid: line.paid,
                            adjustments: line.adjustments.clone(),
                            patient_responsibility: line.patient_responsibility,
                        });
                    }
                }
            }
            BillingEvent::RemittanceReversed(e) => self.reverse(e),
            BillingEvent::PaymentRecouped(e) => self.recoup(e),
            BillingEvent::PaymentReceived(e) => {
                self.payments.insert(e.payment_id);
            }
            BillingEvent::WrittenOff(e) => {
                self.write_offs.insert(e.write_off_id);
            }
            BillingEvent::SuperbillIssued(e) => {
                self.superbills.insert(e.superbill_id);
            }
        }
    }
}
