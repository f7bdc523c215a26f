//! A session's life from booking to discharge, and the rules along the way.

use super::*;

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
    // An unknown client is not found by the front desk; to a clinician it is just not theirs.
    let mut unknown = ep.schedule_at(&id(), Duration::hours(1));
    unknown.client_id = id();
    let err = app.sessions(&given::front_desk()).schedule_session(unknown.clone()).await.unwrap_err();
    assert_rejected(&err, Code::NotFound, "CLIENT_NOT_FOUND");
    let err = ep.sessions.schedule_session(unknown).await.unwrap_err();
    assert_rejected(&err, Code::PermissionDenied, "CLIENT_NOT_ASSIGNED");
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
    // Nobody signs for someone else; a supervisor signing as themselves still signs only sessions they held.
    let supervisor = Caller::new("supervisor");
    let mut stranger = ep.sign(&session_id);
    stranger.clinician_id = supervisor.id.to_string();
    let err = ep.sessions.sign_progress_note(stranger.clone()).await.unwrap_err();
    assert_rejected(&err, Code::PermissionDenied, "NOT_THE_CALLER");
    let err = app.sessions(&supervisor).sign_progress_note(stranger).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "NOT_SESSION_CLINICIAN");
    ep.sessions.sign_progress_note(ep.sign(&session_id)).await.unwrap();
    let err = ep.sessions.sign_progress_note(ep.sign(&session_id)).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "NOTE_ALREADY_SIGNED");
    let mut addendum = ep.addendum(&session_id);
    ep.sessions.append_addendum(addendum.clone()).await.unwrap();
    addendum.context = ctx_because("same id, new command");
    let err = ep.sessions.append_addendum(addendum).await.unwrap_err();
    assert_rejected(&err, Code::AlreadyExists, "ADDENDUM_ALREADY_EXISTS");

    let by_supervisor = ep.psychotherapy_note(&session_id, &supervisor.id.to_string());
    let err = ep.sessions.record_psychotherapy_note(by_supervisor.clone()).await.unwrap_err();
    assert_rejected(&err, Code::PermissionDenied, "NOT_THE_CALLER");
    let err = app.sessions(&supervisor).record_psychotherapy_note(by_supervisor).await.unwrap_err();
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

on_both_backends!(
    a_session_is_documented_from_booking_to_discharge,
    holding_a_session_needs_the_clients_consents,
    nothing_happens_in_a_closed_episode,
    an_episode_closes_only_with_every_note_signed_and_every_risk_flag_acknowledged,
    a_visit_ends_once_and_only_as_it_can,
    a_signed_note_is_locked_and_changed_only_by_addenda,
);
