//! Late entries (CMS Program Integrity Manual ch. 3 §3.3.2.5): a note signed more than the
//! practice's threshold (24 hours by default) after its session ended is labelled as such, with
//! when it was written and the service it refers to, in the stored event, the episode view and
//! the FHIR DocumentReference.

use super::*;

/// A session held `days` ago for 55 minutes, its note signed now; returns the session id.
async fn signed_days_after(ep: &mut Episode, days: i64) -> String {
    let session_id = id();
    let started = Duration::days(days) + Duration::hours(1);
    ep.sessions.schedule_session(ep.schedule_at(&session_id, -started)).await.unwrap();
    let held = proto::HoldSessionRequest { started_at: Some(at(-started)), ..hold(&session_id, InPerson) };
    ep.sessions.hold_session(held).await.unwrap();
    ep.sessions.sign_progress_note(ep.sign(&session_id)).await.unwrap();
    session_id
}

async fn a_note_signed_past_the_threshold_is_labelled_a_late_entry_everywhere(app: &TestApp) {
    let mut ep = episode(app, false).await;
    let late = signed_days_after(&mut ep, 3).await;
    let on_time = signed_days_after(&mut ep, 0).await;
    let signed = |events: &[RecordedEvent]| {
        events.iter().find(|e| e.event_type == "ProgressNoteSigned").expect("signed").data["late_entry"].clone()
    };
    let late_events = stored(app, &format!("session-{late}")).await;
    let label = signed(&late_events);
    let held = late_events.iter().find(|e| e.event_type == "SessionHeld").expect("held");
    let started: chrono::DateTime<Utc> = held.data["started_at"].as_str().unwrap().parse().unwrap();
    let ended = started + Duration::minutes(55);
    assert_eq!(label["refers_to"].as_str(), Some(ended.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true).as_str()));
    assert_eq!(label["threshold_hours"], 24);
    assert!(label["written_at"].as_str().is_some_and(|w| w > label["refers_to"].as_str().unwrap()));
    assert!(signed(&stored(app, &format!("session-{on_time}")).await).is_null(), "on time: no label");

    let mut records = app.records(&Caller::new("auditor"));
    let request = proto::GetEpisodeRequest { client_id: ep.client_id.clone(), min_position: app.event_count().await };
    let view = records.get_episode(request).await.unwrap().into_inner().view.expect("a view");
    let note_of = |session: &str| {
        view.sessions.iter().find(|s| s.session_id == session).and_then(|s| s.note.clone()).expect("a signed note")
    };
    let shown = note_of(&late).late_entry.expect("the view shows the label");
    let time = |t: Option<prost_types::Timestamp>| {
        let t = t.expect("a time");
        chrono::DateTime::from_timestamp(t.seconds, t.nanos as u32).expect("in range")
    };
    let stored_time = |key: &str| label[key].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    assert_eq!(time(shown.refers_to), stored_time("refers_to"), "the view shows the label as stored");
    assert_eq!(time(shown.written_at), stored_time("written_at"));
    assert_eq!(u64::from(shown.threshold_hours), label["threshold_hours"].as_u64().unwrap());
    assert!(note_of(&on_time).late_entry.is_none());

    let export = proto::ExportEpisodeFhirRequest { client_id: ep.client_id.clone(), as_of: None };
    let bundle = records.export_episode_fhir(export).await.unwrap().into_inner().bundle_json;
    let written = label["written_at"].as_str().unwrap()[..10].to_owned();
    let expected = format!("late entry: written {written}, for the service of {}", ended.date_naive());
    let labelled = bundle.matches(&expected).count();
    assert!(labelled > 0, "the DocumentReference says: {expected}");
    assert_eq!(bundle.matches("late entry: written").count(), labelled, "the on-time note is not labelled");
}

/// A session recorded as held three days after it ended, its note, an addendum to it, and a PHQ-9
/// administered three days before it was recorded: each entry is labelled, in the record, in
/// every audit-trail entry of those events (and no other) and in the FHIR export.
async fn late_session_records_addenda_and_assessments_are_labelled_in_the_record_and_the_audit_trail(app: &TestApp) {
    let mut ep = episode(app, false).await;
    let session_id = signed_days_after(&mut ep, 3).await;
    ep.sessions.append_addendum(ep.addendum(&session_id)).await.unwrap();
    let assessment = proto::RecordAssessmentRequest {
        context: ctx(),
        client_id: ep.client_id.clone(),
        assessment_id: id(),
        instrument: proto::record_assessment_request::Instrument::Phq9 as i32,
        item_scores: vec![1, 1, 1, 1, 1, 1, 1, 1, 0],
        administered_at: Some(at(-Duration::days(3))),
    };
    let recorded = ep.intake.record_assessment(assessment).await.unwrap().into_inner();
    let on_time =
        proto::RecordAssessmentRequest { assessment_id: id(), administered_at: None, ..assessment_request(&ep) };
    ep.intake.record_assessment(on_time).await.unwrap();

    let mut records = app.records(&Caller::new("auditor"));
    let request = proto::GetEpisodeRequest { client_id: ep.client_id.clone(), min_position: app.event_count().await };
    let view = records.get_episode(request).await.unwrap().into_inner().view.expect("a view");
    let session = view.sessions.iter().find(|s| s.session_id == session_id).expect("the session");
    let held = session.held.as_ref().expect("held");
    assert_eq!(held.late_entry.as_ref().map(|l| l.threshold_hours), Some(24), "recorded as held late");
    let note = session.note.as_ref().expect("signed");
    assert!(note.addenda[0].late_entry.is_some(), "the addendum is a late entry too");
    let labelled: Vec<bool> = view.assessments.iter().map(|a| a.late_entry.is_some()).collect();
    assert_eq!(labelled, [true, false], "only the assessment recorded days after it was given");

    let trail = proto::ListAuditTrailRequest { client_id: ep.client_id.clone(), page_size: 1000, ..Default::default() };
    let entries = records.list_audit_trail(trail).await.unwrap().into_inner().entries;
    let mut marked: Vec<&str> =
        entries.iter().filter(|e| e.late_entry.is_some()).map(|e| e.event_type.as_str()).collect();
    marked.sort_unstable();
    assert_eq!(marked, ["AssessmentRecorded", "NoteAddendumAppended", "ProgressNoteSigned", "SessionHeld"]);
    let assessed = entries.iter().find(|e| e.position == recorded.position).expect("the assessment's entry");
    let label = assessed.late_entry.as_ref().expect("marked");
    assert!(label.written_at.as_ref().unwrap().seconds - label.refers_to.as_ref().unwrap().seconds >= 3 * 86_400 - 60);

    let export = proto::ExportEpisodeFhirRequest { client_id: ep.client_id.clone(), as_of: None };
    let bundle = records.export_episode_fhir(export).await.unwrap().into_inner().bundle_json;
    assert!(bundle.contains("to the progress note (late entry: written"), "the addendum's DocumentReference");
    assert_eq!(bundle.matches("Recorded (late entry: written").count(), 1, "the late assessment's Observation");
}

fn assessment_request(ep: &Episode) -> proto::RecordAssessmentRequest {
    proto::RecordAssessmentRequest {
        context: ctx(),
        client_id: ep.client_id.clone(),
        assessment_id: id(),
        instrument: proto::record_assessment_request::Instrument::Gad7 as i32,
        item_scores: vec![0; 7],
        administered_at: None,
    }
}

on_both_backends!(
    a_note_signed_past_the_threshold_is_labelled_a_late_entry_everywhere,
    late_session_records_addenda_and_assessments_are_labelled_in_the_record_and_the_audit_trail,
);

/// The threshold is the practice's (`--late-entry-hours`): at 72 hours a note signed two days
/// after its session is on time, one signed four days after is late and says 72.
async fn the_late_entry_threshold_is_the_practices_setting(backend: carelog_blackbox::Backend) {
    let mut config = carelog::app::AppConfig::default();
    config.sessions.late_entry_after = Duration::hours(72);
    let app = TestApp::spawn_with(backend, config).await;
    let mut ep = episode(&app, false).await;
    let on_time = signed_days_after(&mut ep, 2).await;
    let late = signed_days_after(&mut ep, 4).await;
    let label = |events: Vec<RecordedEvent>| {
        events.into_iter().find(|e| e.event_type == "ProgressNoteSigned").expect("signed").data["late_entry"].clone()
    };
    assert!(label(stored(&app, &format!("session-{on_time}")).await).is_null(), "within 72 hours");
    assert_eq!(label(stored(&app, &format!("session-{late}")).await)["threshold_hours"], 72);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_late_entry_threshold_is_the_practices_setting() {
    the_late_entry_threshold_is_the_practices_setting(carelog_blackbox::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_late_entry_threshold_is_the_practices_setting() {
    the_late_entry_threshold_is_the_practices_setting(carelog_blackbox::Backend::Postgres).await;
}
