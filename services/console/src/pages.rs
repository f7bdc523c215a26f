//! The smaller pages: sign-in, find a client, ledger, caseload, and the error page. Pure renderers.

use std::fmt::Write;

use carelog_auth::policy::{self, Access};
use carelog_proto::v1 as proto;

use crate::html::{esc, form_open, money, notice, open_client_button, page};
use crate::session::Session;
use crate::show::timestamp;

pub fn sign_in(message: Option<&str>) -> String {
    let mut body = String::from(r#"<section class="signin"><h1>Sign in</h1>"#);
    if let Some(message) = message {
        body.push_str(&notice("error", message));
    }
    body.push_str(
        r#"<form method="post" action="/signin"><label for="token">Bearer token</label><textarea id="token" name="token" rows="5" cols="70" autocomplete="off" spellcheck="false" required></textarea><button id="signin" type="submit">Sign in</button></form><p class="muted">For local use: <code>carelog token --role auditor</code> prints one (with <code>CARELOG_AUTH_SECRET</code> set), and <code>carelog demo --http 127.0.0.1:8080</code> prints ready tokens. The console keeps it server-side; your browser holds only an HttpOnly session cookie.</p></section>"#,
    );
    page("Sign in", None, &body)
}

pub fn home(session: &Session, clients: Option<Result<Vec<proto::AuditEntry>, String>>, flash: Option<&str>) -> String {
    let mut body = String::from(r#"<section><h1>Find a client</h1>"#);
    if let Some(message) = flash {
        body.push_str(&notice("error", message));
    }
    let _ = write!(
        body,
        r#"{}<label for="client-id-input">Client id</label> <input id="client-id-input" name="client_id" size="40" placeholder="01a2…" autocomplete="off" required> <button id="open-client" type="submit">Open record</button></form></section>"#,
        form_open("/client", session, "find")
    );
    if matches!(policy::access(crate::search::RPC, session.who.role), Access::Granted(_)) {
        body.push_str(&crate::search::form(session));
    }
    match clients {
        None => {}
        Some(Err(message)) => body.push_str(&notice("error", &message)),
        Some(Ok(entries)) => {
            body.push_str(r#"<section id="clients"><h2>Clients registered, newest first</h2><table><thead><tr><th>client</th><th>registered</th><th>by</th><th></th></tr></thead><tbody>"#);
            for e in entries.iter().rev() {
                let _ = write!(
                    body,
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&e.client_id),
                    esc(&e.recorded_at.as_ref().map(timestamp).unwrap_or_default()),
                    esc(&crate::show::actor(&e.actor_name, &e.actor_role, &e.actor_id)),
                    open_client_button(session, &e.client_id)
                );
            }
            body.push_str("</tbody></table></section>");
        }
    }
    page("Find a client", Some(session), &body)
}

pub fn ledger(session: &Session, ledgers: &[Result<proto::LedgerReply, String>]) -> String {
    let mut body = String::from("<h1>Ledger</h1>");
    if ledgers.is_empty() {
        body.push_str(r#"<p class="muted">This client has no billing account (open the client's episode first).</p>"#);
    }
    for ledger in ledgers {
        match ledger {
            Err(message) => body.push_str(&notice("error", message)),
            Ok(reply) => {
                let _ = write!(
                    body,
                    r#"<section class="ledger"><h2>Account <code>{}</code></h2><p class="balance">Balance <strong id="balance">{}</strong> (log position {})</p>"#,
                    esc(&reply.account_id),
                    money(reply.balance_cents),
                    reply.position
                );
                body.push_str(&crate::ledger::render(&reply.ledger.clone().unwrap_or_default(), &reply.withheld));
                body.push_str("</section>");
            }
        }
    }
    page("Ledger", Some(session), &body)
}

pub fn caseload(
    session: &Session,
    clinician: Option<&str>,
    reply: Option<Result<proto::CaseloadReply, String>>,
) -> String {
    let mut body = String::from("<h1>Caseload</h1>");
    let _ = write!(
        body,
        r#"{}<label for="clinician-input">Clinician id</label> <input id="clinician-input" name="clinician_id" size="40" value="{}"> <button type="submit">Show caseload</button></form>"#,
        form_open("/caseload", session, "find"),
        esc(clinician.unwrap_or(""))
    );
    match reply {
        None => body
            .push_str(r#"<p class="muted">Choose a clinician (or open a client: their clinician is the default).</p>"#),
        Some(Err(message)) => body.push_str(&notice("error", &message)),
        Some(Ok(reply)) => {
            let _ = write!(
                body,
                r#"<section id="caseload"><p>Clinician <code>{}</code>: {} clients, <strong id="alert-count">{}</strong> alerts (unsigned notes, reviews due, risk flags, missing Good Faith Estimates, dispute eligibility).</p>"#,
                esc(&reply.clinician_id),
                reply.client_ids.len(),
                reply.alert_count
            );
            if !reply.alerts.is_empty() {
                body.push_str(&crate::ledger::alerts(&reply.alerts));
            }
            body.push_str(r#"<h2>Clients</h2><table><tbody>"#);
            for client in &reply.client_ids {
                let _ = write!(
                    body,
                    "<tr><td><code>{}</code></td><td>{}</td></tr>",
                    esc(client),
                    open_client_button(session, client)
                );
            }
            body.push_str("</tbody></table></section>");
        }
    }
    page("Caseload", Some(session), &body)
}

pub fn error(session: Option<&Session>, title: &str, message: &str) -> String {
    let body = format!(
        r#"<section class="error-page"><h1 id="error-title">{}</h1>{}<p><a href="/">Find a client</a></p></section>"#,
        esc(title),
        notice("error", message)
    );
    page(title, session, &body)
}
