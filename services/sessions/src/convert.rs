//! Proto requests → validated domain commands. Every bad field is reported at once, by its proto path.

use carelog_domain::intake::IntakeCommand;
use carelog_domain::sessions::{AddendumKind, AmendmentResponse, CancelledBy, DenialBasis, SessionCommand};
use carelog_domain::types::{
    ActorId, AddendumId, AmendmentId, ClientId, ClinicianId, EpisodeId, GoalId, Minutes, Modality, NoteText,
    PatientLocation, PlanId, PsychotherapyNoteId, Reason, SessionId,
};
use carelog_executor::{CommandMeta, ServiceError};
use carelog_proto::v1 as proto;
use carelog_runtime::parse::{self, Fields};

use crate::content;

#[cfg(test)]
mod fuzz;

/// A command on one session, with the treatment plan whose goals a progress note addresses.
#[derive(Debug)]
pub struct SessionRequest {
    pub session_id: SessionId,
    pub command: SessionCommand,
    pub plan_id: Option<PlanId>,
}

/// Closing an episode: a command on the client's stream, decided after counting unsigned notes.
#[derive(Debug)]
pub struct CloseEpisode {
    pub client_id: ClientId,
    pub episode_id: EpisodeId,
    pub command: IntakeCommand,
}

fn on_session(session_id: Option<SessionId>, command: SessionCommand) -> Option<SessionRequest> {
    Some(SessionRequest { session_id: session_id?, command, plan_id: None })
}

fn actor(meta: &CommandMeta) -> Result<ActorId, ServiceError> {
    ActorId::parse(&meta.actor.id).map_err(|_| ServiceError::Unauthenticated("the actor id is not a UUID".into()))
}

/// `context.reason`, required where the "why" is part of the clinical fact.
fn reason(f: &mut Fields, meta: &CommandMeta) -> Option<Reason> {
    f.take("context.reason", Reason::parse(meta.reason.as_deref().unwrap_or_default()))
}

fn modality(f: &mut Fields, field: &str, value: i32) -> Option<Modality> {
    match f.take(field, parse::enumeration::<proto::SessionModality>(field, value))? {
        proto::SessionModality::InPerson => Some(Modality::InPerson),
        proto::SessionModality::Video => Some(Modality::Video),
        proto::SessionModality::Audio => Some(Modality::Audio),
        proto::SessionModality::Unspecified => None,
    }
}

pub fn schedule_session(r: &proto::ScheduleSessionRequest, _: &CommandMeta) -> Result<SessionRequest, ServiceError> {
    use carelog_domain::sessions::SessionKind;
    use proto::schedule_session_request::Kind;
    let mut f = Fields::default();
    let session_id = f.take("session_id", SessionId::parse(&r.session_id));
    let client_id = f.take("client_id", ClientId::parse(&r.client_id));
    let episode_id = f.take("episode_id", EpisodeId::parse(&r.episode_id));
    let clinician_id = f.take("clinician_id", ClinicianId::parse(&r.clinician_id));
    let kind = match f.take("kind", parse::enumeration::<Kind>("kind", r.kind)) {
        Some(Kind::Intake) => Some(SessionKind::Intake),
        Some(Kind::Psychotherapy) => Some(SessionKind::Psychotherapy),
        Some(Kind::Crisis) => Some(SessionKind::Crisis),
        Some(Kind::FamilyWithPatient) => Some(SessionKind::FamilyWithPatient),
        Some(Kind::FamilyWithoutPatient) => Some(SessionKind::FamilyWithoutPatient),
        Some(Kind::Unspecified) | None => None,
    };
    // A booking may lie in the future; only its presence and range are checked.
    let starts_at = f.take("starts_at", parse::timestamp("starts_at", r.starts_at.as_ref()));
    let planned_minutes = f.take("planned_minutes", Minutes::new(r.planned_minutes));
    let planned_modality = modality(&mut f, "planned_modality", r.planned_modality);
    f.finish(|| {
        let command = SessionCommand::ScheduleSession {
            session_id: session_id?,
            client_id: client_id?,
            episode_id: episode_id?,
            clinician_id: clinician_id?,
            kind: kind?,
            starts_at: starts_at?,
            planned_minutes: planned_minutes?,
            planned_modality: planned_modality?,
        };
        on_session(session_id, command)
    })
}

pub fn hold_session(r: &proto::HoldSessionRequest, meta: &CommandMeta) -> Result<SessionRequest, ServiceError> {
    use proto::hold_session_request::PatientLocation as Location;
    let mut f = Fields::default();
    let session_id = f.take("session_id", SessionId::parse(&r.session_id));
    let started_at = f.take(
        "started_at",
        parse::timestamp("started_at", r.started_at.as_ref()).and_then(|t| parse::past_time("started_at", t, meta.now)),
    );
    let actual_minutes = f.take("actual_minutes", Minutes::new(r.actual_minutes));
    let modality = modality(&mut f, "modality", r.modality);
    let location = match Location::try_from(r.patient_location) {
        Ok(Location::Unspecified) => None,
        Ok(Location::Home) => Some(PatientLocation::Home),
        Ok(Location::Other) => Some(PatientLocation::Other),
        Err(_) => {
            f.violation("patient_location", format!("{} is not a known value", r.patient_location));
            None
        }
    };
    // Checked here as well as in the domain so a caller learns it with every other bad field.
    if modality.is_some_and(|m| m.is_telehealth()) && r.patient_location == Location::Unspecified as i32 {
        f.violation("patient_location", "is required for video and audio sessions");
    }
    f.finish(|| {
        let command = SessionCommand::HoldSession {
            started_at: started_at?,
            actual_minutes: actual_minutes?,
            modality: modality?,
            patient_location: location,
        };
        on_session(session_id, command)
    })
}

pub fn cancel_session(r: &proto::CancelSessionRequest, meta: &CommandMeta) -> Result<SessionRequest, ServiceError> {
    use proto::cancel_session_request::CancelledBy as By;
    let mut f = Fields::default();
    let session_id = f.take("session_id", SessionId::parse(&r.session_id));
    let cancelled_by = match f.take("cancelled_by", parse::enumeration::<By>("cancelled_by", r.cancelled_by)) {
        Some(By::Client) => Some(CancelledBy::Client),
        Some(By::Clinician) => Some(CancelledBy::Clinician),
        Some(By::Practice) => Some(CancelledBy::Practice),
        Some(By::Unspecified) | None => None,
    };
    let reason = reason(&mut f, meta);
    f.finish(|| on_session(session_id, SessionCommand::CancelSession { cancelled_by: cancelled_by?, reason: reason? }))
}

pub fn record_no_show(r: &proto::RecordNoShowRequest, meta: &CommandMeta) -> Result<SessionRequest, ServiceError> {
    let recorded_by = actor(meta)?;
    let mut f = Fields::default();
    let session_id = f.take("session_id", SessionId::parse(&r.session_id));
    f.finish(|| on_session(session_id, SessionCommand::RecordNoShow { recorded_by }))
}

pub fn sign_progress_note(r: &proto::SignProgressNoteRequest, _: &CommandMeta) -> Result<SessionRequest, ServiceError> {
    let mut f = Fields::default();
    let session_id = f.take("session_id", SessionId::parse(&r.session_id));
    let clinician_id = f.take("clinician_id", ClinicianId::parse(&r.clinician_id));
    let content = content::note(&mut f, r.content.as_ref());
    let goals: Vec<Option<GoalId>> = r
        .goals_addressed
        .iter()
        .enumerate()
        .map(|(i, goal)| f.take(&format!("goals_addressed[{i}]"), GoalId::parse(goal)))
        .collect();
    let plan_id = if r.plan_id.trim().is_empty() {
        if !r.goals_addressed.is_empty() {
            f.violation("plan_id", "is required when goals_addressed is not empty");
        }
        Some(None)
    } else {
        f.take("plan_id", PlanId::parse(&r.plan_id)).map(Some)
    };
    f.finish(|| {
        let content = content?;
        let content_hash = content::hash(&content)?;
        let goals_addressed = goals.into_iter().collect::<Option<Vec<_>>>()?;
        let command =
            SessionCommand::SignProgressNote { content, goals_addressed, content_hash, clinician_id: clinician_id? };
        Some(SessionRequest { session_id: session_id?, command, plan_id: plan_id? })
    })
}

pub fn append_addendum(r: &proto::AppendAddendumRequest, meta: &CommandMeta) -> Result<SessionRequest, ServiceError> {
    use proto::append_addendum_request::Kind;
    let mut f = Fields::default();
    let session_id = f.take("session_id", SessionId::parse(&r.session_id));
    let addendum_id = f.take("addendum_id", AddendumId::parse(&r.addendum_id));
    let kind = match f.take("kind", parse::enumeration::<Kind>("kind", r.kind)) {
        Some(Kind::Addendum) => Some(AddendumKind::Addendum),
        Some(Kind::Correction) => Some(AddendumKind::Correction),
        Some(Kind::LateEntry) => Some(AddendumKind::LateEntry),
        Some(Kind::Unspecified) | None => None,
    };
    let author = f.take("author_id", ClinicianId::parse(&r.author_id));
    let text = f.take("text", NoteText::parse(&r.text));
    let reason = reason(&mut f, meta);
    f.finish(|| {
        let command = SessionCommand::AppendAddendum {
            addendum_id: addendum_id?,
            kind: kind?,
            author: author?,
            reason: reason?,
            text: text?,
        };
        on_session(session_id, command)
    })
}

pub fn record_psychotherapy_note(
    r: &proto::RecordPsychotherapyNoteRequest,
    _: &CommandMeta,
) -> Result<SessionRequest, ServiceError> {
    let mut f = Fields::default();
    let session_id = f.take("session_id", SessionId::parse(&r.session_id));
    let note_id = f.take("note_id", PsychotherapyNoteId::parse(&r.note_id));
    let author = f.take("author_id", ClinicianId::parse(&r.author_id));
    let text = f.take("text", NoteText::parse(&r.text));
    f.finish(|| {
        let command = SessionCommand::RecordPsychotherapyNote { note_id: note_id?, author: author?, text: text? };
        on_session(session_id, command)
    })
}

pub fn request_amendment(
    r: &proto::RequestAmendmentRequest,
    meta: &CommandMeta,
) -> Result<SessionRequest, ServiceError> {
    let requested_by = actor(meta)?;
    let mut f = Fields::default();
    let session_id = f.take("session_id", SessionId::parse(&r.session_id));
    let amendment_id = f.take("amendment_id", AmendmentId::parse(&r.amendment_id));
    let requested_change = f.take("requested_change", NoteText::parse(&r.requested_change));
    let reason = reason(&mut f, meta);
    f.finish(|| {
        let command = SessionCommand::RequestAmendment {
            amendment_id: amendment_id?,
            requested_by,
            requested_change: requested_change?,
            reason: reason?,
        };
        on_session(session_id, command)
    })
}

pub fn decide_amendment(r: &proto::DecideAmendmentRequest, _: &CommandMeta) -> Result<SessionRequest, ServiceError> {
    use proto::decide_amendment_request::Decision;
    use proto::decide_amendment_request::deny::Basis;
    let mut f = Fields::default();
    let session_id = f.take("session_id", SessionId::parse(&r.session_id));
    let amendment_id = f.take("amendment_id", AmendmentId::parse(&r.amendment_id));
    let clinician_id = f.take("clinician_id", ClinicianId::parse(&r.clinician_id));
    let response = match &r.decision {
        None => {
            f.violation("decision", "is required: accept or deny");
            None
        }
        Some(Decision::Accept(a)) => f
            .take("accept.addendum_id", AddendumId::parse(&a.addendum_id))
            .map(|addendum_id| AmendmentResponse::Accept { addendum_id }),
        Some(Decision::Deny(d)) => {
            let basis = match f.take("deny.basis", parse::enumeration::<Basis>("deny.basis", d.basis)) {
                Some(Basis::NotCreatedByPractice) => Some(DenialBasis::NotCreatedByPractice),
                Some(Basis::NotPartOfDesignatedRecordSet) => Some(DenialBasis::NotPartOfDesignatedRecordSet),
                Some(Basis::NotAvailableForInspection) => Some(DenialBasis::NotAvailableForInspection),
                Some(Basis::AccurateAndComplete) => Some(DenialBasis::AccurateAndComplete),
                Some(Basis::Unspecified) | None => None,
            };
            let explanation = f.take("deny.explanation", Reason::parse(&d.explanation));
            basis.zip(explanation).map(|(basis, explanation)| AmendmentResponse::Deny { basis, explanation })
        }
    };
    f.finish(|| {
        let command = SessionCommand::DecideAmendment {
            amendment_id: amendment_id?,
            response: response?,
            clinician_id: clinician_id?,
        };
        on_session(session_id, command)
    })
}

pub fn close_episode(r: &proto::CloseEpisodeRequest) -> Result<CloseEpisode, ServiceError> {
    let mut f = Fields::default();
    let client_id = f.take("client_id", ClientId::parse(&r.client_id));
    let episode_id = f.take("episode_id", EpisodeId::parse(&r.episode_id));
    let clinician_id = f.take("clinician_id", ClinicianId::parse(&r.clinician_id));
    let discharge_summary = f.take("discharge_summary", NoteText::parse(&r.discharge_summary));
    f.finish(|| {
        let command = IntakeCommand::CloseEpisode {
            episode_id: episode_id?,
            clinician_id: clinician_id?,
            discharge_summary: discharge_summary?,
        };
        Some(CloseEpisode { client_id: client_id?, episode_id: episode_id?, command })
    })
}
