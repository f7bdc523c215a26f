//! The accounting of disclosures page (HIPAA §164.528): the open client's disclosures as
//! `ListDisclosures` reports them, in the columns the rule asks for.

use std::fmt::Write;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use carelog_proto::v1 as proto;
use tonic::Code;

use crate::html::{esc, notice, page as frame};
use crate::routes::{Shared, failure, refused, with_client};
use crate::session::Session;
use crate::show::timestamp;

pub async fn page(State(console): Shared, headers: HeaderMap) -> Response {
    let (id, session, client) = match with_client(&console, &headers) {
        Ok(found) => found,
        Err(out) => return *out,
    };
    let mut api = console.api.as_user(&session);
    if !api.may("RecordsService/ListDisclosures") {
        return refused(&session, "The accounting of disclosures is for auditors.");
    }
    match api.disclosures(&client).await {
        Err(status) if status.code() == Code::Unauthenticated => failure(&console, &id, &session, &status),
        found => Html(render(&session, &client, found.map_err(|s| s.message().to_owned()))).into_response(),
    }
}

fn render(session: &Session, client: &str, found: Result<Vec<proto::Disclosure>, String>) -> String {
    let mut body = format!(
        r#"<h1>Accounting of disclosures</h1><p>Client <code>{}</code>: every read outside treatment, payment and operations, and every export or connector read (HIPAA §164.528). <strong>Owed</strong> marks those the client is entitled to in an accounting.</p>"#,
        esc(client)
    );
    match found {
        Err(message) => body.push_str(&notice("error", &message)),
        Ok(list) if list.is_empty() => body.push_str(r#"<p class="muted" id="no-disclosures">No disclosures.</p>"#),
        Ok(list) => {
            body.push_str(r#"<div class="table-wrap"><table id="disclosures"><thead><tr><th>date</th><th>recipient</th><th>purpose</th><th>what was disclosed</th><th>channel</th><th>owed</th></tr></thead><tbody>"#);
            for d in &list {
                let _ = write!(
                    body,
                    r#"<tr class="{}"><td>{}</td><td>{}</td><td>{} ({})</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>"#,
                    if d.accountable { "accountable" } else { "" },
                    esc(&d.disclosed_at.as_ref().map(timestamp).unwrap_or_default()),
                    esc(&crate::show::actor("", &d.recipient_role, &d.recipient_id)),
                    esc(&d.purpose),
                    esc(&d.purpose_of_use),
                    esc(&d.description),
                    esc(&d.channel),
                    if d.accountable { "yes" } else { "no" },
                );
            }
            body.push_str("</tbody></table></div>");
        }
    }
    frame("Disclosures", Some(session), &body)
}
