//! The timeline page: the open client's audit trail, filtered (event type, actor, recorded and
//! clinical dates) and paged with the API's own page tokens. A page holds at most `per` entries
//! and reads at most `SCAN_PAGES` pages of the API to fill it, so no request ever holds more than
//! a bounded slice of a long history.

use std::fmt::Write;
use std::sync::OnceLock;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use carelog_auth::access::Outcome;
use carelog_proto::v1 as proto;
use tonic::{Code, Status};

use crate::api::UserApi;
use crate::filters::{self, Filters, PAGE_SIZES, Raw};
use crate::html::{esc, notice, page as frame};
use crate::routes::{Shared, failure, refused, with_client};
use crate::session::Session;
use crate::show;

/// API pages read to fill one console page when the console filters (clinical dates, names).
const SCAN_PAGES: usize = 10;

/// Every event type of the log, for the filter's choices and to refuse any other.
pub fn event_types() -> &'static [String] {
    static TYPES: OnceLock<Vec<String>> = OnceLock::new();
    TYPES.get_or_init(|| {
        let mut types = carelog_proto::event_types();
        types.sort();
        types
    })
}

/// One page of matching entries, and where the next one starts (None: this was the last).
#[derive(Debug, Default)]
pub struct Found {
    pub entries: Vec<proto::AuditEntry>,
    pub next: Option<u64>,
    /// Entries read from the API for this page (more than shown when the console filtered).
    pub scanned: usize,
}

/// Fills one page: asks the API for what it can filter, keeps what the console must filter itself.
pub async fn find(api: &mut UserApi, client: &str, filters: &Filters) -> Result<Found, Status> {
    let mut found = Found::default();
    let mut after = filters.after;
    for _ in 0..SCAN_PAGES {
        let reply = api.audit_page(filters.request(client, after, filters.per)).await?;
        found.scanned += reply.entries.len();
        for entry in reply.entries {
            after = entry.position;
            if filters.keeps(&entry) {
                found.entries.push(entry);
                if found.entries.len() == filters.per as usize {
                    found.next = Some(after);
                    return Ok(found);
                }
            }
        }
        if reply.next_page_token.is_empty() {
            return Ok(found);
        }
    }
    // Read as much as one page may: show what matched so far and carry on from there.
    found.next = Some(after);
    Ok(found)
}

pub async fn page(State(console): Shared, headers: HeaderMap, Query(raw): Query<Raw>) -> Response {
    let (id, session, client) = match with_client(&console, &headers) {
        Ok(found) => found,
        Err(out) => return *out,
    };
    let mut api = console.api.as_user(&session);
    if !api.may("RecordsService/ListAuditTrail") {
        return refused(&session, "The audit trail is for the treating clinician, supervisors and auditors.");
    }
    let filters = match filters::parse(&raw, event_types()) {
        Ok(filters) => filters,
        Err(problems) => {
            let body = render(&session, &client, &raw, &Filters::default(), Err(problems));
            return (StatusCode::BAD_REQUEST, Html(body)).into_response();
        }
    };
    match find(&mut api, &client, &filters).await {
        Err(status) if status.code() == Code::Unauthenticated => failure(&console, &id, &session, &status),
        Err(status) => {
            let problems = vec![status.message().to_owned()];
            let code =
                if status.code() == Code::InvalidArgument { StatusCode::BAD_REQUEST } else { StatusCode::BAD_GATEWAY };
            (code, Html(render(&session, &client, &raw, &filters, Err(problems)))).into_response()
        }
        Ok(found) => Html(render(&session, &client, &raw, &filters, Ok(found))).into_response(),
    }
}

fn render(session: &Session, client: &str, raw: &Raw, filters: &Filters, found: Result<Found, Vec<String>>) -> String {
    let mut body = format!(
        r#"<h1>Timeline</h1><p>Client <code>{}</code>: every event and every read of the record, oldest first. Filter by event type, actor (a name, role or id), and recorded or clinical dates.</p>"#,
        esc(client)
    );
    body.push_str(&form(raw, filters));
    match found {
        Err(problems) => {
            for problem in problems {
                body.push_str(&notice("error", &problem));
            }
        }
        Ok(found) => {
            let _ = write!(
                body,
                r#"<p id="page-info">{} entries shown{}{}.</p>"#,
                found.entries.len(),
                if filters.after > 0 { format!(" after log position {}", filters.after) } else { String::new() },
                if found.scanned > found.entries.len() {
                    format!(" ({} read to find them)", found.scanned)
                } else {
                    String::new()
                },
            );
            if found.entries.is_empty() {
                body.push_str(r#"<p class="muted" id="no-entries">No entries match.</p>"#);
            } else {
                body.push_str(&table(&found.entries, u64::MAX));
            }
            body.push_str(r#"<nav class="pager" aria-label="pages">"#);
            if filters.after > 0 {
                let _ = write!(
                    body,
                    r#"<a id="first-page" href="/timeline?{}">« First page</a>"#,
                    esc(&filters.query(raw, 0))
                );
            }
            if let Some(next) = found.next {
                let _ = write!(
                    body,
                    r#"<a id="next-page" href="/timeline?{}">Next page »</a>"#,
                    esc(&filters.query(raw, next))
                );
            }
            body.push_str("</nav>");
        }
    }
    frame("Timeline", Some(session), &body)
}

fn form(raw: &Raw, filters: &Filters) -> String {
    let value = |k: &str| esc(raw.get(k).map_or("", |v| v.trim()));
    let mut types = String::from(r#"<option value="">any</option>"#);
    for t in event_types() {
        let selected = if filters.event_type.as_deref() == Some(t) { " selected" } else { "" };
        let _ = write!(types, r#"<option value="{}"{selected}>{}</option>"#, esc(t), esc(&show::event(t)));
    }
    let mut sizes = String::new();
    for n in PAGE_SIZES {
        let selected = if n == filters.per { " selected" } else { "" };
        let _ = write!(sizes, r#"<option{selected}>{n}</option>"#);
    }
    let date = |name: &str, label: &str| {
        format!(r#"<label>{label} <input type="date" id="{name}" name="{name}" value="{}"></label>"#, value(name))
    };
    format!(
        r#"<form method="get" action="/timeline" class="filters" id="filters"><label>Event type <select id="type" name="type">{types}</select></label><label>Actor <input id="actor" name="actor" value="{}" placeholder="name, role or id" maxlength="100"></label><fieldset><legend>Recorded</legend>{}{}</fieldset><fieldset><legend>Clinical (occurred)</legend>{}{}</fieldset><label>Per page <select id="per" name="per">{sizes}</select></label><button id="apply-filters" type="submit">Apply</button> <a href="/timeline">Clear</a></form>"#,
        value("actor"),
        date("recorded_from", "from"),
        date("recorded_to", "to"),
        date("clinical_from", "from"),
        date("clinical_to", "to"),
    )
}

/// The timeline table (shared with the episode page), up to log position `upto`.
pub fn table(entries: &[proto::AuditEntry], upto: u64) -> String {
    let mut out = String::from(
        r#"<div class="table-wrap"><table class="timeline"><thead><tr><th>pos</th><th>event</th><th>actor</th><th>clinical time</th><th>recorded</th><th>reason</th><th>correlation</th></tr></thead><tbody>"#,
    );
    for e in entries.iter().filter(|e| e.position <= upto) {
        let class = match e.event_type.as_str() {
            "ConsentRevoked" => "revoked",
            "NoteAddendumAppended" | "AmendmentDecided" => "amended",
            "RecordAccessed" => "access",
            _ => "",
        };
        // Note events link to their note on the episode page; a read says which RPC, why, and its outcome.
        let mut event = match e.stream.strip_prefix("session-") {
            Some(id) => format!(r##"<a href="/episode#session-{}">{}</a>"##, esc(id), esc(&show::event(&e.event_type))),
            None => esc(&show::event(&e.event_type)),
        };
        event.push_str(&access(e));
        let _ = write!(
            out,
            r#"<tr class="{class}" data-type="{}"><td>{}</td><td>{event}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>"#,
            esc(&e.event_type),
            e.position,
            esc(&show::actor(&e.actor_name, &e.actor_role, &e.actor_id)),
            esc(&show::time(&e.occurred_at)),
            esc(&show::time(&e.recorded_at)),
            esc(&e.reason),
            esc(show::short_id(&e.correlation_id)),
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

/// What a read was: the RPC, the purpose of use declared, and whether it was allowed (empty on
/// entries that are not reads).
pub fn access(e: &proto::AuditEntry) -> String {
    if e.rpc.is_empty() && e.purpose_of_use.is_empty() && e.outcome.is_empty() {
        return String::new();
    }
    let outcome = match Outcome::parse(&e.outcome) {
        Some(Outcome::Denied) => r#"<span class="badge bad">denied</span>"#.to_owned(),
        _ => esc(&e.outcome),
    };
    let purpose = if e.purpose_of_use.is_empty() { "no purpose given".to_owned() } else { esc(&e.purpose_of_use) };
    format!(r#"<br><span class="access-detail"><code>{}</code> · purpose {purpose} · {outcome}</span>"#, esc(&e.rpc))
}
