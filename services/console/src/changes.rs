//! The diff page: the open client's record between two points (log positions or recorded times:
//! the record as it stood; or clinical dates: what had occurred by then, as known now) — every
//! field added, amended, voided, redacted or removed (`carelog_audit::diff`, as `carelog audit
//! diff` prints it), and the events in between with who and why.

use std::fmt::Write;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use carelog_audit::diff::{self, Change, ChangeKind};
use carelog_proto::v1 as proto;
use chrono::{DateTime, Utc};
use tonic::Code;

use crate::api::UserApi;
use crate::asof::{self, AsOf};
use crate::filters::Raw;
use crate::html::{esc, notice, page as frame};
use crate::routes::{Shared, failure, refused, with_client};
use crate::session::Session;
use crate::show;

/// Trail entries read to list the events in between, and the most listed.
const SCAN_ENTRIES: usize = 20_000;
const MOST_EVENTS: usize = 1_000;
const TRAIL_PAGE: u32 = 500;

/// What the page compares, once both points are read.
#[derive(Debug)]
struct Compared {
    from: (AsOf, u64),
    to: (AsOf, u64),
    changes: Vec<Change>,
    events: Vec<proto::AuditEntry>,
    /// More events than listed (or more trail than read).
    cut: bool,
}

pub async fn page(State(console): Shared, headers: HeaderMap, Query(raw): Query<Raw>) -> Response {
    let (id, session, client) = match with_client(&console, &headers) {
        Ok(found) => found,
        Err(out) => return *out,
    };
    let mut api = console.api.as_user(&session);
    if !(api.may("RecordsService/GetEpisodeAsOf") && api.may("RecordsService/ListAuditTrail")) {
        return refused(
            &session,
            "The diff names who changed what from the audit trail: it is for the treating clinician, supervisors and auditors.",
        );
    }
    let text = |k: &str| raw.get(k).map_or("", |v| v.trim()).to_owned();
    let (from, to) = (text("from"), text("to"));
    if from.is_empty() && to.is_empty() {
        return Html(render(&session, &client, &from, &to, None)).into_response();
    }
    let points = match points(&from, &to) {
        Ok(points) => points,
        Err(problem) => {
            let body = render(&session, &client, &from, &to, Some(Err(problem)));
            return (StatusCode::BAD_REQUEST, Html(body)).into_response();
        }
    };
    match compare(&mut api, &client, points).await {
        Ok(compared) => Html(render(&session, &client, &from, &to, Some(Ok(compared)))).into_response(),
        Err(status) if status.code() == Code::Unauthenticated => failure(&console, &id, &session, &status),
        Err(status) => {
            let code = match status.code() {
                Code::InvalidArgument | Code::NotFound => StatusCode::BAD_REQUEST,
                Code::PermissionDenied => StatusCode::FORBIDDEN,
                _ => StatusCode::BAD_GATEWAY,
            };
            let body = render(&session, &client, &from, &to, Some(Err(status.message().to_owned())));
            (code, Html(body)).into_response()
        }
    }
}

/// Both points, of one kind: recorded (positions and times mix) or clinical.
fn points(from: &str, to: &str) -> Result<(AsOf, AsOf), String> {
    let one = |raw: &str, name: &str| match asof::parse(raw) {
        Ok(Some(point)) => Ok(point),
        Ok(None) => Err(format!("{name}: give a log position, a recorded time or a clinical date")),
        Err(message) => Err(message.replacen("as of:", &format!("{name}:"), 1)),
    };
    let (from, to) = (one(from, "from")?, one(to, "to")?);
    let clinical = |p: &AsOf| matches!(p, AsOf::OccurredBy(_));
    if clinical(&from) != clinical(&to) {
        return Err("from and to: compare two clinical dates, or two recorded points (positions or times)".into());
    }
    Ok((from, to))
}

async fn compare(api: &mut UserApi, client: &str, (from, to): (AsOf, AsOf)) -> Result<Compared, tonic::Status> {
    let named = |name: &str, s: tonic::Status| tonic::Status::new(s.code(), format!("{name}: {}", s.message()));
    let before = api.episode(client, Some(from)).await.map_err(|s| named("from", s))?;
    let after = api.episode(client, Some(to)).await.map_err(|s| named("to", s))?;
    let backwards = match (from, to) {
        (AsOf::OccurredBy(a), AsOf::OccurredBy(b)) => a > b,
        _ => before.position > after.position,
    };
    if backwards {
        return Err(tonic::Status::invalid_argument("from and to: from is later than to; swap them"));
    }
    let changes = diff::between(&before.view.clone().unwrap_or_default(), &after.view.clone().unwrap_or_default())
        .map_err(|e| tonic::Status::internal(format!("the record does not encode: {e}")))?;
    let (events, cut) = events_between(api, client, (from, before.position), (to, after.position)).await?;
    Ok(Compared { from: (from, before.position), to: (to, after.position), changes, events, cut })
}

/// The record-changing events between the points: by log position for recorded points, by
/// clinical time for clinical dates. Reads the trail a page at a time, within a bound.
async fn events_between(
    api: &mut UserApi,
    client: &str,
    (from, start): (AsOf, u64),
    (to, end): (AsOf, u64),
) -> Result<(Vec<proto::AuditEntry>, bool), tonic::Status> {
    let clinical = match (from, to) {
        (AsOf::OccurredBy(a), AsOf::OccurredBy(b)) => Some((AsOf::end_of(a), AsOf::end_of(b))),
        _ => None,
    };
    let occurred = |e: &proto::AuditEntry| {
        e.occurred_at.as_ref().and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, t.nanos.max(0) as u32))
    };
    let mut after = if clinical.is_some() { 0 } else { start };
    let (mut events, mut read) = (Vec::new(), 0);
    loop {
        let request = proto::ListAuditTrailRequest {
            client_id: client.to_owned(),
            page_size: TRAIL_PAGE,
            page_token: if after == 0 { String::new() } else { after.to_string() },
            ..Default::default()
        };
        let page = api.audit_page(request).await?;
        read += page.entries.len();
        for e in page.entries {
            after = e.position;
            if clinical.is_none() && e.position > end {
                return Ok((events, false));
            }
            let inside = match clinical {
                Some((a, b)) => occurred(&e).is_some_and(|t| t > a && t <= b),
                None => true,
            };
            if inside && diff::is_change(&e) {
                if events.len() == MOST_EVENTS {
                    return Ok((events, true));
                }
                events.push(e);
            }
        }
        if page.next_page_token.is_empty() {
            return Ok((events, false));
        }
        if read >= SCAN_ENTRIES {
            return Ok((events, true));
        }
    }
}

fn render(session: &Session, client: &str, from: &str, to: &str, result: Option<Result<Compared, String>>) -> String {
    let mut body = format!(
        r#"<h1>What changed</h1><p>Client <code>{}</code>: the record between two points — log positions or recorded times (the record as it stood), or clinical dates (what had occurred by the end of each day, as known now).</p><form method="get" action="/diff" class="filters" id="diff-form"><label>From <input id="diff-from" name="from" value="{}" placeholder="40, 2026-11-21T09:30:00Z or 2026-11-21"></label><label>To <input id="diff-to" name="to" value="{}" placeholder="58, or now: leave the episode's head"></label><button id="compare" type="submit">Compare</button></form>"#,
        esc(client),
        esc(from),
        esc(to)
    );
    match result {
        None => {
            body.push_str(r#"<p class="muted">Give two points; the episode page shows the current log position.</p>"#)
        }
        Some(Err(message)) => body.push_str(&notice("error", &message)),
        Some(Ok(compared)) => body.push_str(&compared_html(&compared)),
    }
    frame("What changed", Some(session), &body)
}

fn point(p: &(AsOf, u64)) -> String {
    match p.0 {
        AsOf::OccurredBy(date) => format!("clinical date {date} (everything that had occurred by its end)"),
        AsOf::Position(_) => format!("log position {}", p.1),
        AsOf::RecordedAt(_) => format!("{} (log position {})", p.0, p.1),
    }
}

fn compared_html(c: &Compared) -> String {
    let count = |kind: ChangeKind| c.changes.iter().filter(|x| x.kind == kind).count();
    let kinds = [ChangeKind::Added, ChangeKind::Amended, ChangeKind::Voided, ChangeKind::Redacted, ChangeKind::Removed];
    let summary: Vec<String> = kinds.iter().map(|k| format!("{} {}", count(*k), k.as_str())).collect();
    let mut out = format!(
        r#"<section id="diff-summary"><p>From <strong>{}</strong> to <strong>{}</strong>: {} events; {}.</p></section>"#,
        esc(&point(&c.from)),
        esc(&point(&c.to)),
        c.events.len(),
        summary.join(", ")
    );
    out.push_str(r#"<section id="diff-events"><h2>Events in between: who, what, why</h2>"#);
    if c.events.is_empty() {
        out.push_str(r#"<p class="muted">None.</p>"#);
    } else {
        out.push_str(r#"<div class="table-wrap"><table><thead><tr><th>pos</th><th>event</th><th>who</th><th>clinical time</th><th>recorded</th><th>why</th></tr></thead><tbody>"#);
        for e in &c.events {
            let _ = write!(
                out,
                r#"<tr data-type="{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                esc(&e.event_type),
                e.position,
                esc(&show::event(&e.event_type)),
                esc(&show::actor(&e.actor_name, &e.actor_role, &e.actor_id)),
                esc(&show::time(&e.occurred_at)),
                esc(&show::time(&e.recorded_at)),
                esc(&e.reason),
            );
        }
        out.push_str("</tbody></table></div>");
    }
    if c.cut {
        out.push_str(&notice(
            "warn",
            "More events than this page lists: narrow the points, or use `carelog audit diff`.",
        ));
    }
    out.push_str(r#"</section><section id="diff-changes"><h2>Changes to the record</h2>"#);
    if c.changes.is_empty() {
        out.push_str(r#"<p class="muted">The record is the same at both points.</p>"#);
    } else {
        out.push_str(r#"<div class="table-wrap"><table><thead><tr><th>change</th><th>field</th><th>before</th><th>after</th></tr></thead><tbody>"#);
        for change in &c.changes {
            let kind = change.kind.as_str();
            let _ = write!(
                out,
                r#"<tr class="change-{kind}"><td><span class="badge {kind}">{kind}</span></td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>"#,
                esc(&change.path),
                esc(change.before.as_deref().unwrap_or("")),
                esc(change.after.as_deref().unwrap_or("")),
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_both_recorded_or_both_clinical_and_each_names_its_field() {
        assert!(matches!(points("40", "2026-11-21T09:30:00Z"), Ok((AsOf::Position(40), AsOf::RecordedAt(_)))));
        assert!(matches!(points("2026-11-01", "2026-11-21"), Ok((AsOf::OccurredBy(_), AsOf::OccurredBy(_)))));
        assert!(points("40", "2026-11-21").unwrap_err().starts_with("from and to:"));
        assert!(points("last week", "41").unwrap_err().starts_with("from:"));
        assert!(points("40", "99999999999999999999999").unwrap_err().starts_with("to:"));
        assert!(points("40", "").unwrap_err().starts_with("to:"));
    }
}
