//! The audit report's two forms: RFC 3339 CSV rows for the auditor's tools (one table, a
//! `section` column saying which part each row is), and a printable HTML page.

use std::fmt::Write;

use carelog_audit::table::csv_cell;

use crate::html::esc;
use crate::report::Part;
use crate::session::Session;
use crate::show;

/// The CSV's columns; each part fills those it has.
const COLUMNS: [&str; 10] = [
    "section",
    "position",
    "recorded_at",
    "occurred_at",
    "event",
    "actor_id",
    "actor",
    "actor_role",
    "reason",
    "detail",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Printable,
}

fn csv_row(cells: [&str; 10]) -> String {
    cells.into_iter().map(csv_cell).collect::<Vec<_>>().join(",") + "\r\n"
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Printable => "text/html; charset=utf-8",
        }
    }

    /// A download's file name (the printable report opens in the browser).
    pub fn file_name(self, client: &str) -> Option<String> {
        (self == Format::Csv).then(|| format!("carelog-audit-report-{client}.csv"))
    }

    pub fn head(self, session: &Session, client: &str) -> String {
        let now = chrono::Utc::now().format(show::TIME_FORMAT).to_string();
        match self {
            Format::Csv => csv_row(COLUMNS),
            Format::Printable => format!(
                r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Audit report · Carelog</title><link rel="stylesheet" href="/static/console.css"><script src="/static/console.js" defer></script></head><body class="report"><main><p class="no-print"><a href="/episode">« Back to the episode</a> <button id="print" type="button">Print</button> <a id="download-csv" href="/report.csv">Download CSV</a></p><h1>Audit report</h1><p id="report-meta">Client <code>{}</code> · prepared {} by {} · every read for it is in the access log.</p>"#,
                esc(client),
                esc(&now),
                esc(&show::actor(
                    session.who.name.as_deref().unwrap_or(""),
                    session.who.role.as_str(),
                    &session.who.subject.to_string()
                )),
            ),
        }
    }

    pub fn tail(self) -> String {
        match self {
            Format::Csv => String::new(),
            Format::Printable => "</main></body></html>".to_owned(),
        }
    }

    pub fn part(self, part: &Part) -> String {
        match self {
            Format::Csv => csv_part(part),
            Format::Printable => html_part(part),
        }
    }
}

fn csv_part(part: &Part) -> String {
    let mut out = String::new();
    match part {
        Part::Verified { verify, checkpoint } => {
            let verdict = if verify.intact { "intact" } else { "BROKEN" };
            let mut detail = format!("{} events in {} streams verified", verify.events_checked, verify.streams_checked);
            for b in &verify.breaks {
                let _ = write!(detail, "; break at {} in {}: {}", b.position, b.stream, b.description);
            }
            let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            out.push_str(&csv_row(["verification", "", &now, "", verdict, "", "", "", "", &detail]));
            if let Some(c) = checkpoint {
                let detail = format!("root {} signed by key {}", hex::encode(&c.root), hex::encode(&c.public_key));
                let size = c.tree_size.to_string();
                out.push_str(&csv_row([
                    "checkpoint",
                    &size,
                    &show::rfc3339(&c.signed_at),
                    "",
                    "signed",
                    "",
                    "",
                    "",
                    "",
                    &detail,
                ]));
            }
        }
        Part::Disclosures(list) => {
            for d in list {
                let purpose = format!("{} ({})", d.purpose, d.purpose_of_use);
                let detail = format!("{}{}", d.description, if d.accountable { " · owed to the client" } else { "" });
                out.push_str(&csv_row([
                    "disclosure",
                    &d.position.to_string(),
                    &show::rfc3339(&d.disclosed_at),
                    "",
                    &d.channel,
                    &d.recipient_id,
                    "",
                    &d.recipient_role,
                    &purpose,
                    &detail,
                ]));
            }
        }
        Part::Trail(entries) => {
            for e in entries {
                out.push_str(&csv_row([
                    "timeline",
                    &e.position.to_string(),
                    &show::rfc3339(&e.recorded_at),
                    &show::rfc3339(&e.occurred_at),
                    &e.event_type,
                    &e.actor_id,
                    &show::actor(&e.actor_name, &e.actor_role, &e.actor_id),
                    &e.actor_role,
                    &e.reason,
                    &access_detail(e),
                ]));
            }
        }
        Part::Failed(message) => out.push_str(&csv_row(["error", "", "", "", "", "", "", "", "", message])),
        Part::DisclosuresStart | Part::DisclosuresEnd | Part::TrailStart | Part::TrailEnd => {}
    }
    out
}

/// A CSV row's detail: a read's RPC, purpose and outcome, and the correlation id.
fn access_detail(e: &carelog_proto::v1::AuditEntry) -> String {
    let mut detail = Vec::new();
    if !e.rpc.is_empty() {
        detail.push(format!("rpc {}", e.rpc));
    }
    if !e.purpose_of_use.is_empty() {
        detail.push(format!("purpose {}", e.purpose_of_use));
    }
    if !e.outcome.is_empty() {
        detail.push(e.outcome.clone());
    }
    if !e.correlation_id.is_empty() {
        detail.push(format!("correlation {}", e.correlation_id));
    }
    detail.join("; ")
}

fn html_part(part: &Part) -> String {
    let mut out = String::new();
    match part {
        Part::Verified { verify, checkpoint } => {
            out.push_str(r#"<section id="report-integrity"><h2>Verification</h2>"#);
            if verify.intact {
                let _ = write!(
                    out,
                    r#"<p class="badge good">✔ Hash chains intact: {} events in {} streams verified</p>"#,
                    verify.events_checked, verify.streams_checked
                );
            } else {
                out.push_str(r#"<p class="badge bad">✘ Hash chain BROKEN</p><ul>"#);
                for b in &verify.breaks {
                    let _ = write!(out, "<li>position {} in <code>{}</code>: {}</li>", b.position, esc(&b.stream), esc(&b.description));
                }
                out.push_str("</ul>");
            }
            match checkpoint {
                Some(c) => {
                    let _ = write!(
                        out,
                        r#"<p>Latest signed checkpoint: the log of {} events, root <code class="hash">{}</code>, signed {} by key <code class="hash">{}</code></p>"#,
                        c.tree_size,
                        hex::encode(&c.root),
                        esc(&show::time(&c.signed_at)),
                        hex::encode(&c.public_key),
                    );
                }
                None => out.push_str(r#"<p class="muted">No checkpoint has been signed yet.</p>"#),
            }
            out.push_str("</section>");
        }
        Part::DisclosuresStart => out.push_str(
            r#"<section id="report-disclosures" class="page-break"><h2>Accounting of disclosures (HIPAA §164.528)</h2><div class="table-wrap"><table><thead><tr><th>date</th><th>recipient</th><th>purpose</th><th>what was disclosed</th><th>channel</th><th>owed</th></tr></thead><tbody>"#,
        ),
        Part::Disclosures(list) => {
            for d in list {
                let _ = write!(
                    out,
                    r#"<tr><td>{}</td><td>{}</td><td>{} ({})</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>"#,
                    esc(&show::time(&d.disclosed_at)),
                    esc(&show::actor("", &d.recipient_role, &d.recipient_id)),
                    esc(&d.purpose),
                    esc(&d.purpose_of_use),
                    esc(&d.description),
                    esc(&d.channel),
                    if d.accountable { "yes" } else { "no" },
                );
            }
        }
        Part::DisclosuresEnd | Part::TrailEnd => out.push_str("</tbody></table></div></section>"),
        Part::TrailStart => out.push_str(
            r#"<section id="report-timeline" class="page-break"><h2>Timeline</h2><div class="table-wrap"><table class="timeline"><thead><tr><th>pos</th><th>event</th><th>actor</th><th>clinical time</th><th>recorded</th><th>reason</th></tr></thead><tbody>"#,
        ),
        Part::Trail(entries) => {
            for e in entries {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    e.position,
                    esc(&show::event(&e.event_type)),
                    crate::timeline::access(e),
                    esc(&show::actor(&e.actor_name, &e.actor_role, &e.actor_id)),
                    esc(&show::time(&e.occurred_at)),
                    esc(&show::time(&e.recorded_at)),
                    esc(&e.reason),
                );
            }
        }
        Part::Failed(message) => {
            let _ = write!(out, r#"</tbody></table></div><p class="notice error" role="alert">{}</p>"#, esc(message));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use carelog_proto::v1 as proto;

    use super::*;

    #[test]
    fn csv_rows_say_their_section_and_a_formula_in_a_reason_stays_text() {
        let entry = proto::AuditEntry {
            position: 7,
            event_type: "NoteAddendumAppended".into(),
            actor_role: "clinician".into(),
            actor_id: "019b0c3e-1111-7000-8000-00000000aaaa".into(),
            reason: "=HYPERLINK(\"http://evil\")".into(),
            ..Default::default()
        };
        let csv = Format::Csv.part(&Part::Trail(vec![entry]));
        assert!(csv.starts_with("timeline,7,,,NoteAddendumAppended,"), "{csv}");
        assert!(csv.contains(",\"'=HYPERLINK(\"\"http://evil\"\")\","), "{csv}");
        assert!(Format::Printable.part(&Part::Trail(Vec::new())).is_empty());
    }
}
