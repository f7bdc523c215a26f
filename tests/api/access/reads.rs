//! Reads of PHI: each is logged (who, role, purpose, RPC, client, outcome) before it is answered,
//! and shows in the client's audit trail; psychotherapy notes for their author alone; a biller
//! sees the record without note text; a clinician sees only their own caseload.

use carelog_blackbox::{Caller, TestApp, assert_invalid_field, assert_rejected, ctx, on_both_backends};
use carelog_proto::v1 as proto;
use chrono::Duration;
use tonic::Code;

use crate::given::{mentions, view_of};

use super::assigned::{World, at, given_world, id, schedule};
use super::{access_log, outcome};

const NOTE_PHRASE: &str = "Reports sleeping through the night";
const PSYCHOTHERAPY_PHRASE: &str = "Process notes: transference themes";

/// Every reply of every read channel to every role, and a read of the note by another clinician,
/// searched byte by byte for the note's text: only its author's `GetPsychotherapyNote` holds it.
async fn no_byte_of_a_psychotherapy_note_reaches_anyone_but_its_author(app: &TestApp) {
    use super::disclosure::{ROLES, Record, Reply, read_every_channel};
    let w = given_world(app).await;
    let note_id = given_documented_session(app, &w).await;
    let head = app.event_count().await;
    let treating = w.treating.to_string();
    let record = Record { client: &w.client, clinician: &treating, account: &uuid::Uuid::now_v7().to_string() };
    let mut seen = 0;
    for role in ROLES {
        let caller = if role == "clinician" { Caller::with_id("clinician", w.treating) } else { Caller::new(role) };
        for (channel, reply) in read_every_channel(app, &caller, &record, head).await {
            if let Reply::Text(text) = reply {
                seen += 1;
                assert!(!text.contains(PSYCHOTHERAPY_PHRASE), "{channel} sent the note's text to a {role}");
            }
        }
        // Anyone in the role but the author (another clinician, for the clinician role).
        let other = Caller::new(role);
        let note = proto::GetPsychotherapyNoteRequest { note_id: note_id.clone() };
        if let Ok(read) = app.records(&other).get_psychotherapy_note(note).await {
            assert!(!format!("{read:?}").contains(PSYCHOTHERAPY_PHRASE), "a {role} not its author read the note");
        }
    }
    assert!(seen >= 12, "the channels answered {seen} times: the search must have replies to search");
    let author = app.records(&Caller::with_id("clinician", w.treating));
    let own = author.clone().get_psychotherapy_note(proto::GetPsychotherapyNoteRequest { note_id }).await;
    assert!(own.expect("the author reads their note").into_inner().text.contains(PSYCHOTHERAPY_PHRASE));
}

/// A held session with a signed note and a psychotherapy note by the treating clinician.
async fn given_documented_session(app: &TestApp, w: &World) -> String {
    use proto::sign_progress_note_request::{Content, Soap};
    let mut sessions = app.sessions(&Caller::with_id("clinician", w.treating));
    let session = id();
    sessions.schedule_session(schedule(w, &session)).await.expect("schedule");
    let hold = proto::HoldSessionRequest {
        context: ctx(),
        session_id: session.clone(),
        started_at: Some(at(-Duration::hours(2))),
        actual_minutes: 53,
        modality: proto::SessionModality::InPerson as i32,
        patient_location: 0,
    };
    sessions.hold_session(hold).await.expect("hold");
    let sign = proto::SignProgressNoteRequest {
        context: ctx(),
        session_id: session.clone(),
        clinician_id: w.treating.to_string(),
        content: Some(Content::Soap(Soap {
            subjective: NOTE_PHRASE.into(),
            objective: "Engaged.".into(),
            assessment: "Improving.".into(),
            plan: "Continue.".into(),
        })),
        goals_addressed: vec![],
        plan_id: String::new(),
    };
    let signed = sessions.sign_progress_note(sign).await.expect("sign").into_inner();
    let note_id = id();
    let note = proto::RecordPsychotherapyNoteRequest {
        context: ctx(),
        session_id: session,
        note_id: note_id.clone(),
        author_id: w.treating.to_string(),
        text: PSYCHOTHERAPY_PHRASE.into(),
    };
    sessions.record_psychotherapy_note(note).await.expect("psychotherapy note");
    // The read model has folded everything before the reads below.
    let mut records = app.records(&Caller::new("auditor"));
    records
        .get_episode(proto::GetEpisodeRequest { client_id: w.client.clone(), min_position: signed.position })
        .await
        .expect("caught up");
    note_id
}

async fn every_read_of_phi_is_logged_and_shows_in_the_audit_trail(app: &TestApp) {
    let w = given_world(app).await;
    given_documented_session(app, &w).await;
    let treating = Caller::with_id("clinician", w.treating);
    let logged_before = access_log(app).await.len();
    let mut records = app.records(&treating);
    records.get_episode(proto::GetEpisodeRequest { client_id: w.client.clone(), min_position: 0 }).await.expect("read");
    let mut emergency =
        tonic::Request::new(proto::ExportEpisodeFhirRequest { client_id: w.client.clone(), as_of: None });
    emergency.metadata_mut().insert("x-carelog-purpose-of-use", "ETREAT".parse().unwrap());
    records.export_episode_fhir(emergency).await.expect("export");
    let log = access_log(app).await;
    let new: Vec<_> = log[logged_before..].iter().collect();
    assert_eq!(new.len(), 2, "one entry per read");
    for (entry, (rpc, purpose)) in
        new.iter().zip([("RecordsService/GetEpisode", "TREAT"), ("RecordsService/ExportEpisodeFhir", "ETREAT")])
    {
        assert_eq!(entry.stream.as_str(), format!("access-{}", w.client));
        assert_eq!(entry.metadata.actor.id, w.treating.to_string());
        assert_eq!(entry.metadata.actor.role, "clinician");
        assert_eq!(entry.metadata.tags.client.as_deref(), Some(w.client.as_str()));
        assert_eq!(entry.data["rpc"], rpc);
        assert_eq!(entry.data["purpose_of_use"], purpose);
        assert_eq!(outcome(entry), "allowed");
    }
    // An auditor finds the reads in the client's audit trail — and the audit trail read itself next time.
    let mut auditor = app.records(&Caller::new("auditor"));
    // The trail is a read model: wait until the projection has folded the second read (a read itself).
    let folded = new.last().map(|entry| entry.position.0).unwrap_or_default();
    let caught_up = proto::GetEpisodeRequest { client_id: w.client.clone(), min_position: folded };
    auditor.get_episode(caught_up).await.expect("projection caught up");
    let request = proto::ListAuditTrailRequest {
        client_id: w.client.clone(),
        event_types: vec!["RecordAccessed".into()],
        ..Default::default()
    };
    let entries = auditor.list_audit_trail(request).await.expect("trail").into_inner().entries;
    assert!(entries.len() >= 2, "the reads show in the audit trail: {entries:?}");
    assert!(entries.iter().any(|e| e.actor_id == w.treating.to_string()));
    // A purpose of use nobody knows is refused, and nothing is logged or read.
    let before = app.event_count().await;
    let mut odd = tonic::Request::new(proto::GetEpisodeRequest { client_id: w.client.clone(), min_position: 0 });
    odd.metadata_mut().insert("x-carelog-purpose-of-use", "CURIOSITY".parse().unwrap());
    let status = records.get_episode(odd).await.expect_err("unknown purpose");
    assert_invalid_field(&status, "x-carelog-purpose-of-use");
    assert_eq!(app.event_count().await, before);
}

async fn a_psychotherapy_note_is_readable_by_its_author_alone(app: &TestApp) {
    let w = given_world(app).await;
    let note_id = given_documented_session(app, &w).await;
    let request = || proto::GetPsychotherapyNoteRequest { note_id: note_id.clone() };
    let author = app.records(&Caller::with_id("clinician", w.treating)).get_psychotherapy_note(request()).await;
    let note = author.expect("the author reads their note").into_inner();
    assert_eq!(note.text, PSYCHOTHERAPY_PHRASE);
    assert_eq!(note.client_id, w.client);
    let before = access_log(app).await.len();
    let supervisor = app.records(&Caller::new("supervisor")).get_psychotherapy_note(request()).await;
    assert_rejected(&supervisor.expect_err("a supervisor is not the author"), Code::PermissionDenied, "NOT_THE_AUTHOR");
    let colleague = app.records(&Caller::new("clinician")).get_psychotherapy_note(request()).await;
    assert_rejected(&colleague.expect_err("another clinician"), Code::PermissionDenied, "NOT_THE_AUTHOR");
    let auditor = app.records(&Caller::new("auditor")).get_psychotherapy_note(request()).await;
    assert_rejected(&auditor.expect_err("an auditor"), Code::PermissionDenied, "ROLE_NOT_ALLOWED");
    let denials = access_log(app).await[before..].iter().filter(|e| outcome(e) == "denied").count();
    assert_eq!(denials, 3, "every attempt on the note is logged");
    // The note is in no other view or export.
    let mut auditor = app.records(&Caller::new("auditor"));
    let view = auditor.get_episode(proto::GetEpisodeRequest { client_id: w.client.clone(), min_position: 0 }).await;
    assert!(!mentions(&view.expect("episode").into_inner(), PSYCHOTHERAPY_PHRASE));
    let export =
        auditor.export_episode_fhir(proto::ExportEpisodeFhirRequest { client_id: w.client.clone(), as_of: None });
    assert!(!export.await.expect("export").into_inner().bundle_json.contains(PSYCHOTHERAPY_PHRASE));
    let unknown = proto::GetPsychotherapyNoteRequest { note_id: id() };
    let status = app.records(&Caller::with_id("clinician", w.treating)).get_psychotherapy_note(unknown).await;
    assert_eq!(status.expect_err("unknown note").code(), Code::NotFound);
}

async fn a_biller_sees_the_record_without_note_text(app: &TestApp) {
    let w = given_world(app).await;
    given_documented_session(app, &w).await;
    let request = || proto::GetEpisodeRequest { client_id: w.client.clone(), min_position: 0 };
    let clinician = app.records(&Caller::with_id("clinician", w.treating)).get_episode(request()).await;
    assert!(mentions(&clinician.expect("clinician view").into_inner(), NOTE_PHRASE));
    let biller = app.records(&Caller::new("biller")).get_episode(request()).await.expect("biller view").into_inner();
    assert!(!mentions(&biller, NOTE_PHRASE), "note text leaked to the biller");
    let withheld = biller.withheld.clone();
    let view = view_of(biller);
    let session = &view.sessions[0];
    assert_eq!(session.status(), proto::SessionStatus::Held, "the biller still sees what was held: {session:?}");
    let note = session.note.as_ref().expect("the note stays, its sections marked");
    let c = note.content.as_ref().expect("the note's sections stay, marked");
    let sections = [
        ("subjective", &c.subjective),
        ("objective", &c.objective),
        ("assessment", &c.assessment),
        ("plan", &c.plan),
        ("data", &c.data),
        ("behavior", &c.behavior),
        ("intervention", &c.intervention),
        ("response", &c.response),
    ];
    let written: Vec<_> = sections.iter().filter(|(_, text)| !text.is_empty()).collect();
    // The sections' own `format` tag is the note's shape, not its content: visible, and equal to
    // the note's; no part of the note but its sections' text is withheld.
    assert_eq!(c.format(), note.format(), "{session:?}");
    assert!(withheld.iter().all(|w| !w.path.ends_with("content.format")), "{withheld:?}");
    let expected = match note.format() {
        proto::NoteFormat::Soap | proto::NoteFormat::Birp => 4,
        proto::NoteFormat::Dap => 3,
        proto::NoteFormat::Unspecified => panic!("the note's format stays visible: {session:?}"),
    };
    assert_eq!(written.len(), expected, "every section of the note's format is there: {session:?}");
    for (section, text) in written {
        assert_eq!(*text, "[redacted: clinical_text]", "{section} of {session:?}");
    }
    assert!(!note.signed_by.is_empty() && !note.signed_by.starts_with('['), "who signed stays visible: {session:?}");
}

async fn a_clinician_sees_only_their_own_caseload(app: &TestApp) {
    let w = given_world(app).await;
    let mut records = app.records(&Caller::with_id("clinician", w.treating));
    // The caseload is a read model: wait (briefly) until it has folded the new episode.
    let mut own = Vec::new();
    for _ in 0..50 {
        let request = proto::GetCaseloadRequest { clinician_id: w.treating.to_string(), ..Default::default() };
        own = records.get_caseload(request).await.expect("own caseload").into_inner().client_ids;
        if own.contains(&w.client) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(own.contains(&w.client), "the client is on the treating clinician's caseload: {own:?}");
    let other = proto::GetCaseloadRequest { clinician_id: uuid::Uuid::now_v7().to_string(), ..Default::default() };
    assert_rejected(
        &records.get_caseload(other).await.expect_err("another's caseload"),
        Code::PermissionDenied,
        "NOT_OWN_CASELOAD",
    );
    let supervisor = app.records(&Caller::new("supervisor"));
    let mut supervisor = supervisor;
    let theirs = supervisor
        .get_caseload(proto::GetCaseloadRequest { clinician_id: w.treating.to_string(), ..Default::default() })
        .await;
    assert!(theirs.expect("a supervisor sees any caseload").into_inner().client_ids.contains(&w.client));
}

on_both_backends!(
    every_read_of_phi_is_logged_and_shows_in_the_audit_trail,
    a_psychotherapy_note_is_readable_by_its_author_alone,
    a_biller_sees_the_record_without_note_text,
    a_clinician_sees_only_their_own_caseload,
    no_byte_of_a_psychotherapy_note_reaches_anyone_but_its_author,
);
