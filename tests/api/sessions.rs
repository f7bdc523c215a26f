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

/// A registered client with an open episode and a treatment consent, and the calls to drive it.
struct Episode {
    intake: IntakeServiceClient<Authed>,
    sessions: SessionServiceClient<Authed>,
    client_id: String,
    episode_id: String,
    clinician_id: String,
    treatment_consent: String,
}

async fn episode(app: &TestApp, telehealth: bool) -> Episode {
    let caller = Caller::new("clinician");
    let (mut intake, sessions) = (app.intake(&caller), app.sessions(&caller));
    let client = Uuid::now_v7();
    intake.register_client(crate::intake::register_request(client)).await.unwrap();
    let (client_id, episode_id, clinician_id) = (client.to_string(), id(), id());
    let open = proto::OpenEpisodeRequest {
        context: ctx(),
        client_id: client_id.clone(),
        episode_id: episode_id.clone(),
        clinician_id: clinician_id.clone(),
        opened_at: None,
    };
    intake.open_episode(open).await.unwrap();
    let mut ep = Episode { intake, sessions, client_id, episode_id, clinician_id, treatment_consent: id() };
    use proto::give_consent_request::{Kind, Telehealth, Treatment};
    ep.consent(ep.treatment_consent.clone(), Kind::Treatment(Treatment {})).await;
    if telehealth {
        ep.consent(id(), Kind::Telehealth(Telehealth {})).await;
    }
    ep
}

impl Episode {
    async fn consent(&mut self, consent_id: String, kind: proto::give_consent_request::Kind) {
        let request = proto::GiveConsentRequest {
            context: ctx(),
            client_id: self.client_id.clone(),
            consent_id,
            given_at: None,
            kind: Some(kind),
        };
        self.intake.give_consent(request).await.unwrap();
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

async fn a_session_is_documented_from_booking_to_discharge(app: &TestApp) {
    let mut ep = episode(app, true).await;
    let session_id = id();
    let r = ep.sessions.schedule_session(ep.schedule_at(&session_id, -Duration::hours(1))).await.unwrap().into_inner();
    assert_eq!(
        (r.stream.as_str(), r.revision, r.event_types.as_slice()),
        (&*format!("session-{session_id}"), 0, &["SessionScheduled".to_owned()][..])
    );
    let r = ep.sessions.hold_session(hold(&session_id, Video)).await.unwrap().into_inner();
    assert_eq!((r.revision, r.event_types.as_slice()), (1, &["SessionHeld".to_owned()][..]));
    ep.sessions.sign_progress_note(ep.sign(&session_id)).await.unwrap();
    ep.sessions.append_addendum(ep.addendum(&session_id)).await.unwrap();
    let note =
        ep.sessions.record_psychotherapy_note(ep.psychotherapy_note(&session_id, &ep.clinician_id.clone())).await;
    let note = note.unwrap().into_inner();
    assert!(note.stream.starts_with("psynote-") && note.revision == 0, "{note:?}");
    let amendment = id();
    ep.sessions.request_amendment(ep.request_amendment(&session_id, &amendment)).await.unwrap();
    let r = ep.sessions.decide_amendment(ep.accept(&session_id, &amendment)).await.unwrap().into_inner();
    assert_eq!((r.revision, r.event_types.len()), (6, 2), "accepted: decided, then appended as a correction");
    let r = ep.sessions.close_episode(ep.close()).await.unwrap().into_inner();
    assert_eq!((r.stream, r.event_types), (format!("client-{}", ep.client_id), vec!["EpisodeClosed".to_owned()]));

    let events = stored(app, &format!("session-{session_id}")).await;
    let expected = [
        "SessionScheduled",
        "SessionHeld",
        "ProgressNoteSigned",
        "NoteAddendumAppended",
        "AmendmentRequested",
        "AmendmentDecided",
        "NoteAddendumAppended",
    ];
    assert_eq!(types(&events), expected, "the psychotherapy note never enters the session stream");
    let signed = &events[2].data;
    assert_eq!(signed["format"], "SOAP");
    let hash = signed["content_hash"].as_str().unwrap();
    assert!(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()), "{hash}");
    assert_eq!(events[1].data["patient_location"], "home");
    for e in events.iter().chain(&stored(app, &note.stream).await) {
        assert_eq!(e.metadata.tags.client.as_deref(), Some(ep.client_id.as_str()), "{}", e.event_type);
        assert_eq!(e.metadata.tags.episode.as_deref(), Some(ep.episode_id.as_str()), "{}", e.event_type);
    }
}

async fn holding_a_session_needs_the_clients_consents(app: &TestApp) {
    let mut ep = episode(app, false).await;
    let session_id = ep.scheduled().await;
    let before = app.event_count().await;
    let err = ep.sessions.hold_session(hold(&session_id, Video)).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "TELEHEALTH_CONSENT_REQUIRED");
    let err = ep.sessions.hold_session(hold(&session_id, Audio)).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "TELEHEALTH_CONSENT_REQUIRED");
    ep.revoke_treatment_consent().await.unwrap();
    let err = ep.sessions.hold_session(hold(&session_id, InPerson)).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "CONSENT_NOT_ACTIVE");
    assert_eq!(app.event_count().await, before + 1, "only the revocation was stored");
}

async fn nothing_happens_in_a_closed_episode(app: &TestApp) {
    let mut ep = episode(app, true).await;
    let booked = ep.scheduled().await;
    ep.sessions.close_episode(ep.close()).await.unwrap();
    let err = ep.sessions.schedule_session(ep.schedule_at(&id(), Duration::days(1))).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "EPISODE_CLOSED");
    let err = ep.sessions.hold_session(hold(&booked, InPerson)).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "EPISODE_CLOSED");
    let err = ep.sessions.close_episode(ep.close()).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "EPISODE_CLOSED");
}

async fn an_episode_closes_only_with_every_note_signed_and_every_risk_flag_acknowledged(app: &TestApp) {
    let mut ep = episode(app, true).await;
    let session_id = ep.held().await;
    let err = ep.sessions.close_episode(ep.close()).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "UNSIGNED_NOTES");
    use proto::sign_progress_note_request::{Birp, Content};
    let mut birp = ep.sign(&session_id);
    birp.content = Some(Content::Birp(Birp {
        behavior: "Tearful when discussing work.".into(),
        intervention: "Cognitive restructuring.".into(),
        response: "Identified two balanced thoughts.".into(),
        plan: "Thought record daily.".into(),
    }));
    ep.sessions.sign_progress_note(birp).await.unwrap();
    assert_eq!(stored(app, &format!("session-{session_id}")).await[2].data["format"], "BIRP");
    let assessment = proto::RecordAssessmentRequest {
        context: ctx(),
        client_id: ep.client_id.clone(),
        assessment_id: id(),
        instrument: proto::record_assessment_request::Instrument::Phq9 as i32,
        item_scores: vec![2, 2, 1, 2, 1, 1, 1, 0, 1],
        administered_at: None,
    };
    ep.intake.record_assessment(assessment).await.unwrap();
    let err = ep.sessions.close_episode(ep.close()).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "RISK_FLAG_UNACKNOWLEDGED");
}

async fn a_visit_ends_once_and_only_as_it_can(app: &TestApp) {
    let mut ep = episode(app, true).await;
    let session_id = ep.scheduled().await;
    let err = ep.sessions.schedule_session(ep.schedule_at(&session_id, Duration::hours(1))).await.unwrap_err();
    assert_rejected(&err, Code::AlreadyExists, "SESSION_ALREADY_EXISTS");
    let cancel = |session_id: &str| proto::CancelSessionRequest {
        context: ctx_because("client unwell"),
        session_id: session_id.to_owned(),
        cancelled_by: proto::cancel_session_request::CancelledBy::Client as i32,
    };
    ep.sessions.cancel_session(cancel(&session_id)).await.unwrap();
    assert_eq!(stored(app, &format!("session-{session_id}")).await[1].data["late"], true, "within 24 hours");
    let err = ep.sessions.hold_session(hold(&session_id, InPerson)).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "SESSION_ALREADY_CONCLUDED");

    let next_week = id();
    ep.sessions.schedule_session(ep.schedule_at(&next_week, Duration::days(7))).await.unwrap();
    let no_show = |session_id: &str| proto::RecordNoShowRequest { context: ctx(), session_id: session_id.to_owned() };
    let err = ep.sessions.record_no_show(no_show(&next_week)).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "NO_SHOW_BEFORE_START");
    ep.sessions.cancel_session(cancel(&next_week)).await.unwrap();
    assert_eq!(stored(app, &format!("session-{next_week}")).await[1].data["late"], false);

    let missed = ep.scheduled().await;
    ep.sessions.record_no_show(no_show(&missed)).await.unwrap();
    let err = ep.sessions.sign_progress_note(ep.sign(&missed)).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "SESSION_NOT_HELD");
    let err = ep.sessions.hold_session(hold(&id(), InPerson)).await.unwrap_err();
    assert_rejected(&err, Code::NotFound, "SESSION_NOT_FOUND");
    let mut unknown = ep.schedule_at(&id(), Duration::hours(1));
    unknown.episode_id = id();
    assert_rejected(&ep.sessions.schedule_session(unknown).await.unwrap_err(), Code::NotFound, "EPISODE_NOT_FOUND");
    let mut unknown = ep.schedule_at(&id(), Duration::hours(1));
    unknown.client_id = id();
    assert_rejected(&ep.sessions.schedule_session(unknown).await.unwrap_err(), Code::NotFound, "CLIENT_NOT_FOUND");
}

async fn a_signed_note_is_locked_and_changed_only_by_addenda(app: &TestApp) {
    let mut ep = episode(app, true).await;
    let booked = ep.scheduled().await;
    let err = ep.sessions.sign_progress_note(ep.sign(&booked)).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "SESSION_NOT_HELD");
    let session_id = ep.held().await;
    let err = ep.sessions.append_addendum(ep.addendum(&session_id)).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "NOTE_NOT_SIGNED");
    let err = ep.sessions.request_amendment(ep.request_amendment(&session_id, &id())).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "NOTE_NOT_SIGNED");
    let mut stranger = ep.sign(&session_id);
    stranger.clinician_id = id();
    let err = ep.sessions.sign_progress_note(stranger).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "NOT_SESSION_CLINICIAN");
    ep.sessions.sign_progress_note(ep.sign(&session_id)).await.unwrap();
    let err = ep.sessions.sign_progress_note(ep.sign(&session_id)).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "NOTE_ALREADY_SIGNED");
    let mut addendum = ep.addendum(&session_id);
    ep.sessions.append_addendum(addendum.clone()).await.unwrap();
    addendum.context = ctx_because("same id, new command");
    let err = ep.sessions.append_addendum(addendum).await.unwrap_err();
    assert_rejected(&err, Code::AlreadyExists, "ADDENDUM_ALREADY_EXISTS");

    let err = ep.sessions.record_psychotherapy_note(ep.psychotherapy_note(&session_id, &id())).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "NOT_SESSION_CLINICIAN");
    let mut again = ep.psychotherapy_note(&session_id, &ep.clinician_id.clone());
    ep.sessions.record_psychotherapy_note(again.clone()).await.unwrap();
    again.context = ctx();
    let err = ep.sessions.record_psychotherapy_note(again).await.unwrap_err();
    assert_invalid_field(&err, "note_id");

    let amendment = id();
    let err = ep.sessions.decide_amendment(ep.accept(&session_id, &amendment)).await.unwrap_err();
    assert_rejected(&err, Code::NotFound, "AMENDMENT_NOT_FOUND");
    ep.sessions.request_amendment(ep.request_amendment(&session_id, &amendment)).await.unwrap();
    let err = ep.sessions.request_amendment(ep.request_amendment(&session_id, &amendment)).await.unwrap_err();
    assert_rejected(&err, Code::AlreadyExists, "AMENDMENT_ALREADY_EXISTS");
    use proto::decide_amendment_request::{Decision, Deny, deny::Basis};
    let mut deny = ep.accept(&session_id, &amendment);
    let explanation = "The note records what the client reported.".to_owned();
    deny.decision = Some(Decision::Deny(Deny { basis: Basis::AccurateAndComplete as i32, explanation }));
    let r = ep.sessions.decide_amendment(deny).await.unwrap().into_inner();
    assert_eq!(r.event_types, ["AmendmentDecided"]);
    let err = ep.sessions.decide_amendment(ep.accept(&session_id, &amendment)).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "AMENDMENT_ALREADY_DECIDED");
}

async fn bad_input_names_every_bad_field_and_stores_nothing(app: &TestApp) {
    let mut ep = episode(app, true).await;
    let session_id = ep.scheduled().await;
    let before = app.event_count().await;
    let mut r = ep.schedule_at("not-a-uuid", Duration::hours(1));
    (r.client_id, r.episode_id, r.kind, r.starts_at, r.planned_minutes) =
        (Uuid::new_v4().to_string(), String::new(), 0, None, 0);
    r.planned_modality = 9;
    let err = ep.sessions.schedule_session(r).await.unwrap_err();
    for field in ["session_id", "client_id", "episode_id", "kind", "starts_at", "planned_minutes", "planned_modality"] {
        assert_invalid_field(&err, field);
    }
    let mut r = hold(&session_id, Video);
    (r.started_at, r.actual_minutes, r.patient_location) = (Some(at(Duration::hours(2))), 601, 0);
    let err = ep.sessions.hold_session(r).await.unwrap_err();
    for field in ["started_at", "actual_minutes", "patient_location"] {
        assert_invalid_field(&err, field);
    }
    let mut r = ep.sign(&session_id);
    if let Some(proto::sign_progress_note_request::Content::Soap(soap)) = &mut r.content {
        soap.plan = "  ".into();
    }
    r.goals_addressed = vec!["goal?".into()];
    let err = ep.sessions.sign_progress_note(r).await.unwrap_err();
    for field in ["soap.plan", "goals_addressed[0]", "plan_id"] {
        assert_invalid_field(&err, field);
    }
    let mut r = ep.sign(&session_id);
    (r.content, r.plan_id) = (None, "plan".into());
    let err = ep.sessions.sign_progress_note(r).await.unwrap_err();
    assert_invalid_field(&err, "content");
    assert_invalid_field(&err, "plan_id");
    let mut r = ep.addendum(&session_id);
    (r.context, r.kind, r.text) = (ctx(), 0, String::new());
    let err = ep.sessions.append_addendum(r).await.unwrap_err();
    for field in ["context.reason", "kind", "text"] {
        assert_invalid_field(&err, field);
    }
    let mut r = ep.psychotherapy_note(&session_id, "x");
    r.note_id = Uuid::new_v4().to_string();
    let err = ep.sessions.record_psychotherapy_note(r).await.unwrap_err();
    assert_invalid_field(&err, "note_id");
    assert_invalid_field(&err, "author_id");
    let mut r = ep.accept(&session_id, "");
    r.decision = None;
    let err = ep.sessions.decide_amendment(r).await.unwrap_err();
    assert_invalid_field(&err, "amendment_id");
    assert_invalid_field(&err, "decision");
    let mut r = ep.close();
    r.discharge_summary = String::new();
    assert_invalid_field(&ep.sessions.close_episode(r).await.unwrap_err(), "discharge_summary");
    let cancel = proto::CancelSessionRequest { context: ctx(), session_id: session_id.clone(), cancelled_by: 1 };
    assert_invalid_field(&ep.sessions.cancel_session(cancel).await.unwrap_err(), "context.reason");
    let mut r = hold(&session_id, InPerson);
    r.context = None;
    assert_invalid_field(&ep.sessions.hold_session(r).await.unwrap_err(), "context");
    assert_eq!(app.event_count().await, before);
}

async fn a_retried_command_is_applied_once(app: &TestApp) {
    let mut ep = episode(app, true).await;
    let session_id = ep.scheduled().await;
    let request = hold(&session_id, Video);
    let first = ep.sessions.hold_session(request.clone()).await.unwrap().into_inner();
    let retry = ep.sessions.hold_session(request).await.unwrap().into_inner();
    assert!(retry.already_applied && !first.already_applied);
    assert_eq!((retry.revision, retry.position), (first.revision, first.position));
    ep.sessions.sign_progress_note(ep.sign(&session_id)).await.unwrap();
    let note = ep.psychotherapy_note(&session_id, &ep.clinician_id.clone());
    let first = ep.sessions.record_psychotherapy_note(note.clone()).await.unwrap().into_inner();
    let retry = ep.sessions.record_psychotherapy_note(note).await.unwrap().into_inner();
    assert_eq!((retry.already_applied, retry.stream, retry.position), (true, first.stream, first.position));
    let close = ep.close();
    let first = ep.sessions.close_episode(close.clone()).await.unwrap().into_inner();
    let retry = ep.sessions.close_episode(close).await.unwrap().into_inner();
    assert_eq!((retry.already_applied, retry.position), (true, first.position));
    assert_eq!(app.event_count().await, first.position, "nothing stored after the close");
}

/// A treatment plan for the episode with one active goal, signed or a draft, written straight to the
/// log: the planning service's own tests cover how plans are made; here only their goals matter.
async fn plan(app: &TestApp, ep: &Episode, goal: &str, signed: bool) -> String {
    use carelog_store::{Actor, AppendRequest, ExpectedRevision, Metadata, NewEvent};
    let (plan_id, now) = (id(), Utc::now());
    let actor = Actor { id: id(), role: "clinician".into() };
    let events = [
        (
            "TreatmentPlanDrafted",
            serde_json::json!({"plan_id": plan_id, "client_id": ep.client_id,
            "episode_id": ep.episode_id, "version": 1, "addresses": ["F32.1"], "drafted_by": ep.clinician_id,
            "drafted_at": now}),
        ),
        (
            "GoalSet",
            serde_json::json!({"goal_id": goal, "version": 1, "description": "Lift mood",
            "measurable_target": "PHQ-9 below 10 twice", "due_on": "2030-01-01"}),
        ),
        (
            "TreatmentPlanSigned",
            serde_json::json!({"version": 1, "signed_by": ep.clinician_id, "signed_at": now,
            "next_review_due": "2030-01-01"}),
        ),
    ];
    let events = events.into_iter().take(if signed { 3 } else { 2 }).map(|(event_type, data)| NewEvent {
        event_id: Uuid::now_v7(),
        event_type: event_type.into(),
        schema_version: 1,
        data,
        metadata: Metadata::by(actor.clone(), now),
    });
    let stream = StreamName::new(format!("plan-{plan_id}")).unwrap();
    app.store.append(AppendRequest::new(stream, ExpectedRevision::NoStream, events.collect())).await.unwrap();
    plan_id
}

async fn a_note_addresses_only_active_goals_of_the_clients_signed_plan(app: &TestApp) {
    let mut ep = episode(app, true).await;
    let session_id = ep.held().await;
    let goal = id();
    let plan_id = plan(app, &ep, &goal, true).await;
    let sign = |plan_id: &str, goal: &str| {
        let mut r = ep.sign(&session_id);
        (r.plan_id, r.goals_addressed) = (plan_id.to_owned(), vec![goal.to_owned()]);
        r
    };
    let err = ep.sessions.clone().sign_progress_note(sign(&id(), &goal)).await.unwrap_err();
    assert_rejected(&err, Code::NotFound, "PLAN_NOT_FOUND");
    let other = episode(app, true).await;
    let others_plan = plan(app, &other, &goal, true).await;
    let err = ep.sessions.clone().sign_progress_note(sign(&others_plan, &goal)).await.unwrap_err();
    assert_rejected(&err, Code::NotFound, "PLAN_NOT_FOUND");
    let draft = plan(app, &ep, &goal, false).await;
    let err = ep.sessions.clone().sign_progress_note(sign(&draft, &goal)).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "PLAN_NOT_SIGNED");
    let err = ep.sessions.clone().sign_progress_note(sign(&plan_id, &id())).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "GOAL_NOT_ACTIVE");
    ep.sessions.clone().sign_progress_note(sign(&plan_id, &goal)).await.unwrap();
    let events = stored(app, &format!("session-{session_id}")).await;
    assert_eq!(events[2].data["goals_addressed"], serde_json::json!([goal]));
}

const ROUNDS: usize = 15;

/// Holds each session on its own connection-level stream, all at once.
fn holds(
    ep: &Episode,
    sessions: &[String],
) -> Vec<impl Future<Output = Result<tonic::Response<proto::AppendReceipt>, Status>> + use<>> {
    sessions
        .iter()
        .map(|s| {
            let (mut client, request) = (ep.sessions.clone(), hold(s, InPerson));
            async move { client.hold_session(request).await }
        })
        .collect()
}

async fn no_session_is_held_after_treatment_consent_is_revoked_even_in_a_race(app: &TestApp) {
    for round in 0..ROUNDS {
        let mut ep = episode(app, false).await;
        let mut sessions = Vec::new();
        for _ in 0..3 {
            sessions.push(ep.scheduled().await);
        }
        let before = app.event_count().await;
        let holding = futures::future::join_all(holds(&ep, &sessions));
        let (revoked, held) = tokio::join!(ep.revoke_treatment_consent(), holding);
        let revoked_at = revoked.unwrap().position;
        let mut committed = 0;
        for (session, result) in sessions.iter().zip(held) {
            match result {
                Ok(receipt) => {
                    committed += 1;
                    assert!(receipt.get_ref().position < revoked_at, "round {round}: held after the revocation");
                }
                Err(err) => assert_rejected(&err, Code::FailedPrecondition, "CONSENT_NOT_ACTIVE"),
            }
            let events = stored(app, &format!("session-{session}")).await;
            assert!(events.iter().all(|e| e.event_type != "SessionHeld" || e.position.0 < revoked_at));
        }
        assert_eq!(app.event_count().await, before + 1 + committed, "round {round}: lost or duplicated events");
    }
}

async fn an_episode_never_closes_over_a_session_held_in_a_race(app: &TestApp) {
    for round in 0..ROUNDS {
        let mut ep = episode(app, false).await;
        let sessions = vec![ep.scheduled().await, ep.scheduled().await];
        let before = app.event_count().await;
        let mut closing = ep.sessions.clone();
        let (closed, held) =
            tokio::join!(closing.close_episode(ep.close()), futures::future::join_all(holds(&ep, &sessions)));
        let committed = held.iter().filter(|r| r.is_ok()).count() as u64;
        let closures = u64::from(closed.is_ok());
        match closed {
            Ok(_) => {
                assert_eq!(committed, 0, "round {round}: a session was held in the closed episode");
                for err in held.iter().filter_map(|r| r.as_ref().err()) {
                    assert_rejected(err, Code::FailedPrecondition, "EPISODE_CLOSED");
                }
            }
            Err(err) => {
                assert_rejected(&err, Code::FailedPrecondition, "UNSIGNED_NOTES");
                assert!(committed > 0, "round {round}");
            }
        }
        assert_eq!(app.event_count().await, before + committed + closures, "round {round}");
    }
}

on_both_backends!(
    a_session_is_documented_from_booking_to_discharge,
    holding_a_session_needs_the_clients_consents,
    nothing_happens_in_a_closed_episode,
    an_episode_closes_only_with_every_note_signed_and_every_risk_flag_acknowledged,
    a_visit_ends_once_and_only_as_it_can,
    a_signed_note_is_locked_and_changed_only_by_addenda,
    bad_input_names_every_bad_field_and_stores_nothing,
    a_retried_command_is_applied_once,
    a_note_addresses_only_active_goals_of_the_clients_signed_plan,
    no_session_is_held_after_treatment_consent_is_revoked_even_in_a_race,
    an_episode_never_closes_over_a_session_held_in_a_race,
);
