//! Encounter (a session) and DocumentReference (its signed progress note, and each addendum as
//! a document of its own that `appends` the note).
//!
//! docStatus: the note is `amended` once a correction (including an accepted HIPAA amendment)
//! was appended to it; an addendum or a late entry adds information without changing what was
//! signed, so the note stays `final` and the addendum points at it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use carelog_domain::sessions::{AddendumKind, NoteAddendumAppended, SessionKind};
use carelog_domain::types::Modality;
use carelog_projections::episode::{ProgressNoteView, SessionStatus, SessionView};
use chrono::Duration;
use serde_json::{Value, json};

use crate::bundle::{Ctx, Resource};
use crate::codes::{ACT_CODE, LOINC, PARTICIPATION, Sensitivity, coding, concept, instant, minutes, person, text};
use crate::ids;

pub fn encounters(ctx: &Ctx<'_>) -> Vec<Resource> {
    ctx.record.view.sessions.iter().map(|s| encounter(ctx, s)).collect()
}

fn encounter(ctx: &Ctx<'_>, s: &SessionView) -> Resource {
    // R4's Encounter has no no-show status: a missed visit is `cancelled`.
    let status = match s.status {
        SessionStatus::Scheduled => "planned",
        SessionStatus::Held => "finished",
        SessionStatus::Cancelled | SessionStatus::NoShow => "cancelled",
    };
    // A held session ended when the domain says it did; a planned one when its planned minutes end.
    let (start, end, length, modality) = match &s.held {
        Some(h) => (h.started_at, h.ended_at(), h.actual_minutes.get(), h.modality),
        None => {
            let planned = s.planned_minutes.get();
            (s.starts_at, s.starts_at + Duration::minutes(i64::from(planned)), planned, s.planned_modality)
        }
    };
    let class = match modality {
        Modality::InPerson => coding(ACT_CODE, "AMB", "ambulatory"),
        Modality::Video | Modality::Audio => coding(ACT_CODE, "VR", "virtual"),
    };
    let mut fields = json!({
        "status": status,
        "class": class,
        "type": [text(kind(s.kind))],
        "subject": ctx.patient(),
        "episodeOfCare": [ctx.reference("EpisodeOfCare", &s.episode_id.to_string())],
        "participant": [{
            "type": [concept(PARTICIPATION, "PPRF", "primary performer")],
            "individual": person("Practitioner", &s.clinician_id.to_string()),
        }],
        "period": { "start": instant(start), "end": instant(end) },
    });
    if let (Some(_), Value::Object(f)) = (&s.held, &mut fields) {
        f.insert("length".into(), minutes(length));
    }
    ctx.resource("Encounter", s.session_id.to_string(), Sensitivity::MentalHealth, fields)
}

fn kind(k: SessionKind) -> &'static str {
    match k {
        SessionKind::Intake => "Psychiatric diagnostic evaluation",
        SessionKind::Psychotherapy => "Individual psychotherapy",
        SessionKind::Crisis => "Psychotherapy for crisis",
        SessionKind::FamilyWithPatient => "Family psychotherapy with patient present",
        SessionKind::FamilyWithoutPatient => "Family psychotherapy without the patient",
    }
}

/// Progress notes and their addenda. Psychotherapy notes are not here and cannot be: the view
/// holds only their count.
pub fn documents(ctx: &Ctx<'_>) -> Vec<Resource> {
    let mut out = Vec::new();
    for s in &ctx.record.view.sessions {
        if let Some(note) = &s.note {
            let note_id = ids::progress_note(s.session_id);
            out.push(progress_note(ctx, s, &note_id, note));
            out.extend(note.addenda.iter().map(|a| addendum(ctx, s, &note_id, a)));
        }
    }
    out
}

fn progress_note(ctx: &Ctx<'_>, s: &SessionView, id: &str, note: &ProgressNoteView) -> Resource {
    let amended = note.addenda.iter().any(|a| a.kind == AddendumKind::Correction);
    let (signed, signer) = (&note.signed, note.signed.signed_by.to_string());
    let body: String = signed
        .content
        .sections()
        .iter()
        .map(|(name, text)| format!("{}:\n{}\n", name.to_ascii_uppercase(), text.as_str()))
        .collect::<Vec<_>>()
        .join("\n");
    let format = format!("{:?}", signed.format).to_ascii_uppercase();
    let description = format!("{format} progress note{}", late_entry_label(signed.late_entry.as_ref()));
    let mut fields = document(ctx, s, signer.clone(), signed.signed_at, &description, &body);
    if let Value::Object(f) = &mut fields {
        f.insert("docStatus".into(), if amended { "amended" } else { "final" }.into());
        f.insert("authenticator".into(), person("Practitioner", &signer));
    }
    ctx.resource("DocumentReference", id.to_owned(), Sensitivity::Psychiatric, fields)
}

fn addendum(ctx: &Ctx<'_>, s: &SessionView, note_id: &str, a: &NoteAddendumAppended) -> Resource {
    let what = match a.kind {
        AddendumKind::Addendum => "Addendum",
        AddendumKind::Correction => "Correction",
        AddendumKind::LateEntry => "Late entry",
    };
    let late = late_entry_label(a.late_entry.as_ref());
    let description = format!("{what} to the progress note{late}: {}", a.reason.as_str());
    let mut fields = document(ctx, s, a.author.to_string(), a.appended_at, &description, a.text.as_str());
    if let Value::Object(f) = &mut fields {
        f.insert("docStatus".into(), "final".into());
        f.insert(
            "relatesTo".into(),
            json!([{ "code": "appends", "target": ctx.reference("DocumentReference", note_id) }]),
        );
    }
    ctx.resource("DocumentReference", a.addendum_id.to_string(), Sensitivity::Psychiatric, fields)
}

/// CMS late-entry label, as words after what a document is: when it was written and the
/// service it refers to; empty for an entry on time.
pub(crate) fn late_entry_label(late: Option<&carelog_domain::sessions::LateEntry>) -> String {
    late.map_or(String::new(), |late| {
        format!(
            " (late entry: written {}, for the service of {})",
            late.written_at.date_naive(),
            late.refers_to.date_naive()
        )
    })
}

/// What a note and an addendum share: LOINC 11506-3 (progress note), the text as a plain-text
/// attachment, the session as context.
fn document(
    ctx: &Ctx<'_>,
    s: &SessionView,
    author: String,
    at: chrono::DateTime<chrono::Utc>,
    description: &str,
    body: &str,
) -> Value {
    json!({
        "status": "current",
        "type": concept(LOINC, "11506-3", "Progress note"),
        "subject": ctx.patient(),
        "date": instant(at),
        "author": [person("Practitioner", &author)],
        "description": description,
        "securityLabel": Sensitivity::Psychiatric.labels().as_array().cloned().unwrap_or_default()
            .into_iter().map(|c| json!({ "coding": [c] })).collect::<Vec<_>>(),
        "content": [{ "attachment": {
            "contentType": "text/plain; charset=utf-8",
            "data": STANDARD.encode(body.as_bytes()),
            "title": description,
            "creation": instant(at),
        } }],
        "context": { "encounter": [ctx.reference("Encounter", &s.session_id.to_string())] },
    })
}
