//! Sessions in the view: the visit, its note with addenda, amendments, and psychotherapy notes
//! that are counted but never shown.

use super::*;
use crate::episode::SessionStatus;

#[test]
fn a_held_session_shows_minutes_modality_location_and_its_signed_note() {
    let mut chart = Chart::new();
    chart.register();
    let session = chart.schedule(at(7, 15));
    chart.hold(session, at(7, 15), 53);
    let goal = GoalId::new_v4();

    chart.sign_note(session, vec![goal], at(7, 17));
    let view = chart.view();

    let s = view.session(session).expect("session");
    assert_eq!((s.status, s.episode_id, s.clinician_id), (SessionStatus::Held, chart.episode, chart.clinician));
    assert_eq!((s.kind, s.starts_at, s.planned_minutes), (SessionKind::Psychotherapy, at(7, 15), mins(50)));
    let held = s.held.as_ref().expect("held");
    assert_eq!((held.actual_minutes, held.modality), (mins(53), Modality::Video));
    assert_eq!(held.patient_location, Some(PatientLocation::Home));
    assert_eq!(held.ended_at(), at(7, 15) + chrono::Duration::minutes(53));
    let n = &s.note.as_ref().expect("note").signed;
    assert_eq!((n.format, n.goals_addressed.clone(), n.content_hash.clone()), (NoteFormat::Dap, vec![goal], hash('a')));
    assert_eq!((n.signed_by, n.signed_at), (chart.clinician, at(7, 17)));
    assert_eq!(n.content.sections()[0], ("data", &note("Reports sleeping better.")));
}

#[test]
fn an_addendum_is_attached_to_its_note() {
    let mut chart = Chart::new();
    chart.register();
    let session = chart.schedule(at(7, 15));
    chart.hold(session, at(7, 15), 50);
    chart.sign_note(session, Vec::new(), at(7, 17));
    let (addendum_id, author) = (AddendumId::new_v4(), chart.clinician);

    chart.session(
        session,
        NoteAddendumAppended {
            addendum_id,
            kind: AddendumKind::LateEntry,
            author,
            reason: reason("Collateral call after the session"),
            text: note("Spouse confirms improved sleep."),
            appended_at: at(8, 9),
            late_entry: Some(carelog_domain::sessions::LateEntry {
                refers_to: at(7, 16),
                written_at: at(8, 9),
                threshold_hours: 12,
            }),
        },
    );
    let view = chart.view();

    let addenda = &view.session(session).and_then(|s| s.note.as_ref()).expect("note").addenda;
    assert_eq!(addenda.len(), 1);
    assert_eq!(
        (addenda[0].addendum_id, addenda[0].kind, addenda[0].author),
        (addendum_id, AddendumKind::LateEntry, author)
    );
    assert_eq!(addenda[0].text.as_str(), "Spouse confirms improved sleep.");
    assert_eq!(addenda[0].reason.as_str(), "Collateral call after the session");
    let late = addenda[0].late_entry.expect("the addendum's late-entry label");
    assert_eq!((late.refers_to, late.written_at, late.threshold_hours), (at(7, 16), at(8, 9), 12));
}

#[test]
fn an_amendment_request_and_its_decision_are_kept_with_the_session() {
    let mut chart = Chart::new();
    chart.register();
    let session = chart.schedule(at(7, 15));
    chart.hold(session, at(7, 15), 50);
    chart.sign_note(session, Vec::new(), at(7, 17));
    let (amendment_id, clinician) = (AmendmentId::new_v4(), chart.clinician);
    chart.session(
        session,
        AmendmentRequested {
            amendment_id,
            requested_by: ActorId::new_v4(),
            requested_change: note("I said three nights, not two."),
            reason: reason("Accuracy"),
            requested_at: at(10, 9),
            respond_by: date(2026, 5, 11),
        },
    );

    let decision =
        AmendmentDecision::Denied { basis: DenialBasis::AccurateAndComplete, explanation: reason("As said") };
    chart.session(
        session,
        AmendmentDecided { amendment_id, decision: decision.clone(), decided_by: clinician, decided_at: at(12, 9) },
    );
    let view = chart.view();

    let a = &view.session(session).expect("session").amendments[0];
    assert_eq!((a.requested.amendment_id, a.requested.respond_by), (amendment_id, date(2026, 5, 11)));
    let outcome = a.outcome.as_ref().expect("decided");
    assert_eq!((&outcome.decision, outcome.decided_by, outcome.decided_at), (&decision, clinician, at(12, 9)));
}

#[test]
fn cancelled_and_no_show_sessions() {
    let mut chart = Chart::new();
    chart.register();
    let (cancelled, missed) = (chart.schedule(at(7, 15)), chart.schedule(at(14, 15)));

    chart.session(
        cancelled,
        SessionCancelled {
            cancelled_by: CancelledBy::Client,
            reason: reason("Sick child"),
            late: true,
            cancelled_at: at(7, 9),
        },
    );
    chart.session(missed, NoShowRecorded { recorded_by: ActorId::new_v4(), recorded_at: at(14, 16) });
    let view = chart.view();

    let c = view.session(cancelled).expect("cancelled");
    let details = c.cancelled.as_ref().expect("cancellation");
    assert_eq!((c.status, details.cancelled_by, details.late), (SessionStatus::Cancelled, CancelledBy::Client, true));
    let m = view.session(missed).expect("no-show");
    assert_eq!((m.status, m.no_show.as_ref().map(|n| n.recorded_at)), (SessionStatus::NoShow, Some(at(14, 16))));
}

#[test]
fn a_psychotherapy_note_is_counted_but_its_text_appears_nowhere_in_the_view() {
    let mut chart = Chart::new();
    chart.register();
    let session = chart.schedule(at(7, 15));
    chart.hold(session, at(7, 15), 50);

    chart.psychotherapy_note(session);
    let view = chart.view();

    assert_eq!((view.psychotherapy_notes, view.session(session).map(|s| s.psychotherapy_notes)), (1, Some(1)));
    let json = serde_json::to_string(&view).expect("serializes");
    assert!(!json.contains("lighthouse"), "psychotherapy note text leaked: {json}");
    assert!(!format!("{view:?}").contains("lighthouse"), "nor in debug output");
}
