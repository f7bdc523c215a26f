//! Given/when/then tests of the episode view, fed real envelopes.

mod erasure;
mod fold;
mod plans;
mod proptests;
mod record;
mod sessions;

use carelog_domain::billing::BillingEvent;
use carelog_domain::intake::*;
use carelog_domain::planning::PlanningEvent;
use carelog_domain::sessions::*;
use carelog_domain::types::*;
use carelog_store::RecordedEvent;

use crate::episode::EpisodeView;
use crate::testing::*;

/// The psychotherapy note text the view must never contain.
pub(crate) const PSYNOTE_TEXT: &str = "Dreamt of the lighthouse keeper again";

/// One client's chart: the ids of the client's aggregates and a log to append their events to.
pub(crate) struct Chart {
    pub log: Log,
    pub client: ClientId,
    pub episode: EpisodeId,
    pub clinician: ClinicianId,
    pub plan: PlanId,
    pub account: AccountId,
}

impl Chart {
    pub fn new() -> Self {
        Self {
            log: Log::default(),
            client: ClientId::new_v7(),
            episode: EpisodeId::new_v4(),
            clinician: ClinicianId::new_v4(),
            plan: PlanId::new_v7(),
            account: AccountId::new_v7(),
        }
    }

    pub fn intake(&mut self, e: impl Into<IntakeEvent>) -> RecordedEvent {
        let stream = self.client.stream_name();
        self.log.append::<IntakeEvent>(&stream, Some(self.client), Some(self.episode), e)
    }

    pub fn planning(&mut self, e: impl Into<PlanningEvent>) -> RecordedEvent {
        let stream = self.plan.stream_name();
        self.log.append::<PlanningEvent>(&stream, Some(self.client), Some(self.episode), e)
    }

    pub fn session(&mut self, session: SessionId, e: impl Into<SessionEvent>) -> RecordedEvent {
        let e: SessionEvent = e.into();
        let stream = e.stream_name(session);
        self.log.append::<SessionEvent>(&stream, Some(self.client), Some(self.episode), e)
    }

    pub fn billing(&mut self, e: impl Into<BillingEvent>) -> RecordedEvent {
        let stream = self.account.stream_name();
        self.log.append::<BillingEvent>(&stream, Some(self.client), Some(self.episode), e)
    }

    /// The view after every event of the log.
    pub fn view(&self) -> EpisodeView {
        let mut view = EpisodeView::new(self.client);
        for e in &self.log.events {
            view.apply(e).expect("every event folds");
        }
        view
    }

    pub fn register(&mut self) {
        let demographics = Demographics {
            legal_name: name("Ada Lovelace"),
            preferred_name: Some(name("Ada")),
            date_of_birth: Some(date(1990, 12, 10)),
            contact: Contact {
                phone: Some(PhoneNumber::parse("+1 555 010 0199").expect("phone")),
                email: Some(Email::parse("ada@example.org").expect("email")),
                address: Some(short("12 Analytical Way")),
            },
            payer: Payer::Insurance {
                payer_name: short("Acme Health"),
                member_id: MemberId::parse("XYZ-12345").expect("member id"),
            },
        };
        let client_id = self.client;
        self.intake(ClientRegistered {
            client_id,
            demographics,
            registered_by: ActorId::new_v4(),
            registered_at: at(0, 9),
        });
        let (episode_id, clinician_id) = (self.episode, self.clinician);
        self.intake(EpisodeOpened { episode_id, clinician_id, opened_at: at(0, 10) });
    }

    pub fn consent(&mut self, kind: ConsentKind) -> ConsentId {
        let consent_id = ConsentId::new_v4();
        self.intake(ConsentGiven { consent_id, kind, given_at: at(0, 10), recorded_by: ActorId::new_v4() });
        consent_id
    }

    pub fn schedule(&mut self, starts_at: chrono::DateTime<chrono::Utc>) -> SessionId {
        self.schedule_with_estimate_due(starts_at, None)
    }

    /// A session scheduled as the domain does under the warn setting when no estimate covers it.
    pub fn schedule_with_estimate_due(
        &mut self,
        starts_at: chrono::DateTime<chrono::Utc>,
        estimate_due_by: Option<chrono::NaiveDate>,
    ) -> SessionId {
        let session_id = SessionId::new_v7();
        let (client_id, episode_id, clinician_id) = (self.client, self.episode, self.clinician);
        self.session(
            session_id,
            SessionScheduled {
                session_id,
                client_id,
                episode_id,
                clinician_id,
                kind: SessionKind::Psychotherapy,
                starts_at,
                planned_minutes: mins(50),
                planned_modality: Modality::Video,
                estimate_due_by,
            },
        );
        session_id
    }

    pub fn hold(&mut self, session: SessionId, started_at: chrono::DateTime<chrono::Utc>, minutes: u32) {
        self.session(
            session,
            SessionHeld {
                started_at,
                actual_minutes: mins(minutes),
                modality: Modality::Video,
                patient_location: Some(PatientLocation::Home),
                recorded_at: started_at + chrono::Duration::minutes(i64::from(minutes)),
                late_entry: None,
            },
        );
    }

    pub fn sign_note(&mut self, session: SessionId, goals: Vec<GoalId>, signed_at: chrono::DateTime<chrono::Utc>) {
        let content = NoteContent::Dap {
            data: note("Reports sleeping better."),
            assessment: note("Mood improving."),
            plan: note("Continue CBT weekly."),
        };
        let signed_by = self.clinician;
        self.session(
            session,
            ProgressNoteSigned {
                format: NoteFormat::Dap,
                content,
                goals_addressed: goals,
                content_hash: hash('a'),
                signed_by,
                signed_at,
                late_entry: None,
            },
        );
    }

    pub fn psychotherapy_note(&mut self, session_id: SessionId) {
        let author = self.clinician;
        let note_id = PsychotherapyNoteId::new_v7();
        let text = note(PSYNOTE_TEXT);
        self.session(
            session_id,
            PsychotherapyNoteRecorded { note_id, session_id, author, text, recorded_at: at(1, 9) },
        );
    }
}
