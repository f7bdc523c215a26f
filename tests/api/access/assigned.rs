//! A clinician writes and reads only the clients assigned to them (the clinician of the client's
//! current episode): every clinician-scoped RPC, driven through a whole episode, is refused to
//! another clinician — storing nothing but the access-log entry of the denial — and then succeeds
//! for the treating clinician. Signatures must be the caller's own.

use carelog_blackbox::{Caller, TestApp, assert_rejected, ctx, ctx_because, on_both_backends};
use carelog_proto::v1 as proto;
use chrono::{Duration, Utc};
use tonic::Code;
use uuid::Uuid;

/// The ids of one client's episode.
pub(super) struct World {
    pub(super) client: String,
    pub(super) episode: String,
    pub(super) treating: Uuid,
}

pub(super) fn id() -> String {
    Uuid::now_v7().to_string()
}

pub(super) fn at(offset: Duration) -> prost_types::Timestamp {
    let t = Utc::now() + offset;
    prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 }
}

/// Registered by the front desk, with an episode under `treating` and a treatment consent.
pub(super) async fn given_world(app: &TestApp) -> World {
    let desk = Caller::new("intake");
    let mut intake = app.intake(&desk);
    let world = World { client: id(), episode: id(), treating: Uuid::now_v7() };
    let register = proto::RegisterClientRequest {
        context: ctx(),
        client_id: world.client.clone(),
        legal_name: "Robin Quinlan".into(),
        date_of_birth: "1988-07-02".into(),
        payer: Some(proto::register_client_request::Payer::SelfPay(proto::register_client_request::SelfPay {})),
        ..Default::default()
    };
    intake.register_client(register).await.expect("register");
    let open = proto::OpenEpisodeRequest {
        context: ctx(),
        client_id: world.client.clone(),
        episode_id: world.episode.clone(),
        clinician_id: world.treating.to_string(),
        opened_at: None,
    };
    intake.open_episode(open).await.expect("open episode");
    intake.give_consent(consent(&world, id(), treatment())).await.expect("treatment consent");
    world
}

fn treatment() -> proto::give_consent_request::Kind {
    proto::give_consent_request::Kind::Treatment(proto::give_consent_request::Treatment {})
}

fn consent(w: &World, consent_id: String, kind: proto::give_consent_request::Kind) -> proto::GiveConsentRequest {
    proto::GiveConsentRequest {
        context: ctx(),
        client_id: w.client.clone(),
        consent_id,
        given_at: None,
        kind: Some(kind),
    }
}

/// Sends the request built for `other` (as `other`, signing as themselves): refused as not
/// assigned, storing only the denial's access-log entry. Then the treating clinician's succeeds.
macro_rules! only_the_treating_clinician {
    ($app:expr, $world:expr, $client:ident . $method:ident, $build:expr) => {{
        let build = $build;
        let other = Uuid::now_v7();
        let before = $app.event_count().await;
        let status = $app
            .$client(&Caller::with_id("clinician", other))
            .$method(build(other))
            .await
            .expect_err(concat!("another clinician must not call ", stringify!($method)));
        assert_rejected(&status, Code::PermissionDenied, "CLIENT_NOT_ASSIGNED");
        assert_eq!($app.event_count().await, before + 1, "{}: only the denial is stored", stringify!($method));
        $app.$client(&Caller::with_id("clinician", $world.treating))
            .$method(build($world.treating))
            .await
            .unwrap_or_else(|e| panic!("the treating clinician calls {}: {e:?}", stringify!($method)))
            .into_inner()
    }};
}

async fn every_clinician_scoped_rpc_reaches_only_assigned_clients(app: &TestApp) {
    use proto::record_assessment_request::Instrument;
    let w = given_world(app).await;
    let (telehealth, phq9) = (id(), id());
    only_the_treating_clinician!(app, w, intake.give_consent, |_| consent(
        &w,
        telehealth.clone(),
        proto::give_consent_request::Kind::Telehealth(proto::give_consent_request::Telehealth {})
    ));
    let assessment = |assessment_id: String, instrument: Instrument, items: Vec<u32>| proto::RecordAssessmentRequest {
        context: ctx(),
        client_id: w.client.clone(),
        assessment_id,
        instrument: instrument as i32,
        item_scores: items,
        administered_at: None,
    };
    only_the_treating_clinician!(app, w, intake.record_assessment, |_| assessment(id(), Instrument::Gad7, vec![1; 7]));
    // PHQ-9 item 9 above zero raises a risk flag, which the clinician then acknowledges.
    only_the_treating_clinician!(app, w, intake.record_assessment, |_| assessment(
        phq9.clone(),
        Instrument::Phq9,
        vec![1; 9]
    ));
    only_the_treating_clinician!(app, w, intake.acknowledge_risk_flag, |signer: Uuid| {
        proto::AcknowledgeRiskFlagRequest {
            context: ctx(),
            client_id: w.client.clone(),
            assessment_id: phq9.clone(),
            clinician_id: signer.to_string(),
            action_taken: "Safety plan reviewed; no intent or plan".into(),
        }
    });
    for code in ["F32.1", "F41.1"] {
        only_the_treating_clinician!(app, w, intake.record_diagnosis, |signer: Uuid| proto::RecordDiagnosisRequest {
            context: ctx(),
            client_id: w.client.clone(),
            icd10_code: code.into(),
            code_set_version: "2026".into(),
            clinician_id: signer.to_string(),
        });
    }
    only_the_treating_clinician!(app, w, intake.revise_diagnosis, |signer: Uuid| proto::ReviseDiagnosisRequest {
        context: ctx_because("anxiety symptoms remitted"),
        client_id: w.client.clone(),
        icd10_code: "F41.1".into(),
        clinician_id: signer.to_string(),
        revision: Some(proto::revise_diagnosis_request::Revision::Resolved(
            proto::revise_diagnosis_request::Resolved {},
        )),
    });
    only_the_treating_clinician!(app, w, intake.revoke_consent, |_| proto::RevokeConsentRequest {
        context: ctx_because("client prefers in-person sessions"),
        client_id: w.client.clone(),
        consent_id: telehealth.clone(),
        revoked_at: None,
    });
    plan_through_termination(app, &w).await;
    document_a_session(app, &w).await;
    read_the_chart(app, &w).await;
    only_the_treating_clinician!(app, w, sessions.close_episode, |signer: Uuid| proto::CloseEpisodeRequest {
        context: ctx(),
        client_id: w.client.clone(),
        episode_id: w.episode.clone(),
        clinician_id: signer.to_string(),
        discharge_summary: "Goals met; relapse-prevention plan given.".into(),
    });
}

async fn plan_through_termination(app: &TestApp, w: &World) {
    use proto::review_plan_request::{GoalProgress, Outcome, Rating};
    let (plan, goal) = (id(), id());
    only_the_treating_clinician!(app, w, planning.draft_plan, |drafter: Uuid| proto::DraftPlanRequest {
        context: ctx(),
        plan_id: plan.clone(),
        client_id: w.client.clone(),
        episode_id: w.episode.clone(),
        icd10_codes: vec!["F32.1".into()],
        clinician_id: drafter.to_string(),
    });
    let due = (Utc::now().date_naive() + Duration::days(120)).format("%Y-%m-%d").to_string();
    only_the_treating_clinician!(app, w, planning.set_goal, |_| proto::SetGoalRequest {
        context: ctx(),
        plan_id: plan.clone(),
        goal_id: goal.clone(),
        description: "Reduce depressive symptoms".into(),
        measurable_target: "PHQ-9 below 10 twice in a row".into(),
        due_on: due.clone(),
    });
    only_the_treating_clinician!(app, w, planning.add_objective, |_| proto::AddObjectiveRequest {
        context: ctx(),
        plan_id: plan.clone(),
        objective_id: id(),
        goal_id: goal.clone(),
        description: "Behavioural activation three times a week".into(),
    });
    only_the_treating_clinician!(app, w, planning.add_intervention, |_| proto::AddInterventionRequest {
        context: ctx(),
        plan_id: plan.clone(),
        intervention_id: id(),
        goal_id: goal.clone(),
        description: "Cognitive behavioural therapy".into(),
        frequency: "weekly".into(),
    });
    only_the_treating_clinician!(app, w, planning.sign_plan, |signer: Uuid| proto::SignPlanRequest {
        context: ctx(),
        plan_id: plan.clone(),
        clinician_id: signer.to_string(),
    });
    only_the_treating_clinician!(app, w, planning.review_plan, |signer: Uuid| proto::ReviewPlanRequest {
        context: ctx(),
        plan_id: plan.clone(),
        clinician_id: signer.to_string(),
        progress: vec![GoalProgress {
            goal_id: goal.clone(),
            rating: Rating::Improving as i32,
            comment: String::new()
        }],
        outcome: Outcome::Continue as i32,
    });
    only_the_treating_clinician!(app, w, planning.change_goal_status, |signer: Uuid| proto::ChangeGoalStatusRequest {
        context: ctx_because("PHQ-9 at 6 twice in a row"),
        plan_id: plan.clone(),
        goal_id: goal.clone(),
        status: proto::change_goal_status_request::Status::Achieved as i32,
        clinician_id: signer.to_string(),
    });
    only_the_treating_clinician!(app, w, planning.plan_termination, |signer: Uuid| proto::PlanTerminationRequest {
        context: ctx(),
        plan_id: plan.clone(),
        planned_end_on: (Utc::now().date_naive() + Duration::days(30)).format("%Y-%m-%d").to_string(),
        termination_reason: proto::plan_termination_request::TerminationReason::GoalsMet as i32,
        aftercare: "Monthly check-ins".into(),
        clinician_id: signer.to_string(),
    });
}

pub(super) fn schedule(w: &World, session: &str) -> proto::ScheduleSessionRequest {
    proto::ScheduleSessionRequest {
        context: ctx(),
        session_id: session.to_owned(),
        client_id: w.client.clone(),
        episode_id: w.episode.clone(),
        clinician_id: w.treating.to_string(),
        kind: proto::schedule_session_request::Kind::Psychotherapy as i32,
        starts_at: Some(at(-Duration::hours(2))),
        planned_minutes: 53,
        planned_modality: proto::SessionModality::InPerson as i32,
    }
}

async fn document_a_session(app: &TestApp, w: &World) {
    use proto::decide_amendment_request::{Accept, Decision};
    use proto::sign_progress_note_request::{Content, Soap};
    let (held, amendment) = (id(), id());
    only_the_treating_clinician!(app, w, sessions.schedule_session, |with: Uuid| proto::ScheduleSessionRequest {
        clinician_id: with.to_string(),
        ..schedule(w, &held)
    });
    only_the_treating_clinician!(app, w, sessions.hold_session, |_| proto::HoldSessionRequest {
        context: ctx(),
        session_id: held.clone(),
        started_at: Some(at(-Duration::hours(2))),
        actual_minutes: 53,
        modality: proto::SessionModality::InPerson as i32,
        patient_location: 0,
    });
    only_the_treating_clinician!(app, w, sessions.sign_progress_note, |signer: Uuid| proto::SignProgressNoteRequest {
        context: ctx(),
        session_id: held.clone(),
        clinician_id: signer.to_string(),
        content: Some(Content::Soap(Soap {
            subjective: "Sleeping better.".into(),
            objective: "Engaged.".into(),
            assessment: "Improving.".into(),
            plan: "Continue.".into(),
        })),
        goals_addressed: vec![],
        plan_id: String::new(),
    });
    only_the_treating_clinician!(app, w, sessions.append_addendum, |signer: Uuid| proto::AppendAddendumRequest {
        context: ctx_because("call after the session"),
        session_id: held.clone(),
        addendum_id: id(),
        kind: proto::append_addendum_request::Kind::LateEntry as i32,
        author_id: signer.to_string(),
        text: "Client called; safety plan reviewed.".into(),
    });
    only_the_treating_clinician!(app, w, sessions.record_psychotherapy_note, |signer: Uuid| {
        proto::RecordPsychotherapyNoteRequest {
            context: ctx(),
            session_id: held.clone(),
            note_id: id(),
            author_id: signer.to_string(),
            text: "Process notes.".into(),
        }
    });
    only_the_treating_clinician!(app, w, sessions.request_amendment, |_| proto::RequestAmendmentRequest {
        context: ctx_because("the note misstates my sleep"),
        session_id: held.clone(),
        amendment_id: amendment.clone(),
        requested_change: "I sleep six hours, not eight.".into(),
    });
    only_the_treating_clinician!(app, w, sessions.decide_amendment, |signer: Uuid| proto::DecideAmendmentRequest {
        context: ctx(),
        session_id: held.clone(),
        amendment_id: amendment.clone(),
        clinician_id: signer.to_string(),
        decision: Some(Decision::Accept(Accept { addendum_id: id() })),
    });
    let (cancelled, missed) = (id(), id());
    let treating = Caller::with_id("clinician", w.treating);
    app.sessions(&treating).schedule_session(schedule(w, &cancelled)).await.expect("schedule");
    only_the_treating_clinician!(app, w, sessions.cancel_session, |_| proto::CancelSessionRequest {
        context: ctx_because("client unwell"),
        session_id: cancelled.clone(),
        cancelled_by: proto::cancel_session_request::CancelledBy::Client as i32,
    });
    app.sessions(&treating).schedule_session(schedule(w, &missed)).await.expect("schedule");
    only_the_treating_clinician!(app, w, sessions.record_no_show, |_| proto::RecordNoShowRequest {
        context: ctx(),
        session_id: missed.clone()
    });
}

async fn read_the_chart(app: &TestApp, w: &World) {
    only_the_treating_clinician!(app, w, records.get_episode, |_| proto::GetEpisodeRequest {
        client_id: w.client.clone(),
        min_position: 0
    });
    only_the_treating_clinician!(app, w, records.get_episode_as_of, |_| proto::GetEpisodeAsOfRequest {
        client_id: w.client.clone(),
        as_of: Some(proto::get_episode_as_of_request::AsOf::Position(1)),
    });
    only_the_treating_clinician!(app, w, records.list_audit_trail, |_| proto::ListAuditTrailRequest {
        client_id: w.client.clone(),
        ..Default::default()
    });
    only_the_treating_clinician!(app, w, records.export_episode_fhir, |_| proto::ExportEpisodeFhirRequest {
        client_id: w.client.clone(),
        as_of: None
    });
}

/// Nobody signs for someone else: the treating clinician naming another clinician is refused.
async fn a_signature_must_be_the_callers_own(app: &TestApp) {
    let w = given_world(app).await;
    let treating = Caller::with_id("clinician", w.treating);
    let before = app.event_count().await;
    let forged = proto::RecordDiagnosisRequest {
        context: ctx(),
        client_id: w.client.clone(),
        icd10_code: "F32.1".into(),
        code_set_version: "2026".into(),
        clinician_id: Uuid::now_v7().to_string(),
    };
    let status = app.intake(&treating).record_diagnosis(forged).await.expect_err("signing as someone else");
    assert_rejected(&status, Code::PermissionDenied, "NOT_THE_CALLER");
    assert_eq!(app.event_count().await, before + 1, "only the denial is stored");
    // A supervisor reaches every client, but still signs only as themselves.
    let supervisor = Caller::new("supervisor");
    let own = proto::RecordDiagnosisRequest {
        context: ctx(),
        client_id: w.client.clone(),
        icd10_code: "F32.1".into(),
        code_set_version: "2026".into(),
        clinician_id: supervisor.id.to_string(),
    };
    app.intake(&supervisor).record_diagnosis(own).await.expect("a supervisor diagnoses as themselves");
}

/// To a clinician, a client id that does not exist and another clinician's client look the same:
/// probing ids reveals nothing.
async fn an_unknown_client_looks_like_another_clinicians(app: &TestApp) {
    let w = given_world(app).await;
    let stranger = Caller::new("clinician");
    for client in [Uuid::now_v7().to_string(), w.client.clone()] {
        let request = proto::RecordDiagnosisRequest {
            context: ctx(),
            client_id: client,
            icd10_code: "F32.1".into(),
            code_set_version: "2026".into(),
            clinician_id: stranger.id.to_string(),
        };
        let status = app.intake(&stranger).record_diagnosis(request).await.expect_err("not theirs");
        assert_rejected(&status, Code::PermissionDenied, "CLIENT_NOT_ASSIGNED");
    }
}

on_both_backends!(
    every_clinician_scoped_rpc_reaches_only_assigned_clients,
    a_signature_must_be_the_callers_own,
    an_unknown_client_looks_like_another_clinicians,
);
