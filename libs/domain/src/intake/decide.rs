//! The client aggregate's rules.

use chrono::{DateTime, Utc};

use super::command::{IntakeCommand, IntakeContext};
use super::event::*;
use super::state::{ClientState, EpisodeRecord};
use crate::error::{DomainError, Entity};
use crate::sessions::LateEntry;
use crate::types::{EpisodeId, Money, not_after};

/// Folds an event into the state.
pub fn evolve(mut state: ClientState, event: &IntakeEvent) -> ClientState {
    state.apply(event);
    state
}

/// The longest retention period an operator may set: longer than any jurisdiction's, and short
/// enough that its end is always a date.
pub const MAX_RETENTION_YEARS: u32 = 150;

/// Erasure is refused while a legal hold applies, an episode is open, or the retention period
/// (counted from the last episode's close) has not passed.
fn check_erasable(state: &ClientState, retention_years: u32, now: DateTime<Utc>) -> Result<(), DomainError> {
    if let Some(since) = state.legal_hold_since {
        return Err(DomainError::LegalHoldActive(since.to_rfc3339()));
    }
    if retention_years > MAX_RETENTION_YEARS {
        return Err(DomainError::invalid(
            "retention_years",
            format!("must be 0 to {MAX_RETENTION_YEARS} (got {retention_years})"),
        ));
    }
    let start = state.retention_start().ok_or(DomainError::EpisodeOpen)?;
    // Never a fallback: an end that cannot be computed keeps the record (it once fell back to
    // the close date, and an absurd period erased an episode closed a second before).
    let until = start
        .checked_add_months(chrono::Months::new(retention_years * 12))
        .ok_or_else(|| DomainError::RetentionPeriodActive("beyond the calendar".into()))?;
    if until > now {
        return Err(DomainError::RetentionPeriodActive(until.date_naive().to_string()));
    }
    Ok(())
}

/// Decides which events a command produces, or which rule refuses it.
pub fn decide(cmd: &IntakeCommand, state: &ClientState, ctx: &IntakeContext) -> Result<Vec<IntakeEvent>, DomainError> {
    let now = ctx.now;
    let registering = matches!(cmd, IntakeCommand::RegisterClient { .. });
    if !registering && !state.is_registered() {
        return Err(DomainError::not_found(Entity::Client, "in this stream"));
    }
    if state.erased_at.is_some() {
        let erasing = matches!(cmd, IntakeCommand::EraseClient { .. });
        return Err(if erasing { DomainError::AlreadyErased } else { DomainError::ClientErased });
    }
    let events: Vec<IntakeEvent> = match cmd {
        IntakeCommand::RegisterClient { client_id, demographics, registered_by } => {
            if let Some(existing) = state.client_id {
                return Err(DomainError::exists(Entity::Client, existing));
            }
            if demographics.date_of_birth.is_some_and(|dob| dob > now.date_naive()) {
                return Err(DomainError::invalid("date_of_birth", "must not be in the future"));
            }
            vec![
                ClientRegistered {
                    client_id: *client_id,
                    demographics: demographics.clone(),
                    registered_by: *registered_by,
                    registered_at: now,
                }
                .into(),
            ]
        }
        IntakeCommand::PlaceLegalHold { reason, placed_by } => {
            if let Some(since) = state.legal_hold_since {
                return Err(DomainError::LegalHoldActive(since.to_rfc3339()));
            }
            vec![LegalHoldPlaced { reason: reason.clone(), placed_by: *placed_by, placed_at: now }.into()]
        }
        IntakeCommand::ReleaseLegalHold { reason, released_by } => {
            if state.legal_hold_since.is_none() {
                return Err(DomainError::LegalHoldNotActive);
            }
            vec![LegalHoldReleased { reason: reason.clone(), released_by: *released_by, released_at: now }.into()]
        }
        IntakeCommand::EraseClient { reason, erased_by, retention_years } => {
            check_erasable(state, *retention_years, now)?;
            vec![ClientErased { reason: reason.clone(), erased_by: *erased_by, erased_at: now }.into()]
        }
        IntakeCommand::OpenEpisode { episode_id, clinician_id, opened_at } => {
            if state.episode(*episode_id).is_some() {
                return Err(DomainError::exists(Entity::Episode, episode_id));
            }
            if state.open_episode().is_some() {
                return Err(DomainError::EpisodeAlreadyOpen);
            }
            not_after("opened_at", *opened_at, now)?;
            vec![EpisodeOpened { episode_id: *episode_id, clinician_id: *clinician_id, opened_at: *opened_at }.into()]
        }
        IntakeCommand::GiveConsent { consent_id, kind, given_at, recorded_by } => {
            if state.consents.contains_key(consent_id) {
                return Err(DomainError::exists(Entity::Consent, consent_id));
            }
            not_after("given_at", *given_at, now)?;
            check_consent_kind(kind, *given_at)?;
            vec![
                ConsentGiven {
                    consent_id: *consent_id,
                    kind: kind.clone(),
                    given_at: *given_at,
                    recorded_by: *recorded_by,
                }
                .into(),
            ]
        }
        IntakeCommand::RevokeConsent { consent_id, reason, revoked_at } => {
            let consent =
                state.consents.get(consent_id).ok_or_else(|| DomainError::not_found(Entity::Consent, consent_id))?;
            if consent.revoked_at.is_some() {
                return Err(DomainError::ConsentAlreadyRevoked(consent_id.to_string()));
            }
            not_after("revoked_at", *revoked_at, now)?;
            if *revoked_at < consent.given_at {
                return Err(DomainError::invalid("revoked_at", "must not be before the consent was given"));
            }
            vec![ConsentRevoked { consent_id: *consent_id, reason: reason.clone(), revoked_at: *revoked_at }.into()]
        }
        IntakeCommand::RecordAssessment { assessment_id, scores, administered_by, administered_at } => {
            let episode = open_episode(state)?;
            if state.assessments.contains_key(assessment_id) {
                return Err(DomainError::exists(Entity::Assessment, assessment_id));
            }
            not_after("administered_at", *administered_at, now)?;
            let mut out: Vec<IntakeEvent> = vec![
                AssessmentRecorded {
                    assessment_id: *assessment_id,
                    episode_id: episode.episode_id,
                    scores: scores.clone(),
                    total: scores.total(),
                    severity: scores.severity(),
                    administered_by: *administered_by,
                    administered_at: *administered_at,
                    late_entry: LateEntry::past(*administered_at, now, ctx.late_entry_after),
                }
                .into(),
            ];
            if let Some(item9) = scores.self_harm_item() {
                out.push(
                    RiskFlagRaised {
                        assessment_id: *assessment_id,
                        episode_id: episode.episode_id,
                        item9_score: item9,
                        raised_at: now,
                    }
                    .into(),
                );
            }
            out
        }
        IntakeCommand::AcknowledgeRiskFlag { assessment_id, clinician_id, action_taken } => {
            let flag = state
                .risk_flags
                .get(assessment_id)
                .ok_or_else(|| DomainError::not_found(Entity::RiskFlag, assessment_id))?;
            if flag.acknowledged_at.is_some() {
                return Err(DomainError::RiskFlagAlreadyAcknowledged(assessment_id.to_string()));
            }
            vec![
                RiskFlagAcknowledged {
                    assessment_id: *assessment_id,
                    acknowledged_by: *clinician_id,
                    action_taken: action_taken.clone(),
                    acknowledged_at: now,
                }
                .into(),
            ]
        }
        IntakeCommand::RecordDiagnosis { diagnosis, clinician_id } => {
            let episode = open_episode(state)?.episode_id;
            if state.is_diagnosis_active(episode, &diagnosis.code) {
                return Err(DomainError::DiagnosisAlreadyActive(diagnosis.code.to_string()));
            }
            vec![
                DiagnosisRecorded {
                    episode_id: episode,
                    diagnosis: diagnosis.clone(),
                    diagnosed_by: *clinician_id,
                    recorded_at: now,
                }
                .into(),
            ]
        }
        IntakeCommand::ReviseDiagnosis { code, revision, reason, clinician_id } => {
            let episode = open_episode(state)?.episode_id;
            if !state.is_diagnosis_active(episode, code) {
                return Err(DomainError::DiagnosisNotActive(code.to_string()));
            }
            if let DiagnosisRevision::ChangedTo { diagnosis } = revision
                && state.is_diagnosis_active(episode, &diagnosis.code)
                && diagnosis.code != *code
            {
                return Err(DomainError::DiagnosisAlreadyActive(diagnosis.code.to_string()));
            }
            vec![
                DiagnosisRevised {
                    episode_id: episode,
                    code: code.clone(),
                    revision: revision.clone(),
                    reason: reason.clone(),
                    revised_by: *clinician_id,
                    revised_at: now,
                }
                .into(),
            ]
        }
        IntakeCommand::IssueGoodFaithEstimate { estimate_id, lines, issued_by } => {
            // The No Surprises Act estimate is owed to uninsured and self-pay clients only.
            if !state.is_self_pay() {
                return Err(DomainError::SelfPayOnly);
            }
            if state.estimates.contains_key(estimate_id) {
                return Err(DomainError::exists(Entity::Estimate, estimate_id));
            }
            if lines.is_empty() {
                return Err(DomainError::invalid("lines", "must list at least one expected service"));
            }
            if lines.iter().any(|l| l.units == 0) {
                return Err(DomainError::invalid("lines.units", "must be at least 1"));
            }
            // An add-on code is never a service on its own (CPT): an estimate of add-ons alone,
            // or with no primary they may be reported with, estimates nothing that can be billed.
            let codes: Vec<_> = lines.iter().map(|l| l.cpt).collect();
            crate::billing::check_add_ons(&codes)?;
            let too_large = || DomainError::invalid("lines", format!("must total at most {}", Money::MAX));
            let lines: Vec<EstimateLine> = lines
                .iter()
                .map(|l| {
                    let amount = l.unit_fee.checked_times(l.units).ok_or_else(too_large)?;
                    Ok(EstimateLine { cpt: l.cpt, units: l.units, unit_fee: l.unit_fee, amount })
                })
                .collect::<Result<_, DomainError>>()?;
            let total = Money::checked_sum(lines.iter().map(|l| l.amount)).ok_or_else(too_large)?;
            vec![
                GoodFaithEstimateIssued {
                    estimate_id: *estimate_id,
                    lines,
                    total,
                    issued_by: *issued_by,
                    issued_at: now,
                }
                .into(),
            ]
        }
        IntakeCommand::CloseEpisode { episode_id, clinician_id, discharge_summary } => {
            close_episode(state, ctx, *episode_id)?;
            vec![
                EpisodeClosed {
                    episode_id: *episode_id,
                    closed_by: *clinician_id,
                    discharge_summary: discharge_summary.clone(),
                    closed_at: now,
                }
                .into(),
            ]
        }
    };
    Ok(events)
}

fn open_episode(state: &ClientState) -> Result<&EpisodeRecord, DomainError> {
    state.open_episode().ok_or(DomainError::EpisodeNotOpen)
}

fn close_episode(state: &ClientState, ctx: &IntakeContext, id: EpisodeId) -> Result<(), DomainError> {
    let episode = state.episode(id).ok_or_else(|| DomainError::not_found(Entity::Episode, id))?;
    if episode.closed_at.is_some() {
        return Err(DomainError::EpisodeClosed);
    }
    // Notes must be signed before discharge: an unsigned note cannot be amended later.
    if ctx.unsigned_notes > 0 {
        return Err(DomainError::UnsignedNotes(ctx.unsigned_notes));
    }
    let open_flags = state.unacknowledged_risk_flags(id);
    if open_flags > 0 {
        return Err(DomainError::RiskFlagUnacknowledged(open_flags));
    }
    Ok(())
}

/// Consent documents must be internally consistent; 42 CFR 2.31 makes every element mandatory,
/// and the types already require each one to be present.
fn check_consent_kind(kind: &ConsentKind, given_at: DateTime<Utc>) -> Result<(), DomainError> {
    let given_on = given_at.date_naive();
    match kind {
        ConsentKind::ReleaseOfInformation(r) if r.expires_on < given_on => {
            Err(DomainError::invalid("kind.expires_on", "must not be before the consent was given"))
        }
        ConsentKind::Part2(p) => {
            if !p.right_to_revoke_acknowledged {
                return Err(DomainError::invalid(
                    "kind.right_to_revoke_acknowledged",
                    "a Part 2 consent must state the right to revoke",
                ));
            }
            if p.signed_on > given_on {
                return Err(DomainError::invalid("kind.signed_on", "must not be after the consent was given"));
            }
            if let ConsentExpiry::OnDate { date } = p.expiry
                && date < p.signed_on
            {
                return Err(DomainError::invalid("kind.expiry", "must not be before the signature date"));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
