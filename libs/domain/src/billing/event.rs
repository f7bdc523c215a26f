//! Events of the account stream.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::event::event_enum;
use crate::intake::Payer;
use crate::types::{
    AccountId, CarcCode, ChargeId, ClaimId, ClientId, ClinicianId, CptCode, DiagnosisPointer, EpisodeId, Icd10Code,
    Modifier, Money, PaymentId, PlaceOfService, RarcCode, Reason, RecoupmentId, RemittanceId, SessionId, ShortText,
    SuperbillId, WriteOffId,
};

event_enum! {
    /// Everything that can happen on a billing account.
    pub enum BillingEvent {
        AccountOpened,
        ChargeCreated,
        ClaimSubmitted,
        ClaimRejected,
        RemittancePosted,
        RemittanceReversed,
        PaymentRecouped,
        PaymentReceived,
        WrittenOff,
        SuperbillIssued,
    }
}

/// The client's account was opened with a payer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountOpened {
    pub account_id: AccountId,
    pub client_id: ClientId,
    pub payer: Payer,
    pub opened_at: DateTime<Utc>,
}

/// One service line (CMS-1500 box 24).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeLine {
    pub cpt: CptCode,
    pub modifiers: Vec<Modifier>,
    pub units: u16,
    pub place_of_service: PlaceOfService,
    /// Into [`ChargeCreated::diagnoses`], primary first.
    pub diagnosis_pointers: Vec<DiagnosisPointer>,
    pub unit_fee: Money,
    pub amount: Money,
}

/// A held, documented session was charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeCreated {
    pub charge_id: ChargeId,
    pub session_id: SessionId,
    pub episode_id: EpisodeId,
    pub rendering_clinician: ClinicianId,
    pub service_date: NaiveDate,
    /// The episode's active diagnoses when charged, in pointer order.
    pub diagnoses: Vec<Icd10Code>,
    pub lines: Vec<ChargeLine>,
    pub total: Money,
    /// Charged while the treatment plan review was overdue (policy: warn).
    pub plan_review_overdue: bool,
    pub created_at: DateTime<Utc>,
}

/// X12 837 claim frequency: 1 original, 7 replacement, 8 void.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClaimFrequency {
    Original,
    Replacement { original: ClaimId },
    Void { original: ClaimId },
}

impl ClaimFrequency {
    /// The frequency code on the claim.
    pub fn code(&self) -> u8 {
        match self {
            Self::Original => 1,
            Self::Replacement { .. } => 7,
            Self::Void { .. } => 8,
        }
    }

    /// The claim this one replaces or voids.
    pub fn original(&self) -> Option<ClaimId> {
        match self {
            Self::Original => None,
            Self::Replacement { original } | Self::Void { original } => Some(*original),
        }
    }
}

/// A claim went to the payer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimSubmitted {
    pub claim_id: ClaimId,
    pub frequency: ClaimFrequency,
    /// For a replacement or void (frequency 7 or 8): the payer's claim number of the original
    /// claim, from its remittance, which payers require to match the two (schema version 2;
    /// unknown for claims stored under version 1).
    pub payer_claim_number: Option<ShortText>,
    pub charge_ids: Vec<ChargeId>,
    pub total: Money,
    /// First and last service date of its charges: the clinical time a claim is about (schema
    /// version 3; unknown for claims stored under earlier versions).
    pub service_from: Option<NaiveDate>,
    pub service_to: Option<NaiveDate>,
    pub submitted_at: DateTime<Utc>,
}

/// The clearinghouse or payer rejected the claim before adjudication; its charges are free to
/// be claimed again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRejected {
    pub claim_id: ClaimId,
    pub reason: Reason,
    pub rejected_at: DateTime<Utc>,
}

/// X12 835 CAS group (patient responsibility is carried separately on the line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdjustmentGroup {
    /// Contractual obligation.
    #[serde(rename = "CO")]
    ContractualObligation,
    /// Other adjustment.
    #[serde(rename = "OA")]
    OtherAdjustment,
    /// Payer initiated reduction.
    #[serde(rename = "PI")]
    PayerInitiated,
}

/// One adjustment on a remittance line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjustment {
    pub group: AdjustmentGroup,
    pub carc: CarcCode,
    pub amount: Money,
}

/// The payer's adjudication of one charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemittanceLine {
    pub charge_id: ChargeId,
    pub charged: Money,
    pub paid: Money,
    pub patient_responsibility: Money,
    pub adjustments: Vec<Adjustment>,
    pub remarks: Vec<RarcCode>,
}

impl RemittanceLine {
    /// Sum of the adjustments, or `None` past the bound (refused when posted).
    pub fn checked_adjusted(&self) -> Option<Money> {
        Money::checked_sum(self.adjustments.iter().map(|a| a.amount))
    }
}

/// A remittance (835) was posted against a claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemittancePosted {
    pub remittance_id: RemittanceId,
    pub claim_id: ClaimId,
    pub payer_claim_number: Option<ShortText>,
    pub lines: Vec<RemittanceLine>,
    pub paid: Money,
    pub adjusted: Money,
    pub patient_responsibility: Money,
    pub posted_at: DateTime<Utc>,
}

/// The payer took back a whole earlier remittance (an 835 claim reversal, status code 22): its
/// payment, every adjustment by CAS group and the patient responsibility it assigned, as they
/// stood after any recoupment. The charges it adjudicated are open again; a void (frequency 8)
/// or replacement (7) of a paid claim is followed by exactly this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemittanceReversed {
    /// The reversal's own id (its 835 trace), unique among the account's remittances.
    pub reversal_id: RemittanceId,
    /// The remittance reversed.
    pub remittance_id: RemittanceId,
    pub claim_id: ClaimId,
    pub payer_claim_number: Option<ShortText>,
    /// Per charge: what is reversed (each amount as it stood, never more than was posted).
    pub lines: Vec<RemittanceLine>,
    pub paid: Money,
    pub adjusted: Money,
    pub patient_responsibility: Money,
    pub reversed_at: DateTime<Utc>,
}

/// X12 835 CAS group of a recouped amount: where the money the payer takes back goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CasGroup {
    /// Contractual obligation: the practice may not bill the client for it.
    #[serde(rename = "CO")]
    ContractualObligation,
    /// Patient responsibility: the client owes it.
    #[serde(rename = "PR")]
    PatientResponsibility,
    /// Other adjustment.
    #[serde(rename = "OA")]
    OtherAdjustment,
    /// Payer initiated reduction.
    #[serde(rename = "PI")]
    PayerInitiated,
}

impl CasGroup {
    /// The adjustment group for CO, OA and PI; `None` for PR, which is carried as patient
    /// responsibility instead.
    pub fn adjustment(self) -> Option<AdjustmentGroup> {
        match self {
            Self::ContractualObligation => Some(AdjustmentGroup::ContractualObligation),
            Self::OtherAdjustment => Some(AdjustmentGroup::OtherAdjustment),
            Self::PayerInitiated => Some(AdjustmentGroup::PayerInitiated),
            Self::PatientResponsibility => None,
        }
    }
}

/// The payer took back part of what it paid on one charge (a post-payment takeback) and
/// reassigned it to a CAS group: an adjustment (CO/OA/PI) or the client's responsibility (PR).
/// The charge still reconciles: charged = paid + adjustments + patient responsibility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecouped {
    pub recoupment_id: RecoupmentId,
    pub claim_id: ClaimId,
    pub charge_id: ChargeId,
    pub amount: Money,
    pub group: CasGroup,
    pub carc: CarcCode,
    pub recouped_at: DateTime<Utc>,
}

/// How a client paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    Card,
    Check,
    BankTransfer,
}

/// The client paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentReceived {
    pub payment_id: PaymentId,
    pub amount: Money,
    pub method: PaymentMethod,
    /// The date of the service the client pays for, when they said (schema version 2; unknown
    /// for payments stored under version 1).
    pub service_date: Option<NaiveDate>,
    pub received_at: DateTime<Utc>,
}

/// Why a balance was written off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteOffReason {
    FinancialHardship,
    SmallBalance,
    BadDebt,
    ChargeCorrection,
    Administrative,
}

/// Part of the balance was written off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrittenOff {
    pub write_off_id: WriteOffId,
    pub amount: Money,
    pub reason: WriteOffReason,
    pub note: Reason,
    pub written_off_at: DateTime<Utc>,
}

/// An itemized statement a self-pay client can send to their insurer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuperbillIssued {
    pub superbill_id: SuperbillId,
    pub charge_ids: Vec<ChargeId>,
    pub total: Money,
    pub issued_at: DateTime<Utc>,
}
