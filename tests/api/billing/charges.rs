//! Charges for sessions driven through the SessionService: codes, place of service, modifiers and
//! pointers derived from what was documented, and every reason a session is not billable.

use carelog_blackbox::{TestApp, assert_rejected, ctx, ctx_because, on_both_backends};
use carelog_proto::v1 as proto;
use chrono::{Duration, Utc};
use proto::SessionModality::{Audio, InPerson, Video};
use proto::hold_session_request::PatientLocation;
use proto::schedule_session_request::Kind;
use serde_json::json;
use tonic::Code;

use super::{Payer, Stage, clinic, id, stored};

/// (cpt, units, place of service, modifiers) of each line of a stored ChargeCreated.
fn lines(charge: &carelog_store::RecordedEvent) -> Vec<(String, u64, String, serde_json::Value)> {
    let lines = charge.data["lines"].as_array().cloned().unwrap_or_default();
    lines
        .iter()
        .map(|l| {
            let text = |k: &str| l[k].as_str().unwrap_or_default().to_owned();
            (text("cpt"), l["units"].as_u64().unwrap_or_default(), text("place_of_service"), l["modifiers"].clone())
        })
        .collect()
}

async fn a_held_video_session_with_a_signed_note_is_charged_from_what_was_documented(app: &TestApp) {
    let mut c = clinic(app, Payer::Insured, &["F32.1", "F41.1"]).await;
    let session = c.signed_video().await;
    let receipt = c.billing.create_charge(c.charge(&session, &[2, 1])).await.unwrap().into_inner();
    let charge = &stored(app, &receipt.stream).await[1];
    assert_eq!(charge.event_type, "ChargeCreated");
    assert_eq!(lines(charge), [("90837".into(), 1, "10".into(), json!(["95"]))]);
    let d = &charge.data;
    assert_eq!((&d["session_id"], &d["episode_id"]), (&json!(session), &json!(c.episode_id)));
    assert_eq!((&d["diagnoses"], &d["lines"][0]["diagnosis_pointers"]), (&json!(["F32.1", "F41.1"]), &json!([2, 1])));
    assert_eq!((&d["lines"][0]["unit_fee"], &d["total"]), (&json!(18_000), &json!(18_000)));
    assert_eq!((&d["rendering_clinician"], &d["plan_review_overdue"]), (&json!(c.clinician_id), &json!(false)));
    assert_eq!(charge.metadata.tags.client.as_deref(), Some(c.client_id.as_str()));
    assert_eq!(charge.metadata.tags.episode.as_deref(), Some(c.episode_id.as_str()));
}

async fn place_of_service_and_modifier_follow_the_held_session(app: &TestApp) {
    let mut c = clinic(app, Payer::Insured, &["F41.1"]).await;
    let office = c.session(Kind::Psychotherapy, 40, InPerson, Stage::Signed).await;
    assert_eq!(lines(&c.charged(app, &office).await), [("90834".into(), 1, "11".into(), json!([]))]);
    let phone =
        c.session_ago(Kind::Psychotherapy, 20, Audio, PatientLocation::Other, Stage::Signed, Duration::hours(1)).await;
    assert_eq!(lines(&c.charged(app, &phone).await), [("90832".into(), 1, "02".into(), json!(["93"]))]);
    let intake = c.session(Kind::Intake, 60, Video, Stage::Signed).await;
    assert_eq!(lines(&c.charged(app, &intake).await), [("90791".into(), 1, "10".into(), json!(["95"]))]);
}

async fn a_no_show_is_never_billable(app: &TestApp) {
    let mut c = clinic(app, Payer::Insured, &["F41.1"]).await;
    let missed = c.session(Kind::Psychotherapy, 53, InPerson, Stage::NoShow).await;
    let before = app.event_count().await;
    let err = c.billing.create_charge(c.charge(&missed, &[1])).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "NO_SHOW_NOT_BILLABLE");
    assert_eq!(app.event_count().await, before);
}

async fn only_a_held_session_with_a_signed_note_is_billable(app: &TestApp) {
    let mut c = clinic(app, Payer::Insured, &["F41.1"]).await;
    for stage in [Stage::Scheduled, Stage::Cancelled] {
        let session = c.session(Kind::Psychotherapy, 53, InPerson, stage).await;
        let err = c.billing.create_charge(c.charge(&session, &[1])).await.unwrap_err();
        assert_rejected(&err, Code::FailedPrecondition, "SESSION_NOT_HELD");
    }
    let unsigned = c.session(Kind::Psychotherapy, 53, InPerson, Stage::Held).await;
    let before = app.event_count().await;
    let err = c.billing.create_charge(c.charge(&unsigned, &[1])).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "NOTE_NOT_SIGNED");
    assert_eq!(app.event_count().await, before);
    c.sessions.sign_progress_note(c.note(unsigned.clone())).await.unwrap();
    assert_eq!(lines(&c.charged(app, &unsigned).await)[0].0, "90837");
    let err = c.billing.create_charge(c.charge(&id(), &[1])).await.unwrap_err();
    assert_rejected(&err, Code::NotFound, "SESSION_NOT_FOUND");
}

async fn add_on_and_crisis_codes_follow_the_cpt_rules(app: &TestApp) {
    let mut c = clinic(app, Payer::Insured, &["F43.10"]).await;
    let crisis = c.session(Kind::Crisis, 60, InPerson, Stage::Signed).await;
    let mut with_ic = c.charge(&crisis, &[1]);
    with_ic.interactive_complexity = true;
    let err = c.billing.create_charge(with_ic).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "ADDON_REQUIRES_PRIMARY");
    let therapy = c.session(Kind::Psychotherapy, 45, InPerson, Stage::Signed).await;
    let mut with_ic = c.charge(&therapy, &[1]);
    with_ic.interactive_complexity = true;
    let receipt = c.billing.create_charge(with_ic).await.unwrap().into_inner();
    let charge = stored(app, &receipt.stream).await.swap_remove(usize::try_from(receipt.revision).unwrap());
    let codes: Vec<_> = lines(&charge).into_iter().map(|(cpt, units, ..)| (cpt, units)).collect();
    assert_eq!(codes, [("90834".into(), 1), ("90785".into(), 1)]);
    let long_crisis = c.session(Kind::Crisis, 110, InPerson, Stage::Signed).await;
    let charge = c.charged(app, &long_crisis).await;
    let codes: Vec<_> = lines(&charge).into_iter().map(|(cpt, units, ..)| (cpt, units)).collect();
    assert_eq!(codes, [("90839".into(), 1), ("90840".into(), 2)]);
    assert_eq!(charge.data["total"], 20_000 + 2 * 9_500);
    let short = c.session(Kind::Psychotherapy, 15, InPerson, Stage::Signed).await;
    let err = c.billing.create_charge(c.charge(&short, &[1])).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "DURATION_NOT_BILLABLE");
}

async fn a_session_is_charged_once_to_its_own_clients_account_and_active_diagnoses(app: &TestApp) {
    let mut c = clinic(app, Payer::Insured, &["F32.1", "F41.1"]).await;
    let session = c.signed_video().await;
    let err = c.billing.create_charge(c.charge(&session, &[3])).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "DIAGNOSIS_POINTER_INVALID");
    c.charged(app, &session).await;
    let err = c.billing.create_charge(c.charge(&session, &[1])).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "SESSION_ALREADY_CHARGED");
    let mut other = clinic(app, Payer::Insured, &["F32.1"]).await;
    let err = other.billing.create_charge(other.charge(&session, &[1])).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "SESSION_CLIENT_MISMATCH");
    let mut undiagnosed = clinic(app, Payer::Insured, &[]).await;
    let session = undiagnosed.signed_video().await;
    let err = undiagnosed.billing.create_charge(undiagnosed.charge(&session, &[1])).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "NO_ACTIVE_DIAGNOSIS");
}

async fn a_charge_reads_the_review_status_of_the_clients_own_plan(app: &TestApp) {
    let mut c = clinic(app, Payer::Insured, &["F41.1"]).await;
    let mut planning = app.planning(&c.clinician());
    let plan_id = id();
    let draft = proto::DraftPlanRequest {
        context: ctx(),
        plan_id: plan_id.clone(),
        client_id: c.client_id.clone(),
        episode_id: c.episode_id.clone(),
        icd10_codes: vec!["F41.1".into()],
        clinician_id: c.clinician_id.clone(),
    };
    planning.draft_plan(draft).await.unwrap();
    let goal = proto::SetGoalRequest {
        context: ctx(),
        plan_id: plan_id.clone(),
        goal_id: id(),
        description: "Reduce anxiety".into(),
        measurable_target: "GAD-7 below 5".into(),
        due_on: (Utc::now() + Duration::days(120)).format("%Y-%m-%d").to_string(),
    };
    planning.set_goal(goal).await.unwrap();
    let sign =
        proto::SignPlanRequest { context: ctx(), plan_id: plan_id.clone(), clinician_id: c.clinician_id.clone() };
    planning.sign_plan(sign).await.unwrap();
    let session = c.signed_video().await;
    for stranger in [id(), plan_id_of_another_client(app).await] {
        let mut charge = c.charge(&session, &[1]);
        charge.plan_id = stranger;
        assert_rejected(&c.billing.create_charge(charge).await.unwrap_err(), Code::NotFound, "PLAN_NOT_FOUND");
    }
    let mut charge = c.charge(&session, &[1]);
    charge.plan_id = plan_id;
    let receipt = c.billing.create_charge(charge).await.unwrap().into_inner();
    assert_eq!(stored(app, &receipt.stream).await[1].data["plan_review_overdue"], false, "review due in 90 days");
}

async fn plan_id_of_another_client(app: &TestApp) -> String {
    let other = clinic(app, Payer::Insured, &["F32.1"]).await;
    let mut planning = app.planning(&other.clinician());
    let plan_id = id();
    let draft = proto::DraftPlanRequest {
        context: ctx(),
        plan_id: plan_id.clone(),
        client_id: other.client_id,
        episode_id: other.episode_id,
        icd10_codes: vec!["F32.1".into()],
        clinician_id: other.clinician_id,
    };
    planning.draft_plan(draft).await.unwrap();
    plan_id
}

/// Billers racing to charge one session with different charge ids store exactly one charge.
async fn concurrent_charges_of_one_session_store_one_charge(app: &TestApp) {
    let mut c = clinic(app, Payer::Insured, &["F41.1"]).await;
    let session = c.signed_video().await;
    let calls = (0..4).map(|_| {
        let (mut billing, request) = (c.billing.clone(), c.charge(&session, &[1]));
        async move { billing.create_charge(request).await }
    });
    let outcomes = futures::future::join_all(calls).await;
    let won = outcomes.iter().filter(|o| o.is_ok()).count();
    for err in outcomes.iter().filter_map(|o| o.as_ref().err()) {
        let reason = if err.code() == Code::Aborted { "CONCURRENCY_CONFLICT" } else { "SESSION_ALREADY_CHARGED" };
        let code = if err.code() == Code::Aborted { Code::Aborted } else { Code::FailedPrecondition };
        assert_rejected(err, code, reason);
    }
    let charges = stored(app, &format!("account-{}", c.account_id)).await;
    assert_eq!((won, charges.iter().filter(|e| e.event_type == "ChargeCreated").count()), (1, 1));
}

/// A diagnosis resolved while a charge points to it: the charge either committed first (with the
/// diagnosis still active) or sees the resolution and is refused; never a charge pointing to a
/// diagnosis resolved before it was stored.
async fn a_diagnosis_resolved_during_a_charge_is_never_pointed_to(app: &TestApp) {
    for _ in 0..3 {
        let mut c = clinic(app, Payer::Insured, &["F32.1", "F41.1"]).await;
        let session = c.signed_video().await;
        let resolve = proto::ReviseDiagnosisRequest {
            context: ctx_because("anxiety in remission"),
            client_id: c.client_id.clone(),
            icd10_code: "F41.1".into(),
            clinician_id: c.clinician_id.clone(),
            revision: Some(proto::revise_diagnosis_request::Revision::Resolved(
                proto::revise_diagnosis_request::Resolved {},
            )),
        };
        let (mut intake, mut billing, charge) = (c.intake.clone(), c.billing.clone(), c.charge(&session, &[1, 2]));
        let (resolved, charged) = tokio::join!(intake.revise_diagnosis(resolve), billing.create_charge(charge));
        let resolved = resolved.unwrap().into_inner();
        match charged {
            Ok(charged) => assert!(charged.into_inner().position < resolved.position, "charged after the resolution"),
            Err(err) => assert_rejected(&err, Code::FailedPrecondition, "DIAGNOSIS_POINTER_INVALID"),
        }
    }
}

on_both_backends!(
    a_held_video_session_with_a_signed_note_is_charged_from_what_was_documented,
    place_of_service_and_modifier_follow_the_held_session,
    a_no_show_is_never_billable,
    only_a_held_session_with_a_signed_note_is_billable,
    add_on_and_crisis_codes_follow_the_cpt_rules,
    a_session_is_charged_once_to_its_own_clients_account_and_active_diagnoses,
    a_charge_reads_the_review_status_of_the_clients_own_plan,
    concurrent_charges_of_one_session_store_one_charge,
    a_diagnosis_resolved_during_a_charge_is_never_pointed_to,
);
