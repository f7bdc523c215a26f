//! Black-box tests of the SessionService: the documented flow, every rule's rejection, bad input,
//! idempotent retries, and the cross-aggregate rules under races.

use carelog_blackbox::{
    Authed, Caller, TestApp, assert_invalid_field, assert_rejected, ctx, ctx_because, on_both_backends,
};
use carelog_proto::v1 as proto;
use carelog_proto::v1::intake_service_client::IntakeServiceClient;
use carelog_proto::v1::session_service_client::SessionServiceClient;
use carelog_store::{RecordedEvent, StreamName, StreamQuery};
use chrono::{Duration, Utc};
use proto::SessionModality::{Audio, InPerson, Video};
use tonic::{Code, Status};
use uuid::Uuid;

use crate::given;

mod flow;
mod input;
mod late;
mod races;

/// A registered client with an open episode and a treatment consent, and the calls to drive it:
/// `intake` as the front desk, `sessions` as the episode's own clinician.
struct Episode {
    intake: IntakeServiceClient<Authed>,
    sessions: SessionServiceClient<Authed>,
    client_id: String,
    episode_id: String,
    clinician_id: String,
    treatment_consent: String,
}

async fn episode(app: &TestApp, telehealth: bool) -> Episode {
    use proto::give_consent_request::{Kind, Telehealth, Treatment};
    let given = given::open_episode(app).await;
    let treatment_consent = given::consent(app, given.client_id, Kind::Treatment(Treatment {})).await;
    if telehealth {
        given::consent(app, given.client_id, Kind::Telehealth(Telehealth {})).await;
    }
    Episode {
        intake: app.intake(&given::front_desk()),
        sessions: app.sessions(&given.clinician()),
        client_id: given.client_id.to_string(),
        episode_id: given.episode_id.to_string(),
        clinician_id: given.clinician_id.to_string(),
        treatment_consent,
    }
}

impl Episode {
    /// The episode's own clinician.
    fn clinician(&self) -> Caller {
        Caller::clinician(&self.clinician_id)
    }

    async fn revoke_treatment_consent(&mut self) -> Result<proto::AppendReceipt, Status> {
        let request = proto::RevokeConsentRequest {
            context: ctx_because("client withdrew consent"),
            client_id: self.client_id.clone(),
            consent_id: self.treatment_consent.clone(),
            revoked_at: None,
        };
        self.intake.revoke_consent(request).await.map(|r| r.into_inner())
    }

    fn schedule_at(&self, session_id: &str, starts_in: Duration) -> proto::ScheduleSessionRequest {
        proto::ScheduleSessionRequest {
            context: ctx(),
            session_id: session_id.to_owned(),
            client_id: self.client_id.clone(),
            episode_id: self.episode_id.clone(),
            clinician_id: self.clinician_id.clone(),
            kind: proto::schedule_session_request::Kind::Psychotherapy as i32,
            starts_at: Some(at(starts_in)),
            planned_minutes: 53,
            planned_modality: Video as i32,
        }
    }

    /// A session booked an hour ago, ready to be held.
    async fn scheduled(&mut self) -> String {
        let session_id = id();
        self.sessions.schedule_session(self.schedule_at(&session_id, -Duration::hours(1))).await.unwrap();
        session_id
    }

    async fn held(&mut self) -> String {
        let session_id = self.scheduled().await;
        self.sessions.hold_session(hold(&session_id, InPerson)).await.unwrap();
        session_id
    }

    fn sign(&self, session_id: &str) -> proto::SignProgressNoteRequest {
        use proto::sign_progress_note_request::{Content, Soap};
        let soap = Soap {
            subjective: "Reports sleeping better.".into(),
            objective: "Calm, engaged, good eye contact.".into(),
            assessment: "Depressive symptoms easing.".into(),
            plan: "Continue behavioural activation.".into(),
        };
        proto::SignProgressNoteRequest {
            context: ctx(),
            session_id: session_id.to_owned(),
            clinician_id: self.clinician_id.clone(),
            content: Some(Content::Soap(soap)),
            goals_addressed: vec![],
            plan_id: String::new(),
        }
    }

    fn addendum(&self, session_id: &str) -> proto::AppendAddendumRequest {
        proto::AppendAddendumRequest {
            context: ctx_because("call after the session"),
            session_id: session_id.to_owned(),
            addendum_id: id(),
            kind: proto::append_addendum_request::Kind::LateEntry as i32,
            author_id: self.clinician_id.clone(),
            text: "Client called; safety plan reviewed.".into(),
        }
    }

    fn psychotherapy_note(&self, session_id: &str, author_id: &str) -> proto::RecordPsychotherapyNoteRequest {
        proto::RecordPsychotherapyNoteRequest {
            context: ctx(),
            session_id: session_id.to_owned(),
            note_id: Uuid::now_v7().to_string(),
            author_id: author_id.to_owned(),
            text: "Process notes: transference themes.".into(),
        }
    }

    fn request_amendment(&self, session_id: &str, amendment_id: &str) -> proto::RequestAmendmentRequest {
        proto::RequestAmendmentRequest {
            context: ctx_because("the note states three children"),
            session_id: session_id.to_owned(),
            amendment_id: amendment_id.to_owned(),
            requested_change: "I have two children, not three.".into(),
        }
    }

    fn accept(&self, session_id: &str, amendment_id: &str) -> proto::DecideAmendmentRequest {
        use proto::decide_amendment_request::{Accept, Decision};
        proto::DecideAmendmentRequest {
            context: ctx(),
            session_id: session_id.to_owned(),
            amendment_id: amendment_id.to_owned(),
            clinician_id: self.clinician_id.clone(),
            decision: Some(Decision::Accept(Accept { addendum_id: id() })),
        }
    }

    fn close(&self) -> proto::CloseEpisodeRequest {
        proto::CloseEpisodeRequest {
            context: ctx(),
            client_id: self.client_id.clone(),
            episode_id: self.episode_id.clone(),
            clinician_id: self.clinician_id.clone(),
            discharge_summary: "Goals met; relapse-prevention plan given.".into(),
        }
    }
}

fn hold(session_id: &str, modality: proto::SessionModality) -> proto::HoldSessionRequest {
    proto::HoldSessionRequest {
        context: ctx(),
        session_id: session_id.to_owned(),
        started_at: Some(at(-Duration::hours(1))),
        actual_minutes: 55,
        modality: modality as i32,
        patient_location: proto::hold_session_request::PatientLocation::Home as i32,
    }
}

fn id() -> String {
    Uuid::now_v7().to_string()
}

fn at(offset: Duration) -> prost_types::Timestamp {
    let t = Utc::now() + offset;
    prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 }
}

async fn stored(app: &TestApp, stream: &str) -> Vec<RecordedEvent> {
    app.store.read_stream(&StreamName::new(stream).unwrap(), StreamQuery::all()).await.unwrap()
}

fn types(events: &[RecordedEvent]) -> Vec<&str> {
    events.iter().map(|e| e.event_type.as_str()).collect()
}
