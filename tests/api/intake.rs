//! Black-box tests of the IntakeService.

use carelog_blackbox::{Caller, TestApp, assert_invalid_field, assert_rejected, ctx, ctx_because, on_both_backends};
use carelog_proto::v1 as proto;
use tonic::Code;
use uuid::Uuid;

use crate::given;

pub fn register_request(client_id: Uuid) -> proto::RegisterClientRequest {
    proto::RegisterClientRequest {
        context: ctx(),
        client_id: client_id.to_string(),
        legal_name: "Jordan Avery Blake".into(),
        preferred_name: "Jo".into(),
        date_of_birth: "1991-03-14".into(),
        phone: "+1 (555) 010-2030".into(),
        email: "jo.blake@example.org".into(),
        address: "12 Elm Street, Springfield".into(),
        payer: Some(proto::register_client_request::Payer::Insurance(proto::register_client_request::Insurance {
            payer_name: "Acme Health".into(),
            member_id: "ACM123456789".into(),
        })),
    }
}

async fn register_client_and_read_it_back(app: &TestApp) {
    let staff = Caller::new("intake");
    let mut intake = app.intake(&staff);
    let client_id = Uuid::now_v7();
    let receipt = intake.register_client(register_request(client_id)).await.unwrap().into_inner();
    assert_eq!(receipt.stream, format!("client-{client_id}"));
    assert_eq!((receipt.revision, receipt.position, receipt.already_applied), (0, 1, false));
    assert_eq!(receipt.event_types, ["ClientRegistered"]);
    let stored =
        app.store.read_stream(&receipt.stream.parse_stream(), carelog_store::StreamQuery::all()).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].metadata.actor.id, staff.id.to_string());
    assert_eq!(stored[0].metadata.actor.role, "intake");
    assert_eq!(stored[0].data["demographics"]["legal_name"], "Jordan Avery Blake");
}

async fn a_retried_command_is_applied_once(app: &TestApp) {
    let mut intake = app.intake(&Caller::new("intake"));
    let request = register_request(Uuid::now_v7());
    let first = intake.register_client(request.clone()).await.unwrap().into_inner();
    let retry = intake.register_client(request).await.unwrap().into_inner();
    assert!(retry.already_applied);
    assert_eq!((retry.revision, retry.position), (first.revision, first.position));
    assert_eq!(app.event_count().await, 1);
}

/// A command id is an idempotency key for one command: a retry (even with a rebuilt context) is
/// applied once, a different command under the same id is refused and stores nothing.
async fn a_command_id_reused_for_another_payload_is_refused(app: &TestApp) {
    let mut intake = app.intake(&Caller::new("intake"));
    let client_id = Uuid::now_v7();
    let request = register_request(client_id);
    intake.register_client(request.clone()).await.unwrap();
    let mut rebuilt = request.clone();
    rebuilt.context.as_mut().unwrap().occurred_at = Some(prost_types::Timestamp { seconds: 1_700_000_000, nanos: 0 });
    assert!(intake.register_client(rebuilt).await.unwrap().into_inner().already_applied);
    let mut other = request;
    other.legal_name = "Someone Else".into();
    let err = intake.register_client(other).await.unwrap_err();
    assert_rejected(&err, Code::AlreadyExists, "COMMAND_ID_REUSED");
    assert_eq!(app.event_count().await, 1);
}

async fn registering_a_client_twice_is_already_exists(app: &TestApp) {
    let mut intake = app.intake(&Caller::new("intake"));
    let client_id = Uuid::now_v7();
    intake.register_client(register_request(client_id)).await.unwrap();
    let err = intake.register_client(register_request(client_id)).await.unwrap_err();
    assert_rejected(&err, Code::AlreadyExists, "CLIENT_ALREADY_REGISTERED");
    assert_eq!(app.event_count().await, 1);
}

async fn bad_registration_names_every_bad_field_and_stores_nothing(app: &TestApp) {
    let mut intake = app.intake(&Caller::new("intake"));
    let mut request = register_request(Uuid::now_v7());
    request.client_id = "not-a-uuid".into();
    request.legal_name = String::new();
    request.date_of_birth = "2999-01-01".into();
    request.email = "nobody".into();
    request.payer = None;
    let err = intake.register_client(request).await.unwrap_err();
    for field in ["client_id", "legal_name", "date_of_birth", "email", "payer"] {
        assert_invalid_field(&err, field);
    }
    let mut request = register_request(Uuid::now_v7());
    request.context = None;
    assert_invalid_field(&intake.register_client(request).await.unwrap_err(), "context");
    let mut request = register_request(Uuid::now_v7());
    request.context.as_mut().unwrap().occurred_at = Some(prost_types::Timestamp { seconds: 32_503_680_000, nanos: 0 });
    assert_invalid_field(&intake.register_client(request).await.unwrap_err(), "context.occurred_at");
    assert_eq!(app.event_count().await, 0);
}

async fn a_call_without_a_caller_is_unauthenticated(app: &TestApp) {
    let mut anonymous = proto::intake_service_client::IntakeServiceClient::new(app.channel());
    let err = anonymous.register_client(register_request(Uuid::now_v7())).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(app.event_count().await, 0);
}

async fn a_phq9_with_item_9_raises_a_risk_flag(app: &TestApp) {
    let e = given::open_episode(app).await;
    let client_id = e.client_id;
    let mut intake = app.intake(&e.clinician());
    let assessment = |scores: Vec<u32>| proto::RecordAssessmentRequest {
        context: ctx(),
        client_id: client_id.to_string(),
        assessment_id: Uuid::now_v7().to_string(),
        instrument: proto::record_assessment_request::Instrument::Phq9 as i32,
        item_scores: scores,
        administered_at: None,
    };
    let receipt = intake.record_assessment(assessment(vec![2, 2, 1, 2, 1, 1, 1, 0, 1])).await.unwrap().into_inner();
    assert_eq!(receipt.event_types, ["AssessmentRecorded", "RiskFlagRaised"]);
    let err = intake.record_assessment(assessment(vec![2, 2, 1, 2, 1, 1, 1, 0, 4])).await.unwrap_err();
    assert_invalid_field(&err, "item_scores");
    let err = intake.record_assessment(assessment(vec![1, 1, 1])).await.unwrap_err();
    assert_invalid_field(&err, "item_scores");
}

async fn revoking_a_consent_needs_a_reason(app: &TestApp) {
    let mut intake = app.intake(&Caller::new("intake"));
    let client_id = Uuid::now_v7();
    intake.register_client(register_request(client_id)).await.unwrap();
    let consent_id = Uuid::now_v7().to_string();
    intake
        .give_consent(proto::GiveConsentRequest {
            context: ctx(),
            client_id: client_id.to_string(),
            consent_id: consent_id.clone(),
            given_at: None,
            kind: Some(proto::give_consent_request::Kind::Treatment(proto::give_consent_request::Treatment {})),
        })
        .await
        .unwrap();
    let revoke = |context| proto::RevokeConsentRequest {
        context,
        client_id: client_id.to_string(),
        consent_id: consent_id.clone(),
        revoked_at: None,
    };
    assert_invalid_field(&intake.revoke_consent(revoke(ctx())).await.unwrap_err(), "context.reason");
    let receipt = intake.revoke_consent(revoke(ctx_because("client withdrew consent by phone"))).await.unwrap();
    assert_eq!(receipt.into_inner().event_types, ["ConsentRevoked"]);
    let err = intake.revoke_consent(revoke(ctx_because("again"))).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "CONSENT_ALREADY_REVOKED");
}

async fn commands_on_an_unknown_client_are_not_found(app: &TestApp) {
    let unknown = Uuid::now_v7().to_string();
    let assessment = proto::RecordAssessmentRequest {
        context: ctx(),
        client_id: unknown.clone(),
        assessment_id: Uuid::now_v7().to_string(),
        instrument: proto::record_assessment_request::Instrument::Gad7 as i32,
        item_scores: vec![1, 1, 1, 1, 1, 1, 1],
        administered_at: None,
    };
    let err = app.intake(&given::front_desk()).record_assessment(assessment).await.unwrap_err();
    assert_rejected(&err, Code::NotFound, "CLIENT_NOT_FOUND");
    // A supervisor reaches any client, so for them an unknown one is simply not found.
    let supervisor = Caller::new("supervisor");
    let err = app
        .intake(&supervisor)
        .record_diagnosis(proto::RecordDiagnosisRequest {
            context: ctx(),
            client_id: unknown,
            icd10_code: "F32.1".into(),
            code_set_version: "2026".into(),
            clinician_id: supervisor.id.to_string(),
        })
        .await
        .unwrap_err();
    assert_rejected(&err, Code::NotFound, "CLIENT_NOT_FOUND");
    assert_eq!(app.event_count().await, 0);
}

trait ParseStream {
    fn parse_stream(&self) -> carelog_store::StreamName;
}

impl ParseStream for String {
    fn parse_stream(&self) -> carelog_store::StreamName {
        carelog_store::StreamName::new(self.clone()).expect("stream name")
    }
}

on_both_backends!(
    register_client_and_read_it_back,
    a_retried_command_is_applied_once,
    a_command_id_reused_for_another_payload_is_refused,
    registering_a_client_twice_is_already_exists,
    bad_registration_names_every_bad_field_and_stores_nothing,
    a_call_without_a_caller_is_unauthenticated,
    a_phq9_with_item_9_raises_a_risk_flag,
    revoking_a_consent_needs_a_reason,
    commands_on_an_unknown_client_are_not_found,
);
