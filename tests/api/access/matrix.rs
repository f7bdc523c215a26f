//! Every RPC × every role: denied cells are PERMISSION_DENIED (ROLE_NOT_ALLOWED) and logged once;
//! allowed cells get past the policy (the empty requests used here then fail validation, which is
//! what shows the call reached the service). The expectations are the design's, written here
//! independently of the server's policy table.

use carelog_blackbox::{Caller, TestApp, assert_rejected, on_both_backends};
use carelog_proto::v1 as proto;
use tonic::{Code, Status};

use super::{access_log, outcome};

const ROLES: [&str; 7] = ["intake", "clinician", "supervisor", "biller", "auditor", "connector", "admin"];

const INTAKE: &[&str] = &[
    "IntakeService/RegisterClient",
    "IntakeService/OpenEpisode",
    "IntakeService/GiveConsent",
    "IntakeService/RevokeConsent",
    "IntakeService/RecordAssessment",
    "IntakeService/IssueGoodFaithEstimate",
    "SessionService/ScheduleSession",
    "SessionService/CancelSession",
    "SessionService/RecordNoShow",
    "SessionService/RequestAmendment",
    "RecordsService/SearchClients",
];

/// Clinical writes a treating clinician makes (for assigned clients) and a supervisor makes for any.
const CLINICAL_WRITES: &[&str] = &[
    "IntakeService/GiveConsent",
    "IntakeService/RevokeConsent",
    "IntakeService/RecordAssessment",
    "IntakeService/AcknowledgeRiskFlag",
    "IntakeService/RecordDiagnosis",
    "IntakeService/ReviseDiagnosis",
    "TreatmentPlanningService/DraftPlan",
    "TreatmentPlanningService/SetGoal",
    "TreatmentPlanningService/AddObjective",
    "TreatmentPlanningService/AddIntervention",
    "TreatmentPlanningService/SignPlan",
    "TreatmentPlanningService/ReviewPlan",
    "TreatmentPlanningService/ChangeGoalStatus",
    "TreatmentPlanningService/PlanTermination",
    "SessionService/ScheduleSession",
    "SessionService/HoldSession",
    "SessionService/CancelSession",
    "SessionService/RecordNoShow",
    "SessionService/SignProgressNote",
    "SessionService/AppendAddendum",
    "SessionService/RecordPsychotherapyNote",
    "SessionService/RequestAmendment",
    "SessionService/DecideAmendment",
    "SessionService/CloseEpisode",
];

const CLINICIAN_READS: &[&str] = &[
    "RecordsService/GetEpisode",
    "RecordsService/GetEpisodeAsOf",
    "RecordsService/ListAuditTrail",
    "RecordsService/GetCaseload",
    "RecordsService/ExportEpisodeFhir",
    "RecordsService/GetPsychotherapyNote",
    "RecordsService/SearchClients",
];

/// What a supervisor does beyond the clinical writes (for any client).
const SUPERVISOR: &[&str] = &[
    "IntakeService/RegisterClient",
    "IntakeService/OpenEpisode",
    "RecordsService/GetEpisode",
    "RecordsService/GetEpisodeAsOf",
    "RecordsService/ListAuditTrail",
    "RecordsService/GetCaseload",
    "RecordsService/Verify",
    "RecordsService/ExportEpisodeFhir",
    "RecordsService/GetPsychotherapyNote",
    "RecordsService/SearchClients",
];

const BILLER: &[&str] = &[
    "BillingService/OpenAccount",
    "BillingService/CreateCharge",
    "BillingService/SubmitClaim",
    "BillingService/RejectClaim",
    "BillingService/PostRemittance",
    "BillingService/ReverseRemittance",
    "BillingService/RecoupPayment",
    "BillingService/ReceivePayment",
    "BillingService/WriteOff",
    "BillingService/IssueSuperbill",
    "IntakeService/IssueGoodFaithEstimate",
    "RecordsService/GetEpisode",
    "RecordsService/GetEpisodeAsOf",
    "RecordsService/GetLedger",
    "RecordsService/SearchClients",
];

const PROOFS: &[&str] = &[
    "ProofService/GetCheckpoint",
    "ProofService/ListCheckpoints",
    "ProofService/ProveInclusion",
    "ProofService/ProveConsistency",
    "ProofService/SignCheckpoint",
    "ProofService/ListSigningKeys",
    "ProofService/GetSignedNote",
];

const AUDITOR_READS: &[&str] = &[
    "RecordsService/GetEpisode",
    "RecordsService/GetEpisodeAsOf",
    "RecordsService/ListAuditTrail",
    "RecordsService/GetCaseload",
    "RecordsService/GetLedger",
    "RecordsService/Subscribe",
    "RecordsService/Verify",
    "RecordsService/ExportEpisodeFhir",
    "RecordsService/ListDisclosures",
    "RecordsService/SearchClients",
];

const CONNECTOR_READS: &[&str] =
    &["RecordsService/Subscribe", "RecordsService/Verify", "RecordsService/ExportEpisodeFhir"];

const ADMIN: &[&str] = &["IntakeService/PlaceLegalHold", "IntakeService/ReleaseLegalHold", "RecordsService/Verify"];

fn allowed(role: &str, rpc: &str) -> bool {
    let listed = |lists: &[&[&str]]| lists.iter().any(|list| list.contains(&rpc));
    match role {
        "intake" => listed(&[INTAKE]),
        "clinician" => listed(&[CLINICAL_WRITES, CLINICIAN_READS]),
        "supervisor" => listed(&[CLINICAL_WRITES, SUPERVISOR]),
        "biller" => listed(&[BILLER]),
        "auditor" => listed(&[AUDITOR_READS, PROOFS]),
        "connector" => listed(&[CONNECTOR_READS, PROOFS]),
        "admin" => listed(&[ADMIN, PROOFS]),
        _ => false,
    }
}

/// Calls `rpc` as `caller` with an empty request.
async fn call(app: &TestApp, caller: &Caller, rpc: &str) -> Result<(), Status> {
    macro_rules! unary {
        ($client:ident, $method:ident, $request:ident) => {
            app.$client(caller).$method(proto::$request::default()).await.map(drop)
        };
    }
    match rpc {
        "IntakeService/RegisterClient" => unary!(intake, register_client, RegisterClientRequest),
        "IntakeService/OpenEpisode" => unary!(intake, open_episode, OpenEpisodeRequest),
        "IntakeService/GiveConsent" => unary!(intake, give_consent, GiveConsentRequest),
        "IntakeService/RevokeConsent" => unary!(intake, revoke_consent, RevokeConsentRequest),
        "IntakeService/RecordAssessment" => unary!(intake, record_assessment, RecordAssessmentRequest),
        "IntakeService/AcknowledgeRiskFlag" => unary!(intake, acknowledge_risk_flag, AcknowledgeRiskFlagRequest),
        "IntakeService/RecordDiagnosis" => unary!(intake, record_diagnosis, RecordDiagnosisRequest),
        "IntakeService/ReviseDiagnosis" => unary!(intake, revise_diagnosis, ReviseDiagnosisRequest),
        "IntakeService/IssueGoodFaithEstimate" => {
            unary!(intake, issue_good_faith_estimate, IssueGoodFaithEstimateRequest)
        }
        "IntakeService/PlaceLegalHold" => unary!(intake, place_legal_hold, LegalHoldRequest),
        "IntakeService/ReleaseLegalHold" => unary!(intake, release_legal_hold, LegalHoldRequest),
        "TreatmentPlanningService/DraftPlan" => unary!(planning, draft_plan, DraftPlanRequest),
        "TreatmentPlanningService/SetGoal" => unary!(planning, set_goal, SetGoalRequest),
        "TreatmentPlanningService/AddObjective" => unary!(planning, add_objective, AddObjectiveRequest),
        "TreatmentPlanningService/AddIntervention" => unary!(planning, add_intervention, AddInterventionRequest),
        "TreatmentPlanningService/SignPlan" => unary!(planning, sign_plan, SignPlanRequest),
        "TreatmentPlanningService/ReviewPlan" => unary!(planning, review_plan, ReviewPlanRequest),
        "TreatmentPlanningService/ChangeGoalStatus" => unary!(planning, change_goal_status, ChangeGoalStatusRequest),
        "TreatmentPlanningService/PlanTermination" => unary!(planning, plan_termination, PlanTerminationRequest),
        "SessionService/ScheduleSession" => unary!(sessions, schedule_session, ScheduleSessionRequest),
        "SessionService/HoldSession" => unary!(sessions, hold_session, HoldSessionRequest),
        "SessionService/CancelSession" => unary!(sessions, cancel_session, CancelSessionRequest),
        "SessionService/RecordNoShow" => unary!(sessions, record_no_show, RecordNoShowRequest),
        "SessionService/SignProgressNote" => unary!(sessions, sign_progress_note, SignProgressNoteRequest),
        "SessionService/AppendAddendum" => unary!(sessions, append_addendum, AppendAddendumRequest),
        "SessionService/RecordPsychotherapyNote" => {
            unary!(sessions, record_psychotherapy_note, RecordPsychotherapyNoteRequest)
        }
        "SessionService/RequestAmendment" => unary!(sessions, request_amendment, RequestAmendmentRequest),
        "SessionService/DecideAmendment" => unary!(sessions, decide_amendment, DecideAmendmentRequest),
        "SessionService/CloseEpisode" => unary!(sessions, close_episode, CloseEpisodeRequest),
        "BillingService/OpenAccount" => unary!(billing, open_account, OpenAccountRequest),
        "BillingService/CreateCharge" => unary!(billing, create_charge, CreateChargeRequest),
        "BillingService/SubmitClaim" => unary!(billing, submit_claim, SubmitClaimRequest),
        "BillingService/RejectClaim" => unary!(billing, reject_claim, RejectClaimRequest),
        "BillingService/PostRemittance" => unary!(billing, post_remittance, PostRemittanceRequest),
        "BillingService/ReverseRemittance" => unary!(billing, reverse_remittance, ReverseRemittanceRequest),
        "BillingService/RecoupPayment" => unary!(billing, recoup_payment, RecoupPaymentRequest),
        "BillingService/ReceivePayment" => unary!(billing, receive_payment, ReceivePaymentRequest),
        "BillingService/WriteOff" => unary!(billing, write_off, WriteOffRequest),
        "BillingService/IssueSuperbill" => unary!(billing, issue_superbill, IssueSuperbillRequest),
        "RecordsService/GetEpisode" => unary!(records, get_episode, GetEpisodeRequest),
        "RecordsService/GetEpisodeAsOf" => unary!(records, get_episode_as_of, GetEpisodeAsOfRequest),
        "RecordsService/ListAuditTrail" => unary!(records, list_audit_trail, ListAuditTrailRequest),
        "RecordsService/GetCaseload" => unary!(records, get_caseload, GetCaseloadRequest),
        "RecordsService/GetLedger" => unary!(records, get_ledger, GetLedgerRequest),
        "RecordsService/Subscribe" => unary!(records, subscribe, SubscribeRequest),
        "RecordsService/Verify" => unary!(records, verify, VerifyRequest),
        "RecordsService/ExportEpisodeFhir" => unary!(records, export_episode_fhir, ExportEpisodeFhirRequest),
        "RecordsService/GetPsychotherapyNote" => unary!(records, get_psychotherapy_note, GetPsychotherapyNoteRequest),
        "RecordsService/ListDisclosures" => unary!(records, list_disclosures, ListDisclosuresRequest),
        "RecordsService/SearchClients" => unary!(records, search_clients, SearchClientsRequest),
        "ProofService/GetCheckpoint" => unary!(proofs, get_checkpoint, GetProofCheckpointRequest),
        "ProofService/ListCheckpoints" => unary!(proofs, list_checkpoints, ListProofCheckpointsRequest),
        "ProofService/ProveInclusion" => unary!(proofs, prove_inclusion, ProveInclusionRequest),
        "ProofService/ProveConsistency" => unary!(proofs, prove_consistency, ProveConsistencyRequest),
        "ProofService/SignCheckpoint" => unary!(proofs, sign_checkpoint, SignCheckpointRequest),
        "ProofService/ListSigningKeys" => unary!(proofs, list_signing_keys, ListSigningKeysRequest),
        "ProofService/GetSignedNote" => unary!(proofs, get_signed_note, GetSignedNoteRequest),
        other => panic!("the matrix test does not know {other}: add it here and to the expectations"),
    }
}

async fn every_role_meets_the_policy_on_every_rpc(app: &TestApp) {
    let rpcs = carelog_proto::rpc_names();
    assert!(rpcs.len() >= 50, "found only {} RPCs", rpcs.len());
    let mut denied = 0;
    let mut failures = Vec::new();
    for rpc in &rpcs {
        for role in ROLES {
            let caller = Caller::new(role);
            let result = call(app, &caller, rpc).await;
            let code = result.as_ref().err().map_or(Code::Ok, Status::code);
            if allowed(role, rpc) {
                if matches!(code, Code::PermissionDenied | Code::Unauthenticated) {
                    failures.push(format!("{role} should reach {rpc}, got {code:?}"));
                }
            } else {
                denied += 1;
                match &result {
                    Err(status) if status.code() == Code::PermissionDenied => {
                        assert_rejected(status, Code::PermissionDenied, "ROLE_NOT_ALLOWED");
                    }
                    _ => failures.push(format!("{role} must be denied {rpc}, got {code:?}")),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} cells wrong:\n{}", failures.len(), failures.join("\n"));
    // Each denial is in the access log exactly once, with who, what and the outcome.
    let log = access_log(app).await;
    let denials: Vec<_> = log.iter().filter(|e| outcome(e) == "denied").collect();
    assert_eq!(denials.len(), denied, "one access-log entry per denied call");
    assert!(denials.iter().all(|e| e.data["rpc"].as_str().is_some_and(|r| rpcs.iter().any(|x| x == r))));
    assert!(denials.iter().all(|e| !e.metadata.actor.id.is_empty() && e.metadata.reason.is_some()));
}

async fn calls_without_a_valid_token_are_unauthenticated(app: &TestApp) {
    use carelog_proto::v1::records_service_client::RecordsServiceClient;
    let before = app.event_count().await;
    let mut anonymous = RecordsServiceClient::new(app.channel());
    let status = anonymous.verify(proto::VerifyRequest::default()).await.expect_err("no token");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    for token in ["Bearer not-a-jwt", "Basic dXNlcjpwYXNz", &format!("Bearer {}", expired_token())] {
        let mut request = tonic::Request::new(proto::VerifyRequest::default());
        request.metadata_mut().insert("authorization", token.parse().unwrap());
        let status = anonymous.verify(request).await.expect_err("a bad token");
        assert_eq!(status.code(), Code::Unauthenticated, "{token}: {status:?}");
    }
    // Self-named headers mean nothing to a server with tokens.
    let mut request = tonic::Request::new(proto::VerifyRequest::default());
    request.metadata_mut().insert("x-carelog-actor", uuid::Uuid::now_v7().to_string().parse().unwrap());
    request.metadata_mut().insert("x-carelog-role", "admin".parse().unwrap());
    assert_eq!(anonymous.verify(request).await.expect_err("headers only").code(), Code::Unauthenticated);
    // Health checks need no token.
    let mut health = tonic_health::pb::health_client::HealthClient::new(app.channel());
    let reply = health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await;
    assert!(reply.is_ok(), "{reply:?}");
    assert_eq!(app.event_count().await, before, "refused calls store nothing");
}

fn expired_token() -> String {
    use jsonwebtoken::{EncodingKey, Header};
    let now = jsonwebtoken::get_current_timestamp();
    let claims = carelog_auth::Claims {
        sub: uuid::Uuid::now_v7().to_string(),
        role: "auditor".into(),
        clinician: None,
        name: None,
        iss: "carelog".into(),
        aud: "carelog".into(),
        iat: now - 7200,
        exp: now - 3600,
    };
    let key = EncodingKey::from_secret(carelog_blackbox::TEST_SECRET.as_bytes());
    jsonwebtoken::encode(&Header::default(), &claims, &key).expect("encode")
}

on_both_backends!(every_role_meets_the_policy_on_every_rpc, calls_without_a_valid_token_are_unauthenticated);
