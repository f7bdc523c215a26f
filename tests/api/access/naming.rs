//! Fields that name who does or will do clinical work (the drafting clinician, the session's
//! clinician) are checked like signatures: a clinician names only themselves, and whoever names
//! one — a clinician, the front desk, a supervisor acting for a clinician — names the episode's
//! treating clinician, or nobody could ever sign that work.

use carelog_blackbox::{Caller, TestApp, assert_rejected, ctx, on_both_backends};
use carelog_proto::v1 as proto;
use tonic::Code;
use uuid::Uuid;

use super::assigned::{World, given_world, id, schedule};

fn draft(w: &World, clinician: Uuid) -> proto::DraftPlanRequest {
    proto::DraftPlanRequest {
        context: ctx(),
        plan_id: id(),
        client_id: w.client.clone(),
        episode_id: w.episode.clone(),
        icd10_codes: vec!["F32.1".into()],
        clinician_id: clinician.to_string(),
    }
}

async fn only_the_treating_clinician_is_named_for_a_plan_or_a_session(app: &TestApp) {
    let w = given_world(app).await;
    let treating = Caller::with_id("clinician", w.treating);
    let diagnosis = proto::RecordDiagnosisRequest {
        context: ctx(),
        client_id: w.client.clone(),
        icd10_code: "F32.1".into(),
        code_set_version: "2026".into(),
        clinician_id: w.treating.to_string(),
    };
    app.intake(&treating).record_diagnosis(diagnosis).await.expect("diagnosed");
    let stranger = Uuid::now_v7();

    // The treating clinician drafts for themselves only.
    let before = app.event_count().await;
    let status = app.planning(&treating).draft_plan(draft(&w, stranger)).await.expect_err("drafting for another");
    assert_rejected(&status, Code::PermissionDenied, "NOT_THE_CALLER");
    assert_eq!(app.event_count().await, before + 1, "only the denial is stored");
    // A supervisor may act for the treating clinician, and the event records both.
    let supervisor = Caller::new("supervisor");
    let status = app.planning(&supervisor).draft_plan(draft(&w, stranger)).await.expect_err("a stranger");
    assert_rejected(&status, Code::FailedPrecondition, "NOT_TREATING_CLINICIAN");
    let receipt = app.planning(&supervisor).draft_plan(draft(&w, w.treating)).await.expect("acting for").into_inner();
    let stream = carelog_store::StreamName::new(receipt.stream).expect("stream");
    let drafted = app.store.read_stream(&stream, carelog_store::StreamQuery::all()).await.expect("plan stream");
    assert_eq!(drafted[0].metadata.actor.id, supervisor.id.to_string(), "the supervisor acted");
    assert_eq!(drafted[0].data["drafted_by"], w.treating.to_string(), "for the treating clinician");

    // The front desk schedules with the treating clinician, never with anyone else.
    let desk = Caller::new("intake");
    let with_stranger = proto::ScheduleSessionRequest { clinician_id: stranger.to_string(), ..schedule(&w, &id()) };
    let status = app.sessions(&desk).schedule_session(with_stranger).await.expect_err("a stranger's session");
    assert_rejected(&status, Code::FailedPrecondition, "NOT_TREATING_CLINICIAN");
    app.sessions(&desk).schedule_session(schedule(&w, &id())).await.expect("with the treating clinician");
    let with_stranger = proto::ScheduleSessionRequest { clinician_id: stranger.to_string(), ..schedule(&w, &id()) };
    let status = app.sessions(&treating).schedule_session(with_stranger).await.expect_err("for another");
    assert_rejected(&status, Code::PermissionDenied, "NOT_THE_CALLER");
}

on_both_backends!(only_the_treating_clinician_is_named_for_a_plan_or_a_session);
