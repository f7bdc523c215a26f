//! Random visits and assessments, each decided by the domain (held late or on time, addenda
//! appended late or on time, scores of every band): the episode view keeps what the domain
//! decided — the held session as the session's own state holds it, the addenda as appended, the
//! note as signed, the assessment's total and severity as the domain scores them — and a view
//! stored before it kept the domain's events (late-entry labels left out instead of `null`)
//! reads back the same.

use carelog_domain::intake::{self, ClientState, IntakeCommand, IntakeContext};
use carelog_domain::sessions::{self, SessionContext, SessionState};
use chrono::Duration;
use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::episode::AssessmentEntry;

/// One visit: held `started_days_ago` for `minutes`, recorded `recorded_after_hours` after it
/// ended, with addenda appended so many hours after that.
#[derive(Debug, Clone)]
struct Visit {
    started_days_ago: i64,
    minutes: u32,
    video: bool,
    recorded_after_hours: i64,
    addenda_after_hours: Vec<i64>,
}

fn visit() -> impl Strategy<Value = Visit> {
    (1i64..60, 16u32..120, any::<bool>(), 0i64..72, prop::collection::vec(0i64..96, 0..3)).prop_map(
        |(started_days_ago, minutes, video, recorded_after_hours, addenda_after_hours)| Visit {
            started_days_ago,
            minutes,
            video,
            recorded_after_hours,
            addenda_after_hours,
        },
    )
}

/// A PHQ-9 or GAD-7 administered `days_ago`, recorded `recorded_after_hours` later.
fn assessment() -> impl Strategy<Value = (bool, Vec<u32>, i64, i64)> {
    (any::<bool>(), prop::collection::vec(0u32..=3, 9), 1i64..60, 0i64..72)
}

const TODAY: i64 = 90;

/// Runs `cmd` on the session through the domain, appends what it decides and folds it into `state`.
fn run(chart: &mut Chart, state: &mut SessionState, id: SessionId, cmd: SessionCommand, ctx: &SessionContext) {
    for e in sessions::decide(&cmd, state, ctx).expect("the domain accepts the visit") {
        *state = sessions::evolve(std::mem::take(state), &e);
        chart.session(id, e);
    }
}

/// The session event the chart appended last, as the domain reads it back.
fn last_session_event(chart: &Chart) -> SessionEvent {
    let e = chart.log.events.last().expect("an event");
    SessionEvent::from_stored(&e.event_type, e.schema_version, &e.data).expect("a session event")
}

fn client_state(chart: &Chart) -> ClientState {
    let events = chart.log.events.iter().filter(|e| e.category() == "client");
    events.fold(ClientState::default(), |state, e| {
        let decoded = IntakeEvent::from_stored(&e.event_type, e.schema_version, &e.data).expect("intake event");
        intake::evolve(state, &decoded)
    })
}

/// The view's JSON as a store written before the view kept the domain's events held it: a
/// held session's, a note's or an addendum's missing late-entry label left out, not `null`.
fn stored_before(mut json: Value) -> Value {
    let drop_null_label = |v: &mut Value| {
        if let Some(o) = v.as_object_mut().filter(|o| o.get("late_entry").is_some_and(Value::is_null)) {
            o.remove("late_entry");
        }
    };
    for session in json["sessions"].as_array_mut().expect("sessions") {
        drop_null_label(&mut session["held"]);
        drop_null_label(&mut session["note"]);
        if let Some(addenda) = session["note"]["addenda"].as_array_mut() {
            addenda.iter_mut().for_each(drop_null_label);
        }
    }
    json
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_view_keeps_what_the_domain_decided_and_reads_its_older_json(
        visits in prop::collection::vec(visit(), 1..5),
        assessments in prop::collection::vec(assessment(), 0..4),
    ) {
        let mut chart = Chart::new();
        chart.register();
        chart.consent(ConsentKind::Treatment);
        chart.consent(ConsentKind::Telehealth);
        let mut decided = Vec::new();
        for v in &visits {
            let started_at = at(TODAY - v.started_days_ago, 9);
            let session = chart.schedule(started_at);
            let mut state = sessions::evolve(SessionState::default(), &last_session_event(&chart));
            let ended_at = started_at + Duration::minutes(i64::from(v.minutes));
            let recorded_at = ended_at + Duration::hours(v.recorded_after_hours);
            let ctx = SessionContext::from_client(&client_state(&chart), chart.episode, recorded_at);
            let (modality, patient_location) =
                if v.video { (Modality::Video, Some(PatientLocation::Home)) } else { (Modality::InPerson, None) };
            let hold = SessionCommand::HoldSession { started_at, actual_minutes: mins(v.minutes), modality, patient_location };
            run(&mut chart, &mut state, session, hold, &ctx);
            chart.sign_note(session, Vec::new(), recorded_at);
            let SessionEvent::ProgressNoteSigned(signed) = last_session_event(&chart) else {
                unreachable!("the note was signed")
            };
            state = sessions::evolve(state, &signed.clone().into());
            let mut appended = Vec::new();
            for (i, after) in v.addenda_after_hours.iter().enumerate() {
                let ctx = SessionContext { now: recorded_at + Duration::hours(*after + i as i64), ..ctx.clone() };
                let author = chart.clinician;
                let append = SessionCommand::AppendAddendum {
                    addendum_id: AddendumId::new_v4(),
                    kind: AddendumKind::Addendum,
                    author,
                    reason: reason("Collateral call"),
                    text: note("Spouse confirms improved sleep."),
                };
                run(&mut chart, &mut state, session, append, &ctx);
                let SessionEvent::NoteAddendumAppended(e) = last_session_event(&chart) else {
                    unreachable!("an addendum was appended")
                };
                appended.push(e);
            }
            decided.push((session, state, signed, appended));
        }
        let mut recorded = Vec::new();
        for (gad7, items, days_ago, after) in &assessments {
            let (instrument, items) = if *gad7 { (Instrument::Gad7, &items[..7]) } else { (Instrument::Phq9, &items[..]) };
            let scores = AssessmentScores::parse(instrument, items).expect("scores");
            let administered_at = at(TODAY - days_ago, 10);
            let cmd = IntakeCommand::RecordAssessment {
                assessment_id: AssessmentId::new_v4(),
                scores,
                administered_by: ActorId::new_v4(),
                administered_at,
            };
            let ctx = IntakeContext::at(administered_at + Duration::hours(*after));
            for e in intake::decide(&cmd, &client_state(&chart), &ctx).expect("the domain records it") {
                if let IntakeEvent::AssessmentRecorded(a) = &e {
                    recorded.push(a.clone());
                }
                chart.intake(e);
            }
        }

        let view = chart.view();
        for (session, state, signed, appended) in &decided {
            let s = view.session(*session).expect("session");
            prop_assert_eq!(&s.held, &state.held, "the held session is the domain's");
            let held = s.held.as_ref().expect("held");
            prop_assert_eq!(held.late_entry.is_some(), held.recorded_at - held.ended_at() > LATE_ENTRY_AFTER);
            let note = s.note.as_ref().expect("note");
            prop_assert_eq!((&note.signed, &note.addenda), (signed, appended));
        }
        prop_assert_eq!(view.assessments.len(), recorded.len());
        for (entry, event) in view.assessments.iter().zip(&recorded) {
            prop_assert_eq!(entry, &AssessmentEntry::from(event));
            prop_assert_eq!((entry.total, entry.severity), (event.scores.total(), event.scores.severity()));
        }
        let json = serde_json::to_value(&view).expect("JSON");
        prop_assert_eq!(&serde_json::from_value::<EpisodeView>(json.clone()).expect("reads"), &view);
        prop_assert_eq!(&serde_json::from_value::<EpisodeView>(stored_before(json)).expect("reads"), &view);
    }
}
