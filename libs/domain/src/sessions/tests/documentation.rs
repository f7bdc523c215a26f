//! Given/when/then: progress notes, addenda, psychotherapy notes, amendments and stored events.

use super::*;

#[test]
fn a_note_is_signed_only_for_a_held_session_by_its_clinician_and_then_locked() {
    let v = visit();
    assert_eq!(code_of(v.when(&v.sign(), &v.given(&[v.schedule()]))), "SESSION_NOT_HELD");
    assert!(v.held().has_unsigned_note());
    assert_eq!(code_of(v.when(&v.sign_by(ClinicianId::new_v4()), &v.held())), "NOT_SESSION_CLINICIAN");
    let events = v.when(&v.sign(), &v.held()).unwrap();
    assert!(matches!(&events[..], [SessionEvent::ProgressNoteSigned(e)] if e.format == NoteFormat::Soap));
    let s = v.signed();
    assert!(!s.has_unsigned_note());
    assert_eq!(code_of(v.when(&v.sign(), &s)), "NOTE_ALREADY_SIGNED");
}

/// Held 10:00–10:55; the note signed within the threshold carries no label, past it a late-entry
/// label with the service's end and the signing time, by the practice's own threshold.
#[test]
fn given_a_held_session_when_its_note_is_signed_past_the_threshold_then_it_is_labelled_a_late_entry() {
    let v = visit();
    let signed_at = |ctx: &SessionContext| {
        let events = decide(&v.sign(), &v.held(), ctx).unwrap();
        let [SessionEvent::ProgressNoteSigned(e)] = &events[..] else { panic!("{events:?}") };
        e.late_entry
    };
    assert_eq!(signed_at(&v.ctx()), None, "signed at noon the same day");
    let two_days_later = SessionContext { now: at(2, 9), ..v.ctx() };
    let ended = at(0, 10) + chrono::Duration::minutes(55);
    assert_eq!(
        signed_at(&two_days_later),
        Some(LateEntry { refers_to: ended, written_at: at(2, 9), threshold_hours: 24 })
    );
    let just_within = SessionContext { now: ended + chrono::Duration::hours(24), ..v.ctx() };
    assert_eq!(signed_at(&just_within), None, "exactly at the threshold is on time");
    let settings = SessionSettings { late_entry_after: chrono::Duration::hours(1), ..SessionSettings::default() };
    let strict = v.ctx().with_settings(settings);
    assert!(signed_at(&strict).is_some_and(|l| l.threshold_hours == 1), "the practice's threshold decides");
}

/// Held 10:00–10:55 on day 0. Recording it as held, or appending to its note, past the
/// threshold labels that entry too; an accepted amendment's correction is never labelled.
#[test]
fn given_a_held_session_when_it_is_recorded_or_amended_past_the_threshold_then_that_entry_is_labelled() {
    let v = visit();
    let later = SessionContext { now: at(3, 9), ..v.ctx() };
    let ended = at(0, 10) + chrono::Duration::minutes(55);
    let expected = Some(LateEntry { refers_to: ended, written_at: at(3, 9), threshold_hours: 24 });

    let held = decide(&v.hold(Modality::Video, Some(PatientLocation::Home)), &v.given(&[v.schedule()]), &later);
    let [SessionEvent::SessionHeld(e)] = &held.unwrap()[..] else { panic!("held") };
    assert_eq!(e.late_entry, expected, "recorded as held three days later");
    let on_time = v.when(&v.hold(Modality::Video, Some(PatientLocation::Home)), &v.given(&[v.schedule()])).unwrap();
    assert!(matches!(&on_time[..], [SessionEvent::SessionHeld(e)] if e.late_entry.is_none()));

    let appended = decide(&v.addendum(AddendumId::new_v4()), &v.signed(), &later).unwrap();
    let [SessionEvent::NoteAddendumAppended(e)] = &appended[..] else { panic!("appended") };
    assert_eq!(e.late_entry, expected);

    let amendment = AmendmentId::new_v4();
    let s =
        v.given(&[v.schedule(), v.hold(Modality::Video, Some(PatientLocation::Home)), v.sign(), v.request(amendment)]);
    let accept = SessionCommand::DecideAmendment {
        amendment_id: amendment,
        response: AmendmentResponse::Accept { addendum_id: AddendumId::new_v4() },
        clinician_id: v.clinician,
    };
    let decided = decide(&accept, &s, &later).unwrap();
    assert!(
        decided.iter().all(|e| !matches!(e, SessionEvent::NoteAddendumAppended(a) if a.late_entry.is_some())),
        "{decided:?}"
    );
}

#[test]
fn a_note_addresses_only_active_plan_goals() {
    let v = visit();
    let no_goals = SessionContext { active_goals: vec![], ..v.ctx() };
    assert_eq!(code_of(decide(&v.sign(), &v.held(), &no_goals)), "GOAL_NOT_ACTIVE");
}

#[test]
fn addenda_are_appended_only_to_a_signed_note() {
    let v = visit();
    let id = AddendumId::new_v4();
    assert_eq!(code_of(v.when(&v.addendum(id), &v.held())), "NOTE_NOT_SIGNED");
    let s = v.given(&[v.schedule(), v.hold(Modality::Video, Some(PatientLocation::Home)), v.sign(), v.addendum(id)]);
    assert!(s.addenda.contains(&id));
    assert_eq!(code_of(v.when(&v.addendum(id), &s)), "ADDENDUM_ALREADY_EXISTS");
}

#[test]
fn a_psychotherapy_note_is_recorded_by_the_sessions_clinician_in_its_own_stream() {
    let v = visit();
    let cmd = |author| SessionCommand::RecordPsychotherapyNote {
        note_id: PsychotherapyNoteId::new_v7(),
        author,
        text: note("Process notes."),
    };
    assert_eq!(code_of(v.when(&cmd(v.clinician), &v.given(&[v.schedule()]))), "SESSION_NOT_HELD");
    assert_eq!(code_of(v.when(&cmd(ClinicianId::new_v4()), &v.held())), "NOT_SESSION_CLINICIAN");
    let events = v.when(&cmd(v.clinician), &v.held()).unwrap();
    let [SessionEvent::PsychotherapyNoteRecorded(e)] = &events[..] else { panic!() };
    assert_eq!(events[0].stream_name(v.session), e.note_id.stream_name());
    assert!(events[0].stream_name(v.session).starts_with("psynote-"));
    assert_eq!(v.held().apply_clone(&events[0]), v.held(), "never folded into the session");
}

impl SessionState {
    fn apply_clone(mut self, e: &SessionEvent) -> Self {
        self.apply(e);
        self
    }
}

#[test]
fn an_amendment_is_requested_against_a_signed_note_with_a_60_day_deadline() {
    let v = visit();
    let id = AmendmentId::new_v4();
    assert_eq!(code_of(v.when(&v.request(id), &v.held())), "NOTE_NOT_SIGNED");
    let events = v.when(&v.request(id), &v.signed()).unwrap();
    assert!(matches!(&events[..], [SessionEvent::AmendmentRequested(e)] if e.respond_by == date(2026, 5, 1)));
    let s = events.iter().fold(v.signed(), evolve);
    assert_eq!(code_of(v.when(&v.request(id), &s)), "AMENDMENT_ALREADY_EXISTS");
}

#[test]
fn an_accepted_amendment_is_appended_as_a_correction_and_decided_once() {
    let v = visit();
    let id = AmendmentId::new_v4();
    let accept = SessionCommand::DecideAmendment {
        amendment_id: id,
        response: AmendmentResponse::Accept { addendum_id: AddendumId::new_v4() },
        clinician_id: v.clinician,
    };
    let s = v.given(&[v.schedule(), v.hold(Modality::Video, Some(PatientLocation::Home)), v.sign(), v.request(id)]);
    let events = v.when(&accept, &s).unwrap();
    assert_eq!(
        events.iter().map(SessionEvent::event_type).collect::<Vec<_>>(),
        ["AmendmentDecided", "NoteAddendumAppended"]
    );
    assert!(
        matches!(&events[1], SessionEvent::NoteAddendumAppended(e) if e.kind == AddendumKind::Correction && e.text.as_str().contains("two children"))
    );
    let s = events.iter().fold(s, evolve);
    assert_eq!(code_of(v.when(&accept, &s)), "AMENDMENT_ALREADY_DECIDED");
    let unknown = SessionCommand::DecideAmendment {
        amendment_id: AmendmentId::new_v4(),
        response: AmendmentResponse::Deny { basis: DenialBasis::AccurateAndComplete, explanation: reason("x") },
        clinician_id: v.clinician,
    };
    assert_eq!(code_of(v.when(&unknown, &s)), "AMENDMENT_NOT_FOUND");
}

#[test]
fn a_denied_amendment_states_its_basis() {
    let v = visit();
    let id = AmendmentId::new_v4();
    let s = v.given(&[v.schedule(), v.hold(Modality::Video, Some(PatientLocation::Home)), v.sign(), v.request(id)]);
    let deny = SessionCommand::DecideAmendment {
        amendment_id: id,
        response: AmendmentResponse::Deny {
            basis: DenialBasis::AccurateAndComplete,
            explanation: reason("The record reflects what was reported."),
        },
        clinician_id: v.clinician,
    };
    let events = v.when(&deny, &s).unwrap();
    assert!(
        matches!(&events[..], [SessionEvent::AmendmentDecided(e)] if matches!(e.decision, AmendmentDecision::Denied { basis: DenialBasis::AccurateAndComplete, .. }))
    );
}

#[test]
fn every_session_event_round_trips_through_stored_json() {
    let v = visit();
    let id = AmendmentId::new_v4();
    let mut samples = Vec::new();
    let mut state = SessionState::default();
    for cmd in [
        v.schedule(),
        v.hold(Modality::Audio, Some(PatientLocation::Other)),
        v.sign(),
        v.addendum(AddendumId::new_v4()),
        SessionCommand::RecordPsychotherapyNote {
            note_id: PsychotherapyNoteId::new_v7(),
            author: v.clinician,
            text: note("p"),
        },
        v.request(id),
        SessionCommand::DecideAmendment {
            amendment_id: id,
            response: AmendmentResponse::Accept { addendum_id: AddendumId::new_v4() },
            clinician_id: v.clinician,
        },
    ] {
        let events = v.when(&cmd, &state).unwrap();
        state = events.iter().fold(state, evolve);
        samples.extend(events);
    }
    let other = visit();
    samples.extend(
        other
            .when(
                &SessionCommand::CancelSession { cancelled_by: CancelledBy::Practice, reason: reason("closure") },
                &other.given(&[other.schedule()]),
            )
            .unwrap(),
    );
    samples.extend(
        other
            .when(&SessionCommand::RecordNoShow { recorded_by: ActorId::new_v4() }, &other.given(&[other.schedule()]))
            .unwrap(),
    );
    for content in [
        NoteContent::Dap { data: note("d"), assessment: note("a"), plan: note("p") },
        NoteContent::Birp { behavior: note("b"), intervention: note("i"), response: note("r"), plan: note("p") },
    ] {
        let cmd = SessionCommand::SignProgressNote {
            content,
            goals_addressed: vec![],
            content_hash: ContentHash::parse(&"0".repeat(64)).unwrap(),
            clinician_id: v.clinician,
        };
        samples.extend(v.when(&cmd, &v.held()).unwrap());
    }
    assert_round_trips(&samples, SessionEvent::EVENT_TYPES, SessionEvent::event_type, |e| {
        let data = e.to_data().unwrap();
        let back = SessionEvent::from_stored(e.event_type(), e.schema_version(), &data).unwrap();
        (e.schema_version(), data, back)
    });
}
