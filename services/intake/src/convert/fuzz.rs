//! Every IntakeService request, generated from the API's descriptors: converted, or refused with
//! violations naming its fields; never a panic.

use carelog_runtime::testing::{fuzz, meta, now, schema, uuid};
use chrono::Duration;
use proptest::prelude::*;

use super::*;

/// The stream written is the client the request names.
fn on_client(raw: &str, (id, _): &ClientCommand) -> Result<(), TestCaseError> {
    prop_assert_eq!(id.as_uuid(), uuid(raw));
    Ok(())
}

fn other(command: &IntakeCommand) -> TestCaseError {
    TestCaseError::fail(format!("converted to another command: {command:?}"))
}

#[test]
fn every_intake_request_is_fuzzed() {
    let fuzzed = [
        "AcknowledgeRiskFlagRequest",
        "GiveConsentRequest",
        "IssueGoodFaithEstimateRequest",
        "LegalHoldRequest",
        "OpenEpisodeRequest",
        "RecordAssessmentRequest",
        "RecordDiagnosisRequest",
        "RegisterClientRequest",
        "ReviseDiagnosisRequest",
        "RevokeConsentRequest",
    ];
    assert_eq!(schema::requests_of("IntakeService"), fuzzed);
}

#[test]
fn register_client_never_panics() {
    let convert = |r: &proto::RegisterClientRequest| register_client(r, &meta(r.context.as_ref()));
    fuzz("RegisterClientRequest", convert, |r, converted| {
        on_client(&r.client_id, converted)?;
        let IntakeCommand::RegisterClient { demographics, .. } = &converted.1 else { return Err(other(&converted.1)) };
        prop_assert_eq!(demographics.legal_name.as_str(), r.legal_name.trim());
        Ok(())
    });
}

#[test]
fn open_episode_never_panics() {
    let convert = |r: &proto::OpenEpisodeRequest| open_episode(r, &meta(r.context.as_ref()));
    fuzz("OpenEpisodeRequest", convert, |r, converted| {
        on_client(&r.client_id, converted)?;
        let IntakeCommand::OpenEpisode { episode_id, opened_at, .. } = &converted.1 else {
            return Err(other(&converted.1));
        };
        prop_assert_eq!(episode_id.as_uuid(), uuid(&r.episode_id));
        prop_assert!(*opened_at <= now() + Duration::minutes(1), "opened in the future: {opened_at}");
        Ok(())
    });
}

#[test]
fn give_consent_never_panics() {
    let convert = |r: &proto::GiveConsentRequest| give_consent(r, &meta(r.context.as_ref()));
    fuzz("GiveConsentRequest", convert, |r, converted| {
        on_client(&r.client_id, converted)?;
        let IntakeCommand::GiveConsent { consent_id, .. } = &converted.1 else { return Err(other(&converted.1)) };
        prop_assert_eq!(consent_id.as_uuid(), uuid(&r.consent_id));
        Ok(())
    });
}

#[test]
fn revoke_consent_never_panics() {
    let convert = |r: &proto::RevokeConsentRequest| revoke_consent(r, &meta(r.context.as_ref()));
    fuzz("RevokeConsentRequest", convert, |r, converted| {
        on_client(&r.client_id, converted)?;
        let IntakeCommand::RevokeConsent { reason, .. } = &converted.1 else { return Err(other(&converted.1)) };
        let given = meta(r.context.as_ref()).reason;
        prop_assert_eq!(Some(reason.as_str()), given.as_deref());
        Ok(())
    });
}

#[test]
fn record_assessment_never_panics() {
    let convert = |r: &proto::RecordAssessmentRequest| record_assessment(r, &meta(r.context.as_ref()));
    fuzz("RecordAssessmentRequest", convert, |r, converted| {
        on_client(&r.client_id, converted)?;
        let IntakeCommand::RecordAssessment { scores, .. } = &converted.1 else { return Err(other(&converted.1)) };
        prop_assert_eq!(scores.items().len(), r.item_scores.len());
        Ok(())
    });
}

#[test]
fn acknowledge_risk_flag_never_panics() {
    fuzz("AcknowledgeRiskFlagRequest", acknowledge_risk_flag, |r, converted| on_client(&r.client_id, converted));
}

#[test]
fn record_diagnosis_never_panics() {
    fuzz("RecordDiagnosisRequest", record_diagnosis, |r, converted| {
        on_client(&r.client_id, converted)?;
        let IntakeCommand::RecordDiagnosis { diagnosis, .. } = &converted.1 else { return Err(other(&converted.1)) };
        // The stored form is canonical: parsing it again changes nothing.
        prop_assert_eq!(Icd10Code::parse(diagnosis.code.as_str()), Ok(diagnosis.code.clone()));
        Ok(())
    });
}

#[test]
fn revise_diagnosis_never_panics() {
    let convert = |r: &proto::ReviseDiagnosisRequest| revise_diagnosis(r, &meta(r.context.as_ref()));
    fuzz("ReviseDiagnosisRequest", convert, |r, converted| on_client(&r.client_id, converted));
}

#[test]
fn issue_good_faith_estimate_never_panics() {
    let convert = |r: &proto::IssueGoodFaithEstimateRequest| issue_good_faith_estimate(r, &meta(r.context.as_ref()));
    fuzz("IssueGoodFaithEstimateRequest", convert, |r, converted| {
        on_client(&r.client_id, converted)?;
        let IntakeCommand::IssueGoodFaithEstimate { lines, .. } = &converted.1 else { return Err(other(&converted.1)) };
        prop_assert_eq!(lines.len(), r.lines.len());
        Ok(())
    });
}

#[test]
fn legal_hold_never_panics() {
    for release in [false, true] {
        let convert = |r: &proto::LegalHoldRequest| legal_hold(r, &meta(r.context.as_ref()), release);
        fuzz("LegalHoldRequest", convert, |r, converted| on_client(&r.client_id, converted));
    }
}
