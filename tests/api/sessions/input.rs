//! Bad input, retries, and notes addressing a plan's goals.

use super::*;

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

/// A treatment plan for the episode with one active goal, signed or a draft, made through the
/// TreatmentPlanningService.
async fn plan(app: &TestApp, ep: &Episode, goal: &str, signed: bool) -> String {
    let caller = ep.clinician();
    let diagnosis = proto::RecordDiagnosisRequest {
        context: ctx(),
        client_id: ep.client_id.clone(),
        icd10_code: "F32.1".into(),
        code_set_version: "2026".into(),
        clinician_id: ep.clinician_id.clone(),
    };
    if let Err(status) = app.intake(&caller).record_diagnosis(diagnosis).await {
        assert_rejected(&status, Code::FailedPrecondition, "DIAGNOSIS_ALREADY_ACTIVE");
    }
    let mut planning = app.planning(&caller);
    let plan_id = id();
    let draft = proto::DraftPlanRequest {
        context: ctx(),
        plan_id: plan_id.clone(),
        client_id: ep.client_id.clone(),
        episode_id: ep.episode_id.clone(),
        icd10_codes: vec!["F32.1".into()],
        clinician_id: ep.clinician_id.clone(),
    };
    planning.draft_plan(draft).await.unwrap();
    let set = proto::SetGoalRequest {
        context: ctx(),
        plan_id: plan_id.clone(),
        goal_id: goal.to_owned(),
        description: "Lift mood".into(),
        measurable_target: "PHQ-9 below 10 twice".into(),
        due_on: "2030-01-01".into(),
    };
    planning.set_goal(set).await.unwrap();
    if signed {
        let sign =
            proto::SignPlanRequest { context: ctx(), plan_id: plan_id.clone(), clinician_id: ep.clinician_id.clone() };
        planning.sign_plan(sign).await.unwrap();
    }
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
    // A revision in draft: its new goal is not in force until the revision is signed.
    let mut planning = app.planning(&ep.clinician());
    use proto::review_plan_request::{GoalProgress, Outcome, Rating};
    let progress =
        vec![GoalProgress { goal_id: goal.clone(), rating: Rating::Improving as i32, comment: String::new() }];
    let revise = proto::ReviewPlanRequest {
        context: ctx(),
        plan_id: plan_id.clone(),
        clinician_id: ep.clinician_id.clone(),
        progress,
        outcome: Outcome::Revise as i32,
    };
    planning.review_plan(revise).await.unwrap();
    let drafted = id();
    let set = proto::SetGoalRequest {
        context: ctx(),
        plan_id: plan_id.clone(),
        goal_id: drafted.clone(),
        description: "Return to work".into(),
        measurable_target: "Four days a week".into(),
        due_on: "2030-01-01".into(),
    };
    planning.set_goal(set).await.unwrap();
    let err = ep.sessions.clone().sign_progress_note(sign(&plan_id, &drafted)).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "GOAL_NOT_ACTIVE");
    ep.sessions.clone().sign_progress_note(sign(&plan_id, &goal)).await.unwrap();
    let events = stored(app, &format!("session-{session_id}")).await;
    assert_eq!(events[2].data["goals_addressed"], serde_json::json!([goal]));
}

on_both_backends!(
    bad_input_names_every_bad_field_and_stores_nothing,
    a_retried_command_is_applied_once,
    a_note_addresses_only_active_goals_of_the_clients_signed_plan,
);
