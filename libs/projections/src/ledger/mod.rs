//! The ledger view: one billing account's charges, claims, remittances, payments, write-offs
//! and superbills, its balance and its aging.

mod aging;
mod erasure;
#[cfg(test)]
mod proptests;
mod takeback;
#[cfg(test)]
mod tests;
mod totals;

use carelog_domain::billing::{
    BillingEvent, ChargeLine, ClaimFrequency, Ledger, PaymentReceived, RemittancePosted, SuperbillIssued, WrittenOff,
};
use carelog_domain::intake::Payer;
use carelog_domain::types::{
    AccountId, Balance, ChargeId, ClaimId, ClientId, ClinicianId, EpisodeId, Icd10Code, Money, Reason, RemittanceId,
    SessionId,
};
use carelog_store::{Position, RecordedEvent};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub use aging::AgingBuckets;
pub use takeback::ChargeAdjudication;
pub use totals::ClaimStatus;
pub(crate) use totals::claim_transitions;

use crate::decode::{DecodeOnce, Decoded, overflow, stream_id};
use crate::error::ViewError;

/// A charge for one held, documented session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeEntry {
    pub charge_id: ChargeId,
    pub session_id: SessionId,
    pub episode_id: EpisodeId,
    pub rendering_clinician: ClinicianId,
    pub service_date: NaiveDate,
    /// Diagnoses in pointer order.
    pub diagnoses: Vec<Icd10Code>,
    /// CPT lines (codes, modifiers, units, place of service, pointers, fees).
    pub lines: Vec<ChargeLine>,
    pub amount: Money,
    pub plan_review_overdue: bool,
    pub created_at: DateTime<Utc>,
    /// The payer's current adjudication of the charge; absent while no payer has (or after a
    /// reversal): the charge is then part of the payer balance of an insured account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjudication: Option<ChargeAdjudication>,
}

/// Why a claim was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRejection {
    pub reason: Reason,
    pub rejected_at: DateTime<Utc>,
}

/// A claim and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimEntry {
    pub claim_id: ClaimId,
    pub frequency: ClaimFrequency,
    /// X12 837 frequency code: 1 original, 7 replacement, 8 void.
    pub frequency_code: u8,
    pub charge_ids: Vec<ChargeId>,
    pub total: Money,
    /// First and last service date of its charges (absent for claims stored before they were kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_from: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_to: Option<NaiveDate>,
    pub submitted_at: DateTime<Utc>,
    pub status: ClaimStatus,
    pub rejection: Option<ClaimRejection>,
    /// The replacement or void claim that superseded this one.
    pub superseded_by: Option<ClaimId>,
    /// Remittances posted against this claim.
    pub remittances: Vec<RemittanceId>,
}

/// A posted remittance (835) as its event says — per charge: charged, paid, patient
/// responsibility, CARC adjustments and RARC remarks — and the payer's reversal of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemittanceEntry {
    #[serde(flatten)]
    pub posted: RemittancePosted,
    /// The payer's reversal of this remittance, once posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reversed_by: Option<RemittanceId>,
}

/// One billing account as its events say it stands. Start from `Default` (the first account
/// event decides which account) or [`LedgerView::new`], then [`apply`](Self::apply) the log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerView {
    pub account_id: Option<AccountId>,
    pub client_id: Option<ClientId>,
    pub payer: Option<Payer>,
    pub opened_at: Option<DateTime<Utc>>,
    pub charges: Vec<ChargeEntry>,
    pub claims: Vec<ClaimEntry>,
    pub remittances: Vec<RemittanceEntry>,
    /// The payer's reversals of whole remittances (835 claim status 22), as posted.
    #[serde(default)]
    pub reversals: Vec<carelog_domain::billing::RemittanceReversed>,
    /// The payer's takebacks of part of a charge's payment, as posted.
    #[serde(default)]
    pub recoupments: Vec<carelog_domain::billing::PaymentRecouped>,
    /// The client's payments, write-offs and superbills as their events say (the view keeps the
    /// domain's own types). A payment without a service date has `service_date: null`; ledgers
    /// stored before omitted the key, and both read back as `None`.
    pub payments: Vec<PaymentReceived>,
    pub write_offs: Vec<WrittenOff>,
    pub superbills: Vec<SuperbillIssued>,
    /// The domain's own running totals, moved by its checked sums ([`Ledger::after`]).
    pub totals: Ledger,
    /// Charges − payments − adjustments − write-offs; negative is a credit.
    pub balance: Balance,
    /// What payers still owe: on an insured account, the charges no payer has adjudicated.
    #[serde(default)]
    pub payer_balance: Balance,
    /// What the client owes (negative: a credit): `balance − payer_balance`.
    #[serde(default)]
    pub patient_balance: Balance,
    pub last_position: Position,
    pub last_recorded_at: Option<DateTime<Utc>>,
    /// How many events have been folded in.
    pub version: u64,
    /// When the client's PHI was erased: payer and free texts then read `[erased]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<DateTime<Utc>>,
    /// Events this view could not fold, oldest first (see [`crate::quarantine`]): when present
    /// the view is incomplete since the first one's position. Absent on a complete view.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<crate::quarantine::Incomplete>,
}

impl LedgerView {
    /// An empty ledger of `account`; events of other accounts are ignored.
    pub fn new(account: AccountId) -> Self {
        Self { account_id: Some(account), ..Self::default() }
    }

    /// Folds one envelope. Events outside this account's stream, and events at or before
    /// [`last_position`](Self::last_position) (a redelivery), leave the ledger unchanged; the
    /// erasure of the account's client ([`erase`](Self::erase)) scrubs it.
    ///
    /// # Errors
    /// [`ViewError`] when the envelope cannot be decoded; the ledger is then unchanged.
    pub fn apply(&mut self, event: &RecordedEvent) -> Result<(), ViewError> {
        self.apply_once(event, &mut DecodeOnce::default())
    }

    /// [`apply`](Self::apply), with the envelope decoded at most once across the views folding it.
    pub(crate) fn apply_once(&mut self, event: &RecordedEvent, decoding: &mut DecodeOnce) -> Result<(), ViewError> {
        if event.category() == "client" {
            return self.apply_client_event(event, decoding);
        }
        if event.category() != "account" || (self.version > 0 && event.position <= self.last_position) {
            return Ok(());
        }
        let account = stream_id(event, AccountId::from_stream_name)?;
        if self.account_id.is_some_and(|mine| mine != account) {
            return Ok(());
        }
        let Some(Decoded::Billing(e)) = decoding.get(event)? else {
            return Ok(());
        };
        // Checked before anything changes, so a refused event leaves the ledger as it was.
        let totals = self.totals.after(e).ok_or_else(|| overflow(event))?;
        self.fold(e);
        self.totals = totals;
        self.balance = self.totals.balance();
        self.payer_balance = self.payer_balance();
        self.patient_balance = carelog_domain::billing::patient_balance(self.balance, self.payer_balance);
        if let Some(at) = self.erased_at {
            // Nothing folded after the erasure may bring free text back (a claim rejection's reason).
            self.erase(at);
        }
        self.account_id = Some(account);
        self.last_position = event.position;
        self.last_recorded_at = Some(event.recorded_at);
        self.version += 1;
        Ok(())
    }

    /// A charge by id.
    pub fn charge(&self, id: ChargeId) -> Option<&ChargeEntry> {
        self.charges.iter().find(|c| c.charge_id == id)
    }

    /// A claim by id.
    pub fn claim(&self, id: ClaimId) -> Option<&ClaimEntry> {
        self.claims.iter().find(|c| c.claim_id == id)
    }

    fn fold(&mut self, event: &BillingEvent) {
        for (claim, status) in claim_transitions(event) {
            if let Some(c) = self.claims.iter_mut().find(|c| c.claim_id == claim) {
                c.status = c.status.then(status);
            }
        }
        match event {
            BillingEvent::AccountOpened(e) => {
                self.client_id = Some(e.client_id);
                self.payer = Some(e.payer.clone());
                self.opened_at = Some(e.opened_at);
            }
            BillingEvent::ChargeCreated(e) => self.charges.push(ChargeEntry {
                charge_id: e.charge_id,
                session_id: e.session_id,
                episode_id: e.episode_id,
                rendering_clinician: e.rendering_clinician,
                service_date: e.service_date,
                diagnoses: e.diagnoses.clone(),
                lines: e.lines.clone(),
                amount: e.total,
                plan_review_overdue: e.plan_review_overdue,
                created_at: e.created_at,
                adjudication: None,
            }),
            BillingEvent::ClaimSubmitted(e) => {
                if let Some(original) = e.frequency.original()
                    && let Some(c) = self.claims.iter_mut().find(|c| c.claim_id == original)
                {
                    c.superseded_by = Some(e.claim_id);
                }
                let status = match e.frequency {
                    ClaimFrequency::Void { .. } => ClaimStatus::VoidRequest,
                    _ => ClaimStatus::Submitted,
                };
                self.claims.push(ClaimEntry {
                    claim_id: e.claim_id,
                    frequency: e.frequency,
                    frequency_code: e.frequency.code(),
                    charge_ids: e.charge_ids.clone(),
                    total: e.total,
                    service_from: e.service_from,
                    service_to: e.service_to,
                    submitted_at: e.submitted_at,
                    status,
                    rejection: None,
                    superseded_by: None,
                    remittances: Vec::new(),
                });
            }
            BillingEvent::ClaimRejected(e) => {
                if let Some(c) = self.claims.iter_mut().find(|c| c.claim_id == e.claim_id) {
                    c.rejection = Some(ClaimRejection { reason: e.reason.clone(), rejected_at: e.rejected_at });
                }
            }
            BillingEvent::RemittancePosted(e) => {
                if let Some(c) = self.claims.iter_mut().find(|c| c.claim_id == e.claim_id) {
                    c.remittances.push(e.remittance_id);
                }
                self.adjudicate(e);
                self.remittances.push(RemittanceEntry { posted: e.clone(), reversed_by: None });
            }
            BillingEvent::RemittanceReversed(e) => self.reverse(e),
            BillingEvent::PaymentRecouped(e) => self.recoup(e),
            BillingEvent::PaymentReceived(e) => self.payments.push(e.clone()),
            BillingEvent::WrittenOff(e) => self.write_offs.push(e.clone()),
            BillingEvent::SuperbillIssued(e) => self.superbills.push(e.clone()),
        }
    }
}
