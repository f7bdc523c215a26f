//! Deriving a charge from a held session: whether the session may be billed at all (held, its
//! note signed, its client this account's, not charged before, a diagnosis to point at) and how
//! its lines are coded and priced. Kept apart from `decide` because it changes with the rules
//! for billing a session, not with the claim, remittance and payment rules of the account.

use super::command::{BillingContext, OverduePolicy};
use super::cpt::derive_procedures;
use super::decide::{sum, too_large};
use super::event::{ChargeCreated, ChargeLine};
use super::state::AccountState;
use crate::error::{DomainError, Entity};
use crate::sessions::SessionStatus;
use crate::types::{ChargeId, DiagnosisPointer};

/// The charge for the session in `ctx`, or the rule that refuses to bill it.
pub(super) fn create_charge(
    state: &AccountState,
    ctx: &BillingContext,
    charge_id: ChargeId,
    interactive_complexity: bool,
    pointers: &[DiagnosisPointer],
) -> Result<ChargeCreated, DomainError> {
    if state.charges.contains_key(&charge_id) {
        return Err(DomainError::exists(Entity::Charge, charge_id));
    }
    let session = &ctx.session;
    match session.status {
        SessionStatus::Held => {}
        SessionStatus::NoShow => return Err(DomainError::NoShowNotBillable),
        SessionStatus::Unscheduled => return Err(DomainError::not_found(Entity::Session, "to charge")),
        SessionStatus::Scheduled | SessionStatus::Cancelled => return Err(DomainError::SessionNotHeld),
    }
    let (Some(session_id), Some(episode_id), Some(clinician), Some(kind), Some(held)) =
        (session.session_id, session.episode_id, session.clinician_id, session.kind, session.held.as_ref())
    else {
        return Err(DomainError::SessionNotHeld);
    };
    if session.client_id != state.client_id {
        return Err(DomainError::SessionClientMismatch);
    }
    // The note is the documentation the claim rests on.
    if session.note.is_none() {
        return Err(DomainError::NoteNotSigned);
    }
    if let Some(existing) = state.charged_sessions.get(&session_id).or(ctx.charged_on_other_account.as_ref()) {
        return Err(DomainError::SessionAlreadyCharged(existing.to_string()));
    }
    if ctx.plan_review_overdue && ctx.overdue_policy == OverduePolicy::Block {
        return Err(DomainError::PlanReviewOverdue);
    }
    if ctx.active_diagnoses.is_empty() {
        return Err(DomainError::NoActiveDiagnosis);
    }
    if pointers.is_empty() {
        return Err(DomainError::invalid("diagnosis_pointers", "must have 1 to 4 pointers"));
    }
    if let Some(p) = pointers.iter().find(|p| usize::from(p.get()) > ctx.active_diagnoses.len()) {
        return Err(DomainError::DiagnosisPointerInvalid(p.get()));
    }
    let procedures = derive_procedures(kind, held.actual_minutes, interactive_complexity)?;
    let place_of_service = held.modality.place_of_service(held.patient_location);
    let modifiers: Vec<_> = held.modality.modifier().into_iter().collect();
    let lines = procedures
        .iter()
        .map(|p| {
            let unit_fee =
                ctx.fee_schedule.fee(p.cpt).ok_or_else(|| DomainError::FeeNotConfigured(p.cpt.to_string()))?;
            Ok(ChargeLine {
                cpt: p.cpt,
                modifiers: modifiers.clone(),
                units: p.units,
                place_of_service,
                diagnosis_pointers: pointers.to_vec(),
                unit_fee,
                amount: unit_fee
                    .checked_times(p.units)
                    .ok_or_else(|| DomainError::invalid("charge_id", too_large()))?,
            })
        })
        .collect::<Result<Vec<_>, DomainError>>()?;
    Ok(ChargeCreated {
        charge_id,
        session_id,
        episode_id,
        rendering_clinician: clinician,
        service_date: held.started_at.date_naive(),
        diagnoses: ctx.active_diagnoses.clone(),
        total: sum("charge_id", lines.iter().map(|l| l.amount))?,
        lines,
        plan_review_overdue: ctx.plan_review_overdue,
        created_at: ctx.now,
    })
}
