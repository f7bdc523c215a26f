//! The session's rules.

use chrono::{Days, Duration};

use super::command::{AmendmentResponse, SessionCommand, SessionContext};
use super::estimate;
use super::event::*;
use super::note::{AddendumKind, AmendmentDecision};
use super::state::{SessionState, SessionStatus};
use crate::error::{DomainError, Entity, check_treating};
use crate::intake::EpisodeStatus;
use crate::types::{AmendmentId, ClinicianId, Reason, not_after};

/// Folds an event into the state.
pub fn evolve(mut state: SessionState, event: &SessionEvent) -> SessionState {
    state.apply(event);
    state
}

/// Decides which events a command produces, or which rule refuses it.
pub fn decide(
    cmd: &SessionCommand,
    state: &SessionState,
    ctx: &SessionContext,
) -> Result<Vec<SessionEvent>, DomainError> {
    let now = ctx.now;
    if let SessionCommand::ScheduleSession {
        session_id,
        client_id,
        episode_id,
        clinician_id,
        kind,
        starts_at,
        planned_minutes,
        planned_modality,
    } = cmd
    {
        if state.status != SessionStatus::Unscheduled {
            return Err(DomainError::exists(Entity::Session, session_id));
        }
        if !ctx.client_registered {
            return Err(DomainError::not_found(Entity::Client, client_id));
        }
        episode_open(ctx)?;
        check_treating(ctx.episode_clinician, *clinician_id)?;
        // A recorded revocation stops new activity, scheduling included.
        if ctx.treatment_consent_withdrawn {
            return Err(DomainError::ConsentNotActive);
        }
        if planned_modality.is_telehealth() && ctx.telehealth_consent_withdrawn {
            return Err(DomainError::TelehealthConsentRequired);
        }
        let estimate_due_by = estimate::check_at_scheduling(
            ctx.self_pay,
            &ctx.estimates_issued,
            ctx.settings.estimate_policy,
            *starts_at,
            now,
        )?;
        return Ok(vec![
            SessionScheduled {
                session_id: *session_id,
                client_id: *client_id,
                episode_id: *episode_id,
                clinician_id: *clinician_id,
                kind: *kind,
                starts_at: *starts_at,
                planned_minutes: *planned_minutes,
                planned_modality: *planned_modality,
                estimate_due_by,
            }
            .into(),
        ]);
    }
    let (Some(session_id), Some(clinician), Some(starts_at)) = (state.session_id, state.clinician_id, state.starts_at)
    else {
        return Err(DomainError::not_found(Entity::Session, "in this stream"));
    };
    let scheduled = || match state.status {
        SessionStatus::Scheduled => Ok(()),
        other => Err(DomainError::SessionAlreadyConcluded(other.label())),
    };
    let held = || match state.status {
        SessionStatus::Held => Ok(()),
        _ => Err(DomainError::SessionNotHeld),
    };
    let signed = || state.note.as_ref().map(|_| ()).ok_or(DomainError::NoteNotSigned);

    let events: Vec<SessionEvent> = match cmd {
        SessionCommand::ScheduleSession { .. } => return Err(DomainError::exists(Entity::Session, session_id)),
        SessionCommand::HoldSession { started_at, actual_minutes, modality, patient_location } => {
            scheduled()?;
            episode_open(ctx)?;
            if !ctx.treatment_consent_active {
                return Err(DomainError::ConsentNotActive);
            }
            if modality.is_telehealth() {
                if !ctx.telehealth_consent_active {
                    return Err(DomainError::TelehealthConsentRequired);
                }
                if patient_location.is_none() {
                    return Err(DomainError::invalid("patient_location", "is required for video and audio sessions"));
                }
            }
            not_after("started_at", *started_at, now)?;
            let mut held = SessionHeld {
                started_at: *started_at,
                actual_minutes: *actual_minutes,
                modality: *modality,
                patient_location: modality.is_telehealth().then_some(*patient_location).flatten(),
                recorded_at: now,
                late_entry: None,
            };
            held.late_entry = LateEntry::past(held.ended_at(), now, ctx.settings.late_entry_after);
            vec![held.into()]
        }
        SessionCommand::CancelSession { cancelled_by, reason } => {
            scheduled()?;
            vec![
                SessionCancelled {
                    cancelled_by: *cancelled_by,
                    reason: reason.clone(),
                    late: starts_at - now < Duration::hours(24),
                    cancelled_at: now,
                }
                .into(),
            ]
        }
        SessionCommand::RecordNoShow { recorded_by } => {
            scheduled()?;
            if now < starts_at {
                return Err(DomainError::NoShowBeforeStart);
            }
            vec![NoShowRecorded { recorded_by: *recorded_by, recorded_at: now }.into()]
        }
        SessionCommand::SignProgressNote { content, goals_addressed, content_hash, clinician_id } => {
            held()?;
            if state.note.is_some() {
                return Err(DomainError::NoteAlreadySigned);
            }
            if *clinician_id != clinician {
                return Err(DomainError::NotSessionClinician);
            }
            if let Some(g) = goals_addressed.iter().find(|g| !ctx.active_goals.contains(g)) {
                return Err(DomainError::GoalNotActive(g.to_string()));
            }
            vec![
                ProgressNoteSigned {
                    format: content.format(),
                    content: content.clone(),
                    goals_addressed: goals_addressed.clone(),
                    content_hash: content_hash.clone(),
                    signed_by: *clinician_id,
                    signed_at: now,
                    late_entry: late_entry(state, ctx),
                }
                .into(),
            ]
        }
        SessionCommand::AppendAddendum { addendum_id, kind, author, reason, text } => {
            // Before signing the draft is simply edited; only a locked note takes addenda.
            signed()?;
            if state.addenda.contains(addendum_id) {
                return Err(DomainError::exists(Entity::Addendum, addendum_id));
            }
            vec![
                NoteAddendumAppended {
                    addendum_id: *addendum_id,
                    kind: *kind,
                    author: *author,
                    reason: reason.clone(),
                    text: text.clone(),
                    appended_at: now,
                    late_entry: late_entry(state, ctx),
                }
                .into(),
            ]
        }
        SessionCommand::RecordPsychotherapyNote { note_id, author, text } => {
            held()?;
            if *author != clinician {
                return Err(DomainError::NotSessionClinician);
            }
            vec![
                PsychotherapyNoteRecorded {
                    note_id: *note_id,
                    session_id,
                    author: *author,
                    text: text.clone(),
                    recorded_at: now,
                }
                .into(),
            ]
        }
        SessionCommand::RequestAmendment { amendment_id, requested_by, requested_change, reason } => {
            signed()?;
            if state.amendments.contains_key(amendment_id) {
                return Err(DomainError::exists(Entity::Amendment, amendment_id));
            }
            let today = now.date_naive();
            vec![
                AmendmentRequested {
                    amendment_id: *amendment_id,
                    requested_by: *requested_by,
                    requested_change: requested_change.clone(),
                    reason: reason.clone(),
                    requested_at: now,
                    respond_by: today.checked_add_days(Days::new(60)).unwrap_or(today),
                }
                .into(),
            ]
        }
        SessionCommand::DecideAmendment { amendment_id, response, clinician_id } => {
            decide_amendment(state, ctx, *amendment_id, response, *clinician_id)?
        }
    };
    Ok(events)
}

/// The late-entry label of documentation about the held session written now, if it is late.
fn late_entry(state: &SessionState, ctx: &SessionContext) -> Option<LateEntry> {
    let held = state.held.as_ref()?;
    LateEntry::past(held.ended_at(), ctx.now, ctx.settings.late_entry_after)
}

fn episode_open(ctx: &SessionContext) -> Result<(), DomainError> {
    match ctx.episode {
        EpisodeStatus::Open => Ok(()),
        EpisodeStatus::Closed => Err(DomainError::EpisodeClosed),
        EpisodeStatus::Unknown => Err(DomainError::not_found(Entity::Episode, "for this session")),
    }
}

/// An accepted amendment is made by appending the requested change as a correction, so the
/// signed note itself never changes (164.526(c)(1): identify the affected record and append).
fn decide_amendment(
    state: &SessionState,
    ctx: &SessionContext,
    amendment_id: AmendmentId,
    response: &AmendmentResponse,
    clinician_id: ClinicianId,
) -> Result<Vec<SessionEvent>, DomainError> {
    let record =
        state.amendments.get(&amendment_id).ok_or_else(|| DomainError::not_found(Entity::Amendment, amendment_id))?;
    if record.decided {
        return Err(DomainError::AmendmentAlreadyDecided(amendment_id.to_string()));
    }
    let decision = match response {
        AmendmentResponse::Accept { addendum_id } => {
            if state.addenda.contains(addendum_id) {
                return Err(DomainError::exists(Entity::Addendum, addendum_id));
            }
            AmendmentDecision::Accepted { addendum_id: *addendum_id }
        }
        AmendmentResponse::Deny { basis, explanation } => {
            AmendmentDecision::Denied { basis: *basis, explanation: explanation.clone() }
        }
    };
    let mut events: Vec<SessionEvent> = vec![
        AmendmentDecided { amendment_id, decision: decision.clone(), decided_by: clinician_id, decided_at: ctx.now }
            .into(),
    ];
    if let AmendmentDecision::Accepted { addendum_id } = decision {
        events.push(
            NoteAddendumAppended {
                addendum_id,
                kind: AddendumKind::Correction,
                author: clinician_id,
                reason: Reason::parse(&format!("Amendment {amendment_id} accepted (45 CFR 164.526)"))?,
                text: record.requested_change.clone(),
                appended_at: ctx.now,
                late_entry: None,
            }
            .into(),
        );
    }
    Ok(events)
}
