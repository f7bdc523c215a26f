//! Commands on the account stream and the facts a decision needs from outside it.

use chrono::{DateTime, NaiveDate, Utc};

use super::cpt::FeeSchedule;
use super::event::{CasGroup, PaymentMethod, RemittanceLine, WriteOffReason};
use crate::intake::{ClientState, Payer};
use crate::planning::{PlanState, ReviewStatus};
use crate::sessions::SessionState;
use crate::types::{
    AccountId, CarcCode, ChargeId, ClaimId, ClientId, DiagnosisPointer, Icd10Code, Money, PaymentId, Reason,
    RecoupmentId, RemittanceId, ShortText, SuperbillId, WriteOffId,
};

/// What a biller asks of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillingCommand {
    OpenAccount {
        account_id: AccountId,
        client_id: ClientId,
        payer: Payer,
    },
    /// Charge a session; the codes, modifiers, place of service and fees are derived.
    CreateCharge {
        charge_id: ChargeId,
        interactive_complexity: bool,
        diagnosis_pointers: Vec<DiagnosisPointer>,
    },
    SubmitClaim {
        claim_id: ClaimId,
        request: ClaimRequest,
    },
    RejectClaim {
        claim_id: ClaimId,
        reason: Reason,
    },
    PostRemittance {
        remittance_id: RemittanceId,
        claim_id: ClaimId,
        payer_claim_number: Option<ShortText>,
        lines: Vec<RemittanceLine>,
    },
    /// The payer reversed an earlier remittance (835 claim status 22), e.g. after a void.
    ReverseRemittance {
        reversal_id: RemittanceId,
        remittance_id: RemittanceId,
        payer_claim_number: Option<ShortText>,
    },
    /// The payer took back part of a charge's payment and reassigned it to a CAS group.
    RecoupPayment {
        recoupment_id: RecoupmentId,
        claim_id: ClaimId,
        charge_id: ChargeId,
        amount: Money,
        group: CasGroup,
        carc: CarcCode,
    },
    ReceivePayment {
        payment_id: PaymentId,
        amount: Money,
        method: PaymentMethod,
        /// The date of the service paid for, if the client says.
        service_date: Option<NaiveDate>,
    },
    WriteOff {
        write_off_id: WriteOffId,
        amount: Money,
        reason: WriteOffReason,
        note: Reason,
    },
    IssueSuperbill {
        superbill_id: SuperbillId,
        charge_ids: Vec<ChargeId>,
    },
}

/// Which kind of claim to submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimRequest {
    Original {
        charge_ids: Vec<ChargeId>,
    },
    /// Replaces `original` with the given charges.
    Replacement {
        original: ClaimId,
        charge_ids: Vec<ChargeId>,
    },
    /// Voids `original` (and releases its charges).
    Void {
        original: ClaimId,
    },
}

/// What to do when a charge is created while the plan review is overdue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OverduePolicy {
    /// Create the charge and flag it.
    #[default]
    Warn,
    /// Refuse with `PLAN_REVIEW_OVERDUE`.
    Block,
}

/// Facts from outside the account stream: the session being charged (read from its stream), the
/// episode's active diagnoses (client stream) and the plan's review status (plan stream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingContext {
    pub now: DateTime<Utc>,
    pub session: SessionState,
    pub active_diagnoses: Vec<Icd10Code>,
    pub plan_review_overdue: bool,
    pub overdue_policy: OverduePolicy,
    pub fee_schedule: FeeSchedule,
    /// The charge of the session on another account of the same client, if any: a session is
    /// charged once across every account the client has.
    pub charged_on_other_account: Option<ChargeId>,
}

impl BillingContext {
    /// A context at `now` with no session, no diagnoses and the default fees; enough for every
    /// command except `CreateCharge`.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            now,
            session: SessionState::default(),
            active_diagnoses: Vec::new(),
            plan_review_overdue: false,
            overdue_policy: OverduePolicy::default(),
            fee_schedule: FeeSchedule::default(),
            charged_on_other_account: None,
        }
    }

    /// Adds the session to charge and the facts about its client and plan.
    #[must_use]
    pub fn for_session(mut self, session: SessionState, client: &ClientState, plan: Option<&PlanState>) -> Self {
        self.active_diagnoses = session
            .episode_id
            .map(|e| client.active_diagnoses(e).iter().map(|d| d.code.clone()).collect())
            .unwrap_or_default();
        self.plan_review_overdue =
            plan.is_some_and(|p| matches!(p.review_status(self.now.date_naive()), ReviewStatus::Overdue { .. }));
        self.session = session;
        self
    }
}
