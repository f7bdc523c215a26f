//! Given/when/then tests of the session's rules.

mod documentation;
mod estimates;
mod visits;

use chrono::Duration;

use super::*;
use crate::intake::{self, ClientState, ConsentKind, EpisodeStatus, IntakeCommand, IntakeContext};
use crate::testing::*;
use crate::types::*;

struct Visit {
    session: SessionId,
    client: ClientId,
    episode: EpisodeId,
    clinician: ClinicianId,
    goal: GoalId,
}

fn visit() -> Visit {
    Visit {
        session: SessionId::new_v7(),
        client: ClientId::new_v7(),
        episode: EpisodeId::new_v4(),
        clinician: ClinicianId::new_v4(),
        goal: GoalId::new_v4(),
    }
}

impl Visit {
    /// Registered, episode open, treatment and telehealth consent active, one active goal.
    fn ctx(&self) -> SessionContext {
        SessionContext {
            client_registered: true,
            episode: EpisodeStatus::Open,
            episode_clinician: Some(self.clinician),
            treatment_consent_active: true,
            telehealth_consent_active: true,
            active_goals: vec![self.goal],
            ..SessionContext::bare(now(), SessionSettings::default())
        }
    }

    fn schedule(&self) -> SessionCommand {
        SessionCommand::ScheduleSession {
            session_id: self.session,
            client_id: self.client,
            episode_id: self.episode,
            clinician_id: self.clinician,
            kind: SessionKind::Psychotherapy,
            starts_at: at(0, 10),
            planned_minutes: mins(53),
            planned_modality: Modality::Video,
        }
    }

    fn hold(&self, modality: Modality, location: Option<PatientLocation>) -> SessionCommand {
        SessionCommand::HoldSession {
            started_at: at(0, 10),
            actual_minutes: mins(55),
            modality,
            patient_location: location,
        }
    }

    fn sign_by(&self, clinician_id: ClinicianId) -> SessionCommand {
        let content = NoteContent::Soap {
            subjective: note("Reports improved sleep."),
            objective: note("Calm, engaged."),
            assessment: note("Depressive symptoms easing."),
            plan: note("Continue behavioural activation."),
        };
        SessionCommand::SignProgressNote {
            content,
            goals_addressed: vec![self.goal],
            content_hash: ContentHash::parse(&"ab".repeat(32)).unwrap(),
            clinician_id,
        }
    }

    fn sign(&self) -> SessionCommand {
        self.sign_by(self.clinician)
    }

    fn addendum(&self, id: AddendumId) -> SessionCommand {
        SessionCommand::AppendAddendum {
            addendum_id: id,
            kind: AddendumKind::LateEntry,
            author: self.clinician,
            reason: reason("Phone call after session"),
            text: note("Client called; safety plan reviewed."),
        }
    }

    fn request(&self, id: AmendmentId) -> SessionCommand {
        SessionCommand::RequestAmendment {
            amendment_id: id,
            requested_by: ActorId::new_v4(),
            requested_change: note("I have two children, not three."),
            reason: reason("factual error"),
        }
    }

    fn given(&self, cmds: &[SessionCommand]) -> SessionState {
        cmds.iter().fold(SessionState::default(), |s, c| {
            let events = decide(c, &s, &self.ctx()).unwrap();
            events.iter().fold(s, evolve)
        })
    }

    fn when(&self, cmd: &SessionCommand, s: &SessionState) -> Result<Vec<SessionEvent>, crate::DomainError> {
        decide(cmd, s, &self.ctx())
    }

    fn held(&self) -> SessionState {
        self.given(&[self.schedule(), self.hold(Modality::Video, Some(PatientLocation::Home))])
    }

    fn signed(&self) -> SessionState {
        self.given(&[self.schedule(), self.hold(Modality::Video, Some(PatientLocation::Home)), self.sign()])
    }
}

/// A client's record, built through the intake aggregate so the context is what a service sees.
fn client_record(v: &Visit, consents: &[(ConsentId, ConsentKind)], revoke: Option<ConsentId>) -> ClientState {
    let staff = ActorId::new_v4();
    let demographics = intake::Demographics {
        legal_name: name("Sam Lee"),
        preferred_name: None,
        date_of_birth: Some(date(1985, 1, 1)),
        contact: intake::Contact::default(),
        payer: intake::Payer::SelfPay,
    };
    let mut cmds = vec![
        IntakeCommand::RegisterClient { client_id: v.client, demographics, registered_by: staff },
        IntakeCommand::OpenEpisode { episode_id: v.episode, clinician_id: v.clinician, opened_at: at(0, 8) },
    ];
    for (id, kind) in consents {
        cmds.push(IntakeCommand::GiveConsent {
            consent_id: *id,
            kind: kind.clone(),
            given_at: at(0, 8),
            recorded_by: staff,
        });
    }
    if let Some(id) = revoke {
        cmds.push(IntakeCommand::RevokeConsent {
            consent_id: id,
            reason: reason("client withdrew"),
            revoked_at: at(0, 11),
        });
    }
    cmds.iter().fold(ClientState::default(), |s, c| {
        intake::decide(c, &s, &IntakeContext::at(now())).unwrap().iter().fold(s, intake::evolve)
    })
}
