//! The episode page: the record (now or as of a point), its integrity, the score chart, notes with
//! their addenda, consents, and the timeline of every event. Pure: it renders what the API returned.

use std::fmt::Write;

use carelog_proto::v1 as proto;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::asof::AsOf;
use crate::chart::{self, Score};
use crate::html::{esc, field, form_open, notice, text};
use crate::session::Session;

/// What the API said about integrity, if the role may ask.
#[derive(Debug)]
pub enum Integrity {
    NotForRole,
    Checked { verify: Result<proto::VerifyReply, String>, checkpoint: Result<Option<proto::ProofCheckpoint>, String> },
}

/// The timeline, if the role may read it.
#[derive(Debug)]
pub enum Trail {
    NotForRole,
    Failed(String),
    Entries { entries: Vec<proto::AuditEntry>, truncated: bool },
}

#[derive(Debug)]
pub struct EpisodePage<'a> {
    pub session: &'a Session,
    pub reply: &'a proto::EpisodeReply,
    pub view: &'a Value,
    pub as_of: Option<AsOf>,
    pub integrity: Integrity,
    pub trail: Trail,
    pub flash: Option<String>,
}

pub fn render(page: &EpisodePage) -> String {
    let view = page.view;
    let mut out = String::new();
    let demographics = &view["demographics"];
    let name = text(&demographics["legal_name"]);
    let _ = write!(
        out,
        r#"<section class="head"><h1 id="client-name">{}</h1><p>Client <code id="client-id">{}</code> · born {} · preferred name {} · payer {}</p>"#,
        if name.is_empty() { "Client record".to_owned() } else { esc(&name) },
        esc(&page.reply.client_id),
        field(demographics, "date_of_birth"),
        field(demographics, "preferred_name"),
        field(&demographics["payer"], "payer_name"),
    );
    if !view["erased_at"].is_null() {
        let _ = write!(out, r#"<p class="badge bad">PHI erased at {}</p>"#, field(view, "erased_at"));
    }
    for episode in view["episodes"].as_array().into_iter().flatten() {
        let _ = write!(
            out,
            r#"<p>Episode <code>{}</code>: <strong>{}</strong>, opened {}, clinician <code>{}</code>{}</p>"#,
            field(episode, "episode_id"),
            field(episode, "status"),
            field(episode, "opened_at"),
            field(episode, "clinician_id"),
            if episode["closed"].is_null() {
                String::new()
            } else {
                format!(
                    ", closed {} — discharge summary: <q class=\"note-text\">{}</q>",
                    field(&episode["closed"], "closed_at"),
                    field(&episode["closed"], "discharge_summary")
                )
            }
        );
    }
    out.push_str("</section>");
    out.push_str(&integrity(&page.integrity));
    out.push_str(&as_of_control(page));
    out.push_str(&scores(view));
    out.push_str(&sessions(view));
    out.push_str(&consents(view));
    out.push_str(&diagnoses_and_flags(view));
    out.push_str(&timeline(&page.trail, page.reply.position));
    out
}

fn integrity(integrity: &Integrity) -> String {
    let mut out = String::from(r#"<section id="integrity"><h2>Integrity</h2>"#);
    match integrity {
        Integrity::NotForRole => out.push_str(r#"<p class="muted">Verification is not available to your role.</p>"#),
        Integrity::Checked { verify, checkpoint } => {
            match verify {
                Ok(reply) if reply.intact => {
                    let _ = write!(
                        out,
                        r#"<p class="badge good" id="integrity-badge">✔ Hash chains intact: {} events in {} streams of this client verified</p>"#,
                        reply.events_checked, reply.streams_checked
                    );
                }
                Ok(reply) => {
                    out.push_str(r#"<p class="badge bad" id="integrity-badge">✘ Hash chain BROKEN</p><ul>"#);
                    for b in &reply.breaks {
                        let _ = write!(
                            out,
                            "<li>position {} in <code>{}</code>: {}</li>",
                            b.position,
                            esc(&b.stream),
                            esc(&b.description)
                        );
                    }
                    out.push_str("</ul>");
                }
                Err(message) => out.push_str(&notice("error", &format!("Verification failed: {message}"))),
            }
            match checkpoint {
                Ok(Some(c)) => {
                    let signed = c.signed_at.as_ref().map(timestamp).unwrap_or_default();
                    let _ = write!(
                        out,
                        r#"<p id="checkpoint">Latest signed checkpoint: the log of <strong>{}</strong> events, Merkle root <code>{}…</code>, signed {} by key <code>{}…</code></p>"#,
                        c.tree_size,
                        &hex::encode(&c.root)[..16.min(c.root.len() * 2)],
                        esc(&signed),
                        &hex::encode(&c.public_key)[..16.min(c.public_key.len() * 2)],
                    );
                }
                Ok(None) => out.push_str(r#"<p id="checkpoint" class="muted">No checkpoint has been signed yet.</p>"#),
                Err(message) => {
                    let _ = write!(out, r#"<p id="checkpoint" class="muted">Checkpoint: {}</p>"#, esc(message));
                }
            }
        }
    }
    out.push_str("</section>");
    out
}

fn as_of_control(page: &EpisodePage) -> String {
    let position = page.reply.position;
    let max = match &page.trail {
        Trail::Entries { entries, .. } => entries.iter().map(|e| e.position).max().unwrap_or(position).max(position),
        _ => position,
    };
    let shown = match page.as_of {
        None => format!("Showing the record as it stands now (log position {position})."),
        Some(AsOf::OccurredBy(date)) => format!(
            "As of clinical date {date}: everything that had occurred by the end of that day, as known now \
             (log position {position})."
        ),
        Some(point) => format!("As recorded: the record as it stood at {point} (log position {position})."),
    };
    let value = page.as_of.map(|a| match a {
        AsOf::Position(p) => p.to_string(),
        AsOf::RecordedAt(_) | AsOf::OccurredBy(_) => a.to_string(),
    });
    let mut out = format!(r#"<section id="as-of"><h2>As of</h2><p id="as-of-shown">{}</p>"#, esc(&shown));
    if let Some(message) = &page.flash {
        out.push_str(&notice("error", message));
    }
    let _ = write!(
        out,
        r#"{}<label for="as-of-input">Log position, recorded time, or clinical date</label> <input id="as-of-input" name="as_of" value="{}" placeholder="42, 2026-11-21T09:30:00Z or 2026-11-21"> <input id="as-of-slider" type="range" min="1" max="{max}" value="{position}" aria-label="log position"> <button id="as-of-submit" type="submit">Show as of</button> <button id="as-of-now" type="submit" name="now" value="1">Now</button></form></section>"#,
        form_open("/as-of", page.session, "as-of"),
        esc(value.as_deref().unwrap_or("")),
    );
    out
}

fn scores(view: &Value) -> String {
    let assessments = view["assessments"].as_array().cloned().unwrap_or_default();
    // Scores the gate withheld from this role: say so, rather than draw empty charts.
    if let Some(mark) = assessments.iter().filter_map(|a| a["instrument"].as_str()).find(|i| i.starts_with("[redacted"))
    {
        return format!(r#"<section id="scores"><h2>Scores</h2><p class="withheld">{}</p></section>"#, esc(mark));
    }
    let parse = |v: &Value| v.as_str().and_then(|s| s.parse::<DateTime<Utc>>().ok());
    let of = |instrument: &str| -> Vec<Score> {
        assessments
            .iter()
            .filter(|a| a["instrument"] == instrument)
            .filter_map(|a| {
                Some(Score {
                    at: parse(&a["administered_at"])?,
                    total: a["total"].as_u64()?.min(255) as u8,
                    severity: text(&a["severity"]),
                })
            })
            .collect()
    };
    let (phq9, gad7) = (of("PHQ-9"), of("GAD-7"));
    // The episode's span: opened to closed (or the last score, or now).
    let episode = view["episodes"].as_array().and_then(|e| e.last()).cloned().unwrap_or(Value::Null);
    let all: Vec<DateTime<Utc>> = phq9.iter().chain(&gad7).map(|s| s.at).collect();
    let from = parse(&episode["opened_at"]).or(all.iter().min().copied()).unwrap_or_else(Utc::now);
    let to = parse(&episode["closed"]["closed_at"]).or(all.iter().max().copied()).unwrap_or_else(Utc::now).max(from);
    let mut out =
        String::from(r#"<section id="scores"><h2>PHQ-9 and GAD-7 across the episode</h2><div class="charts">"#);
    out.push_str(&chart::svg(&chart::PHQ9, &phq9, from, to, "chart-phq9"));
    out.push_str(&chart::svg(&chart::GAD7, &gad7, from, to, "chart-gad7"));
    out.push_str("</div></section>");
    out
}

fn sessions(view: &Value) -> String {
    let mut out = String::from(r#"<section id="sessions"><h2>Sessions and notes</h2>"#);
    let sessions = view["sessions"].as_array().cloned().unwrap_or_default();
    if sessions.is_empty() {
        out.push_str(r#"<p class="muted">No sessions.</p>"#);
    }
    for s in &sessions {
        let held = &s["held"];
        let when = if held.is_null() { field(s, "starts_at") } else { field(held, "started_at") };
        let amended = s["amendments"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|a| a["outcome"]["decision"].as_str().is_some_and(|d| d.starts_with("accept")));
        let _ = write!(
            out,
            r#"<article class="session" id="session-{}"><h3>{} · {} · {}{}</h3>"#,
            field(s, "session_id"),
            esc(when.get(..10).unwrap_or(&when)),
            field(s, "kind"),
            field(s, "status"),
            if amended { r#" <span class="badge warn">AMENDED</span>"# } else { "" }
        );
        if !held.is_null() {
            let _ = write!(out, "<p>Held {} minutes, {}.</p>", field(held, "actual_minutes"), field(held, "modality"));
        }
        if !s["no_show"].is_null() {
            out.push_str(r#"<p class="badge warn">No-show</p>"#);
        }
        if !s["cancelled"].is_null() {
            let _ = write!(out, r#"<p class="badge warn">Cancelled: {}</p>"#, field(&s["cancelled"], "reason"));
        }
        let note = &s["note"];
        if !note.is_null() {
            out.push_str(&note_html(note));
        }
        for a in s["amendments"].as_array().into_iter().flatten() {
            let _ = write!(
                out,
                r#"<div class="amendment">Amendment requested {} by <code>{}</code>: <q class="note-text">{}</q> (reason: {}) — {}</div>"#,
                field(a, "requested_at"),
                field(a, "requested_by"),
                field(a, "requested_change"),
                field(a, "reason"),
                if a["outcome"].is_null() { "pending".to_owned() } else { field(&a["outcome"], "decision") }
            );
        }
        out.push_str("</article>");
    }
    out.push_str("</section>");
    out
}

fn note_html(note: &Value) -> String {
    let mut out = format!(
        r#"<div class="note"><p class="meta">{} note signed {} by <code>{}</code> · content hash <code>{}…</code></p>"#,
        field(note, "format"),
        field(note, "signed_at"),
        field(note, "signed_by"),
        esc(text(&note["content_hash"]).get(..12).unwrap_or("")),
    );
    let late = &note["late_entry"];
    if late.is_object() {
        let _ = write!(
            out,
            r#"<p class="meta late-entry"><strong>Late entry</strong>: written {} for the service ending {} (past the practice's {}-hour threshold)</p>"#,
            field(late, "written_at"),
            field(late, "refers_to"),
            field(late, "threshold_hours"),
        );
    }
    match &note["content"] {
        Value::Object(content) => {
            out.push_str(r#"<dl class="note-text">"#);
            for (key, value) in content.iter().filter(|(k, _)| k.as_str() != "format") {
                let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", esc(key), esc(&text(value)));
            }
            out.push_str("</dl>");
        }
        other => {
            let _ = write!(out, r#"<p class="withheld">{}</p>"#, esc(&text(other)));
        }
    }
    for a in note["addenda"].as_array().into_iter().flatten() {
        let _ = write!(
            out,
            r#"<div class="addendum" id="addendum-{}"><p class="meta">↳ {} appended {} by <code>{}</code> — reason: {}</p><p class="note-text">{}</p></div>"#,
            field(a, "addendum_id"),
            field(a, "kind").replace('_', " "),
            field(a, "appended_at"),
            field(a, "author"),
            field(a, "reason"),
            field(a, "text"),
        );
    }
    out.push_str("</div>");
    out
}

fn consents(view: &Value) -> String {
    let mut out = String::from(
        r#"<section id="consents"><h2>Consents</h2><table><thead><tr><th>kind</th><th>given</th><th>expires</th><th>status</th></tr></thead><tbody>"#,
    );
    for c in view["consents"].as_array().into_iter().flatten() {
        let revoked = &c["revoked"];
        let status = if revoked.is_null() {
            r#"<span class="badge good">active</span>"#.to_owned()
        } else {
            format!(
                r#"<span class="badge bad">REVOKED</span> {} — {}"#,
                field(revoked, "revoked_at"),
                field(revoked, "reason")
            )
        };
        let _ = write!(
            out,
            r#"<tr class="{}"><td>{}</td><td>{}</td><td>{}</td><td>{status}</td></tr>"#,
            if revoked.is_null() { "" } else { "revoked" },
            field(&c["kind"], "kind").replace('_', " "),
            field(c, "given_at"),
            field(c, "expires_on"),
        );
    }
    out.push_str("</tbody></table></section>");
    out
}

fn diagnoses_and_flags(view: &Value) -> String {
    let mut out = String::from(r#"<section id="diagnoses"><h2>Diagnoses and risk flags</h2><ul>"#);
    for d in view["diagnoses"].as_array().into_iter().flatten() {
        let _ = write!(
            out,
            "<li><strong>{}</strong> (ICD-10-CM {}) {} — recorded {} by <code>{}</code></li>",
            field(d, "code"),
            field(d, "code_set"),
            field(d, "status"),
            field(d, "recorded_at"),
            field(d, "diagnosed_by")
        );
    }
    for f in view["risk_flags"].as_array().into_iter().flatten() {
        let acknowledged = !f["acknowledged"].is_null();
        let _ = write!(
            out,
            r#"<li class="badge {}">Risk flag raised {}{}</li>"#,
            if acknowledged { "warn" } else { "bad" },
            field(f, "raised_at"),
            if acknowledged { " (acknowledged)" } else { " — NOT acknowledged" }
        );
    }
    out.push_str("</ul></section>");
    out
}

fn timeline(trail: &Trail, position: u64) -> String {
    let mut out = String::from(r#"<section id="timeline"><h2>Timeline</h2>"#);
    let (entries, truncated) = match trail {
        Trail::NotForRole => {
            out.push_str(r#"<p class="muted">The audit trail is not available to your role.</p></section>"#);
            return out;
        }
        Trail::Failed(message) => {
            out.push_str(&notice("error", message));
            out.push_str("</section>");
            return out;
        }
        Trail::Entries { entries, truncated } => (entries, *truncated),
    };
    out.push_str(
        r#"<table><thead><tr><th>pos</th><th>event</th><th>actor</th><th>clinical time</th><th>recorded</th><th>reason</th><th>correlation</th></tr></thead><tbody>"#,
    );
    for e in entries.iter().filter(|e| e.position <= position) {
        let class = match e.event_type.as_str() {
            "ConsentRevoked" => "revoked",
            "NoteAddendumAppended" | "AmendmentDecided" => "amended",
            "RecordAccessed" => "access",
            _ => "",
        };
        // Note events link to their note on this page.
        let event = match e.stream.strip_prefix("session-") {
            Some(id) => format!(r##"<a href="#session-{}">{}</a>"##, esc(id), esc(&e.event_type)),
            None => esc(&e.event_type),
        };
        let _ = write!(
            out,
            r#"<tr class="{class}"><td>{}</td><td>{event}</td><td>{} <code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>"#,
            e.position,
            esc(&e.actor_role),
            esc(e.actor_id.get(..8).unwrap_or(&e.actor_id)),
            esc(&e.occurred_at.as_ref().map(timestamp).unwrap_or_default()),
            esc(&e.recorded_at.as_ref().map(timestamp).unwrap_or_default()),
            esc(&e.reason),
            esc(&e.correlation_id),
        );
    }
    out.push_str("</tbody></table>");
    if truncated {
        out.push_str(&notice(
            "warn",
            "The trail is longer than this page shows; use `carelog audit --client` for all of it.",
        ));
    }
    out.push_str("</section>");
    out
}

pub fn timestamp(t: &prost_types::Timestamp) -> String {
    DateTime::<Utc>::from_timestamp(t.seconds, t.nanos.max(0) as u32)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::note_html;

    #[test]
    fn a_late_entry_note_is_labelled_with_when_it_was_written_and_the_service_it_refers_to() {
        let late =
            json!({"refers_to": "2026-03-02T10:55:00Z", "written_at": "2026-03-04T09:00:00Z", "threshold_hours": 24});
        let html = note_html(&json!({"format": "SOAP", "late_entry": late, "content": {}}));
        assert!(
            html.contains(
                "<strong>Late entry</strong>: written 2026-03-04T09:00:00Z for the service ending 2026-03-02T10:55:00Z"
            ),
            "{html}"
        );
        assert!(!note_html(&json!({"format": "SOAP", "content": {}})).contains("Late entry"));
    }
}
