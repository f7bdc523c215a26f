//! The episode page's sessions and their notes: each note's sections in its format's order, its
//! addenda, and the CMS late-entry label where it was written late.

use std::fmt::Write;

use carelog_proto::v1 as proto;

use crate::episode::at;
use crate::html::esc;
use crate::show::label;

/// CMS late-entry label of an entry about `what`: when it was written and what it refers to.
pub(crate) fn late_entry_html(late: Option<&proto::LateEntry>, what: &str) -> String {
    late.map_or(String::new(), |late| {
        format!(
            r#"<p class="meta late-entry"><strong>Late entry</strong>: written {} for the service ending {} (past the practice's {}-hour threshold; {})</p>"#,
            at(&late.written_at),
            at(&late.refers_to),
            late.threshold_hours,
            esc(what),
        )
    })
}

pub(crate) fn sessions(view: &proto::EpisodeView) -> String {
    let mut out = String::from(r#"<section id="sessions"><h2>Sessions and notes</h2>"#);
    if view.sessions.is_empty() {
        out.push_str(r#"<p class="muted">No sessions.</p>"#);
    }
    for s in &view.sessions {
        let when = match &s.held {
            Some(held) => at(&held.started_at),
            None => at(&s.starts_at),
        };
        let amended = s.amendments.iter().any(|a| {
            a.outcome.as_ref().and_then(|o| o.decision.as_ref()).map(|d| d.outcome())
                == Some(proto::AmendmentOutcomeKind::Accepted)
        });
        let _ = write!(
            out,
            r#"<article class="session" id="session-{}"><h3>{} · {} · {}{}</h3>"#,
            esc(&s.session_id),
            when.get(..10).unwrap_or(&when),
            label(s.kind().as_str_name(), "SESSION_KIND_"),
            label(s.status().as_str_name(), "SESSION_STATUS_"),
            if amended { r#" <span class="badge warn">AMENDED</span>"# } else { "" }
        );
        if !s.estimate_due_by.is_empty() {
            let _ = write!(
                out,
                r#"<p class="badge warn estimate-due">No Good Faith Estimate covers this self-pay session: due by {}</p>"#,
                esc(&s.estimate_due_by)
            );
        }
        if let Some(held) = &s.held {
            let modality = label(held.modality().as_str_name(), "MODALITY_");
            let _ = write!(out, "<p>Held {} minutes, {}.</p>", held.actual_minutes, esc(&modality));
            out.push_str(&late_entry_html(held.late_entry.as_ref(), "recorded as held"));
        }
        if s.no_show.is_some() {
            out.push_str(r#"<p class="badge warn">No-show</p>"#);
        }
        if let Some(cancelled) = &s.cancelled {
            let _ = write!(out, r#"<p class="badge warn">Cancelled: {}</p>"#, esc(&cancelled.reason));
        }
        if let Some(note) = &s.note {
            out.push_str(&note_html(note));
        }
        for a in &s.amendments {
            let outcome = a
                .outcome
                .as_ref()
                .and_then(|o| o.decision.as_ref())
                .map_or("pending".to_owned(), |d| label(d.outcome().as_str_name(), "AMENDMENT_OUTCOME_KIND_"));
            let _ = write!(
                out,
                r#"<div class="amendment">Amendment requested {} by <code>{}</code>: <q class="note-text">{}</q> (reason: {}) — {}</div>"#,
                at(&a.requested_at),
                esc(&a.requested_by),
                esc(&a.requested_change),
                esc(&a.reason),
                esc(&outcome),
            );
        }
        out.push_str("</article>");
    }
    out.push_str("</section>");
    out
}

/// A note's sections in the order of its format (S-O-A-P, D-A-P, B-I-R-P).
fn sections(content: &proto::NoteContent) -> Vec<(&'static str, &str)> {
    match content.format() {
        proto::NoteFormat::Soap => vec![
            ("subjective", &content.subjective),
            ("objective", &content.objective),
            ("assessment", &content.assessment),
            ("plan", &content.plan),
        ],
        proto::NoteFormat::Dap => {
            vec![("data", &content.data), ("assessment", &content.assessment), ("plan", &content.plan)]
        }
        proto::NoteFormat::Birp => vec![
            ("behavior", &content.behavior),
            ("intervention", &content.intervention),
            ("response", &content.response),
            ("plan", &content.plan),
        ],
        proto::NoteFormat::Unspecified => Vec::new(),
    }
}

fn note_html(note: &proto::ProgressNoteView) -> String {
    let mut out = format!(
        r#"<div class="note"><p class="meta">{} note signed {} by <code>{}</code> · content hash <code>{}…</code></p>"#,
        note.format().as_str_name().strip_prefix("NOTE_FORMAT_").unwrap_or("note"),
        at(&note.signed_at),
        esc(&note.signed_by),
        hex::encode(note.content_hash.get(..6).unwrap_or_default()),
    );
    out.push_str(&late_entry_html(note.late_entry.as_ref(), "note"));
    let content = note.content.clone().unwrap_or_default();
    out.push_str(r#"<dl class="note-text">"#);
    for (name, value) in sections(&content) {
        let _ = write!(out, "<dt>{name}</dt><dd>{}</dd>", esc(value));
    }
    out.push_str("</dl>");
    for a in &note.addenda {
        let _ = write!(
            out,
            r#"<div class="addendum" id="addendum-{}"><p class="meta">↳ {} appended {} by <code>{}</code> — reason: {}</p><p class="note-text">{}</p></div>"#,
            esc(&a.addendum_id),
            label(a.kind().as_str_name(), "ADDENDUM_KIND_"),
            at(&a.appended_at),
            esc(&a.author),
            esc(&a.reason),
            esc(&a.text),
        );
        out.push_str(&late_entry_html(a.late_entry.as_ref(), "addendum"));
    }
    out.push_str("</div>");
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::note_html;

    fn note(json: serde_json::Value) -> carelog_proto::v1::ProgressNoteView {
        carelog_proto::typed::from_json(&json).expect("a note")
    }

    #[test]
    fn a_late_entry_note_is_labelled_with_when_it_was_written_and_the_service_it_refers_to() {
        let late =
            json!({"refers_to": "2026-03-02T10:55:00Z", "written_at": "2026-03-04T09:00:00Z", "threshold_hours": 24});
        let html = note_html(&note(json!({"format": "SOAP", "late_entry": late, "content": {}})));
        assert!(
            html.contains(
                "<strong>Late entry</strong>: written 2026-03-04 09:00:00 UTC for the service ending 2026-03-02 10:55:00 UTC"
            ),
            "{html}"
        );
        assert!(!note_html(&note(json!({"format": "SOAP", "content": {}}))).contains("Late entry"));
    }

    #[test]
    fn a_late_addendum_is_labelled_and_an_on_time_one_is_not() {
        let late =
            json!({"refers_to": "2026-03-02T10:55:00Z", "written_at": "2026-03-05T09:00:00Z", "threshold_hours": 24});
        let addenda = json!([
            {"addendum_id": "a1", "kind": "late_entry", "text": "Called back.", "late_entry": late},
            {"addendum_id": "a2", "kind": "addendum", "text": "On time."}
        ]);
        let html = note_html(&note(json!({"format": "SOAP", "content": {}, "addenda": addenda})));
        assert_eq!(html.matches("late-entry").count(), 1, "{html}");
        assert!(
            html.contains("written 2026-03-05 09:00:00 UTC for the service ending 2026-03-02 10:55:00 UTC"),
            "{html}"
        );
        assert!(html.contains("24-hour threshold; addendum)"), "{html}");
    }
}
