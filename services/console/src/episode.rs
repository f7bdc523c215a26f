//! The episode page: the record (now or as of a point), its integrity, the score chart, notes with
//! their addenda, consents, and the timeline of every event. Pure: it renders what the API returned.

use std::fmt::Write;

use carelog_proto::v1 as proto;
use chrono::{DateTime, Utc};

use crate::asof::AsOf;
use crate::chart::{self, Score};
use crate::episode_sessions::{late_entry_html, sessions};
use crate::html::{esc, form_open, notice};
use crate::session::Session;
use crate::show::{label, timestamp};

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
    /// The first page; `more` when the trail goes on (on the timeline page).
    Entries {
        entries: Vec<proto::AuditEntry>,
        more: bool,
    },
}

#[derive(Debug)]
pub struct EpisodePage<'a> {
    pub session: &'a Session,
    pub reply: &'a proto::EpisodeReply,
    pub view: &'a proto::EpisodeView,
    /// What the read gate withheld from `view` for the user's role.
    pub withheld: &'a [proto::WithheldField],
    pub as_of: Option<AsOf>,
    pub integrity: Integrity,
    pub trail: Trail,
    pub flash: Option<String>,
}

pub fn render(page: &EpisodePage) -> String {
    let view = page.view;
    let mut out = String::new();
    let demographics = view.demographics.clone().unwrap_or_default();
    let payer = demographics.payer.clone().unwrap_or_default();
    let _ = write!(
        out,
        r#"<section class="head"><h1 id="client-name">{}</h1><p>Client <code id="client-id">{}</code> · born {} · preferred name {} · payer {}</p>"#,
        if demographics.legal_name.is_empty() { "Client record".to_owned() } else { esc(&demographics.legal_name) },
        esc(&page.reply.client_id),
        esc(&demographics.date_of_birth),
        esc(&demographics.preferred_name),
        esc(if payer.kind() == proto::PayerKind::SelfPay { "self-pay" } else { &payer.payer_name }),
    );
    if let Some(erased) = &view.erased_at {
        let _ = write!(out, r#"<p class="badge bad">PHI erased at {}</p>"#, esc(&timestamp(erased)));
    }
    for episode in &view.episodes {
        let closed = episode.closed.as_ref().map_or_else(String::new, |c| {
            format!(
                ", closed {} — discharge summary: <q class=\"note-text\">{}</q>",
                at(&c.closed_at),
                esc(&c.discharge_summary)
            )
        });
        let _ = write!(
            out,
            r#"<p>Episode <code>{}</code>: <strong>{}</strong>, opened {}, clinician <code>{}</code>{closed}</p>"#,
            esc(&episode.episode_id),
            label(episode.status().as_str_name(), "EPISODE_STATUS_"),
            at(&episode.opened_at),
            esc(&episode.clinician_id),
        );
    }
    out.push_str("</section>");
    out.push_str(&integrity(&page.integrity));
    out.push_str(&as_of_control(page));
    out.push_str(&scores(view, page.withheld));
    out.push_str(&sessions(view));
    out.push_str(&consents(view));
    out.push_str(&diagnoses_and_flags(view));
    out.push_str(&timeline(&page.trail, page.reply.position));
    out
}

/// An optional time as escaped text.
pub(crate) fn at(time: &Option<prost_types::Timestamp>) -> String {
    esc(&time.as_ref().map(timestamp).unwrap_or_default())
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
    let max = page.session.head.max(position);
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
        r#"{}<label for="as-of-input">Log position, recorded time, or clinical date</label> <input id="as-of-input" name="as_of" value="{}" placeholder="42, 2026-11-21T09:30:00Z or 2026-11-21"> <input id="as-of-slider" type="range" min="1" max="{max}" value="{position}" aria-label="log position"> <button id="as-of-submit" type="submit">Show as of</button> <button id="as-of-now" type="submit" name="now" value="1">Now</button></form>"#,
        form_open("/as-of", page.session, "as-of"),
        esc(value.as_deref().unwrap_or("")),
    );
    // From a recorded point, the diff to now is one click (for roles that may read the trail).
    let close = "</section>";
    if let (Some(AsOf::Position(_) | AsOf::RecordedAt(_)), Some(from), Trail::Entries { .. }) =
        (page.as_of, &value, &page.trail)
    {
        let query = format!("from={}&to={max}", crate::filters::encode(from));
        let _ = write!(
            out,
            r#"<p><a id="diff-to-now" href="/diff?{}">What changed from here to now »</a></p>"#,
            esc(&query)
        );
    }
    out.push_str(close);
    out
}

fn scores(view: &proto::EpisodeView, withheld: &[proto::WithheldField]) -> String {
    // Scores the gate withheld from this role: say so, rather than draw empty charts.
    if let Some(w) = withheld.iter().find(|w| w.path.starts_with("assessments[]")) {
        let mark = format!("[redacted: {}]", w.field_class);
        return format!(r#"<section id="scores"><h2>Scores</h2><p class="withheld">{}</p></section>"#, esc(&mark));
    }
    let time = |t: &Option<prost_types::Timestamp>| {
        t.as_ref().and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, t.nanos.max(0) as u32))
    };
    let of = |instrument: proto::Instrument| -> Vec<Score> {
        view.assessments
            .iter()
            .filter(|a| a.instrument() == instrument)
            .filter_map(|a| {
                Some(Score {
                    at: time(&a.administered_at)?,
                    total: a.total.min(255) as u8,
                    severity: label(a.severity().as_str_name(), "SEVERITY_"),
                })
            })
            .collect()
    };
    let (phq9, gad7) = (of(proto::Instrument::Phq9), of(proto::Instrument::Gad7));
    // The span: from the first of the episode's opening and any score (screenings come before it)
    // to its closing or the last score, so no score sits off the chart or piled at an edge.
    let episode = view.episodes.last();
    let all: Vec<DateTime<Utc>> = phq9.iter().chain(&gad7).map(|s| s.at).collect();
    let opened = episode.and_then(|e| time(&e.opened_at));
    let from = opened.into_iter().chain(all.iter().copied()).min().unwrap_or_else(Utc::now);
    let closed = episode.and_then(|e| e.closed.as_ref()).and_then(|c| time(&c.closed_at));
    let to = closed.into_iter().chain(all.iter().copied()).max().unwrap_or_else(Utc::now).max(from);
    let mut out =
        String::from(r#"<section id="scores"><h2>PHQ-9 and GAD-7 across the episode</h2><div class="charts">"#);
    out.push_str(&chart::svg(&chart::PHQ9, &phq9, from, to, "chart-phq9"));
    out.push_str(&chart::svg(&chart::GAD7, &gad7, from, to, "chart-gad7"));
    out.push_str("</div>");
    out.push_str(&assessment_table(view));
    for a in &view.assessments {
        let what =
            format!("{} administered {}", label(a.instrument().as_str_name(), "INSTRUMENT_"), at(&a.administered_at));
        out.push_str(&late_entry_html(a.late_entry.as_ref(), &what));
    }
    out.push_str("</section>");
    out
}

/// Every assessment as a row too: the chart's points in words (and on paper).
fn assessment_table(view: &proto::EpisodeView) -> String {
    if view.assessments.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        r#"<h3>Every assessment</h3><div class="table-wrap"><table id="assessments"><thead><tr><th>administered</th><th>instrument</th><th>total</th><th>severity</th></tr></thead><tbody>"#,
    );
    for a in &view.assessments {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            at(&a.administered_at),
            esc(&label(a.instrument().as_str_name(), "INSTRUMENT_").to_uppercase().replace(' ', "-")),
            a.total,
            esc(&label(a.severity().as_str_name(), "SEVERITY_")),
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

fn consents(view: &proto::EpisodeView) -> String {
    let mut out = String::from(
        r#"<section id="consents"><h2>Consents</h2><table><thead><tr><th>kind</th><th>given</th><th>expires</th><th>status</th></tr></thead><tbody>"#,
    );
    for c in &view.consents {
        let status = match &c.revoked {
            None => r#"<span class="badge good">active</span>"#.to_owned(),
            Some(r) => format!(r#"<span class="badge bad">REVOKED</span> {} — {}"#, at(&r.revoked_at), esc(&r.reason)),
        };
        let kind = c.kind.as_ref().map(|k| label(k.kind().as_str_name(), "CONSENT_KIND_")).unwrap_or_default();
        let _ = write!(
            out,
            r#"<tr class="{}"><td>{}</td><td>{}</td><td>{}</td><td>{status}</td></tr>"#,
            if c.revoked.is_none() { "" } else { "revoked" },
            esc(&kind),
            at(&c.given_at),
            esc(&c.expires_on),
        );
    }
    out.push_str("</tbody></table></section>");
    out
}

fn diagnoses_and_flags(view: &proto::EpisodeView) -> String {
    let mut out = String::from(r#"<section id="diagnoses"><h2>Diagnoses and risk flags</h2><ul>"#);
    for d in &view.diagnoses {
        let _ = write!(
            out,
            "<li><strong>{}</strong> (ICD-10-CM {}) {} — recorded {} by <code>{}</code></li>",
            esc(&d.code),
            esc(&d.code_set),
            label(d.status().as_str_name(), "DIAGNOSIS_STATUS_"),
            at(&d.recorded_at),
            esc(&d.diagnosed_by)
        );
    }
    for f in &view.risk_flags {
        let acknowledged = f.acknowledged.is_some();
        let _ = write!(
            out,
            r#"<li class="badge {}">Risk flag raised {}{}</li>"#,
            if acknowledged { "warn" } else { "bad" },
            at(&f.raised_at),
            if acknowledged { " (acknowledged)" } else { " — NOT acknowledged" }
        );
    }
    out.push_str("</ul></section>");
    out
}

fn timeline(trail: &Trail, position: u64) -> String {
    let mut out = String::from(r#"<section id="timeline"><h2>Timeline</h2>"#);
    match trail {
        Trail::NotForRole => out.push_str(r#"<p class="muted">The audit trail is not available to your role.</p>"#),
        Trail::Failed(message) => out.push_str(&notice("error", message)),
        Trail::Entries { entries, more } => {
            out.push_str(&crate::timeline::table(entries, position));
            let _ = write!(
                out,
                r#"<p><a id="full-timeline" href="/timeline">{} · filter by type, actor and dates »</a></p>"#,
                if *more { "The first entries only: the whole timeline" } else { "The timeline" }
            );
        }
    }
    out.push_str("</section>");
    out
}
