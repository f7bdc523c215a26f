//! Every SessionService request, generated from the API's descriptors: converted, or refused with
//! violations naming its fields; never a panic.

use carelog_runtime::testing::{fuzz, meta, now, schema, uuid};
use chrono::Duration;
use proptest::prelude::*;

use super::*;

/// The stream written is the session the request names.
fn on_session(raw: &str, converted: &SessionRequest) -> Result<(), TestCaseError> {
    prop_assert_eq!(converted.session_id.as_uuid(), uuid(raw));
    Ok(())
}

fn other(command: &SessionCommand) -> TestCaseError {
    TestCaseError::fail(format!("converted to another command: {command:?}"))
}

#[test]
fn every_session_request_is_fuzzed() {
    let fuzzed = [
        "AppendAddendumRequest",
        "CancelSessionRequest",
        "CloseEpisodeRequest",
        "DecideAmendmentRequest",
        "HoldSessionRequest",
        "RecordNoShowRequest",
        "RecordPsychotherapyNoteRequest",
        "RequestAmendmentRequest",
        "ScheduleSessionRequest",
        "SignProgressNoteRequest",
    ];
    assert_eq!(schema::requests_of("SessionService"), fuzzed);
}

#[test]
fn schedule_session_never_panics() {
    let convert = |r: &proto::ScheduleSessionRequest| schedule_session(r, &meta(r.context.as_ref()));
    fuzz("ScheduleSessionRequest", convert, |r, converted| {
        on_session(&r.session_id, converted)?;
        let SessionCommand::ScheduleSession { planned_minutes, .. } = &converted.command else {
            return Err(other(&converted.command));
        };
        prop_assert_eq!(u32::from(planned_minutes.get()), r.planned_minutes);
        Ok(())
    });
}

#[test]
fn hold_session_never_panics() {
    let convert = |r: &proto::HoldSessionRequest| hold_session(r, &meta(r.context.as_ref()));
    fuzz("HoldSessionRequest", convert, |r, converted| {
        on_session(&r.session_id, converted)?;
        let SessionCommand::HoldSession { started_at, .. } = &converted.command else {
            return Err(other(&converted.command));
        };
        prop_assert!(*started_at <= now() + Duration::minutes(1), "held in the future: {started_at}");
        Ok(())
    });
}

#[test]
fn cancel_session_never_panics() {
    let convert = |r: &proto::CancelSessionRequest| cancel_session(r, &meta(r.context.as_ref()));
    fuzz("CancelSessionRequest", convert, |r, converted| on_session(&r.session_id, converted));
}

#[test]
fn record_no_show_never_panics() {
    let convert = |r: &proto::RecordNoShowRequest| record_no_show(r, &meta(r.context.as_ref()));
    fuzz("RecordNoShowRequest", convert, |r, converted| on_session(&r.session_id, converted));
}

#[test]
fn sign_progress_note_never_panics() {
    let convert = |r: &proto::SignProgressNoteRequest| sign_progress_note(r, &meta(r.context.as_ref()));
    fuzz("SignProgressNoteRequest", convert, |r, converted| {
        on_session(&r.session_id, converted)?;
        let SessionCommand::SignProgressNote { goals_addressed, .. } = &converted.command else {
            return Err(other(&converted.command));
        };
        prop_assert_eq!(goals_addressed.len(), r.goals_addressed.len());
        prop_assert_eq!(
            converted.plan_id.map(|p| p.as_uuid()),
            (!r.plan_id.trim().is_empty()).then(|| uuid(&r.plan_id))
        );
        Ok(())
    });
}

#[test]
fn append_addendum_never_panics() {
    let convert = |r: &proto::AppendAddendumRequest| append_addendum(r, &meta(r.context.as_ref()));
    fuzz("AppendAddendumRequest", convert, |r, converted| on_session(&r.session_id, converted));
}

#[test]
fn record_psychotherapy_note_never_panics() {
    let convert = |r: &proto::RecordPsychotherapyNoteRequest| record_psychotherapy_note(r, &meta(r.context.as_ref()));
    fuzz("RecordPsychotherapyNoteRequest", convert, |r, converted| on_session(&r.session_id, converted));
}

#[test]
fn request_amendment_never_panics() {
    let convert = |r: &proto::RequestAmendmentRequest| request_amendment(r, &meta(r.context.as_ref()));
    fuzz("RequestAmendmentRequest", convert, |r, converted| on_session(&r.session_id, converted));
}

#[test]
fn decide_amendment_never_panics() {
    let convert = |r: &proto::DecideAmendmentRequest| decide_amendment(r, &meta(r.context.as_ref()));
    fuzz("DecideAmendmentRequest", convert, |r, converted| on_session(&r.session_id, converted));
}

#[test]
fn close_episode_never_panics() {
    fuzz("CloseEpisodeRequest", close_episode, |r, converted| {
        prop_assert_eq!(converted.client_id.as_uuid(), uuid(&r.client_id));
        prop_assert_eq!(converted.episode_id.as_uuid(), uuid(&r.episode_id));
        Ok(())
    });
}
