//! Finding a client by name, date of birth or member id (`SearchClients`, a keyed blind index).
//! The criteria are PHI, so they travel in a POST body, never in a URL, and the matches are shown
//! on the answer page with a button that opens each one (by POST, as every client is opened).

use std::fmt::Write;

use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use carelog_proto::v1 as proto;
use serde::Deserialize;
use tonic::Code;

use crate::html::{esc, form_open, notice, open_client_button, page};
use crate::routes::{Shared, failure, refused, signed_in_post};
use crate::session::Session;

/// The RPC behind the page: a role it denies is not offered the form.
pub const RPC: &str = "RecordsService/SearchClients";

#[derive(Debug, Deserialize)]
pub struct Search {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    date_of_birth: String,
    #[serde(default)]
    member_id: String,
}

/// The search form, for the home page.
pub fn form(session: &Session) -> String {
    format!(
        r#"<section id="search"><h2>Search by name, date of birth or member id</h2>{}<label for="search-name">Name</label> <input id="search-name" name="name" size="28" autocomplete="off"> <label for="search-born">Date of birth</label> <input id="search-born" name="date_of_birth" type="date"> <label for="search-member">Member id</label> <input id="search-member" name="member_id" size="16" autocomplete="off"> <button id="search-clients" type="submit">Search</button></form><p class="muted">Every word of the name must match (case and accents ignored); each client found is logged as read by you.</p></section>"#,
        form_open("/search", session, "find")
    )
}

pub async fn search(State(console): Shared, headers: HeaderMap, Form(form): Form<Search>) -> Response {
    let (id, session) = match signed_in_post(&console, &headers, &form.csrf) {
        Ok(found) => found,
        Err(turned_away) => return turned_away.into_response(),
    };
    let mut api = console.api.as_user(&session);
    if !api.may(RPC) {
        return refused(&session, "Client search is not open to this role.");
    }
    let request = proto::SearchClientsRequest {
        name: form.name,
        date_of_birth: form.date_of_birth,
        member_id: form.member_id,
        page_size: MATCHES_SHOWN,
        page_token: String::new(),
    };
    match api.search_clients(request).await {
        Err(status) if status.code() == Code::Unauthenticated => failure(&console, &id, &session, &status),
        Err(status) => Html(render(&session, Err(status.message().to_owned()))).into_response(),
        Ok(reply) => Html(render(&session, Ok(reply))).into_response(),
    }
}

/// Matches shown on one page: a search that finds more asks to be narrowed.
const MATCHES_SHOWN: u32 = 50;

fn render(session: &Session, found: Result<proto::SearchClientsReply, String>) -> String {
    let mut body = String::from("<h1>Clients found</h1>");
    match found {
        Err(message) => body.push_str(&notice("error", &message)),
        Ok(reply) if reply.client_ids.is_empty() => {
            body.push_str(r#"<p class="muted" id="no-matches">No client matches every criterion.</p>"#);
        }
        Ok(reply) => {
            body.push_str(r#"<div class="table-wrap"><table id="matches"><thead><tr><th>client</th><th></th></tr></thead><tbody>"#);
            for client in &reply.client_ids {
                let _ = write!(
                    body,
                    "<tr><td><code>{}</code></td><td>{}</td></tr>",
                    esc(client),
                    open_client_button(session, client)
                );
            }
            body.push_str("</tbody></table></div>");
            if !reply.next_page_token.is_empty() {
                body.push_str(&notice("info", "More clients match: add a criterion to narrow the search."));
            }
        }
    }
    body.push_str(&form(session));
    page("Clients found", Some(session), &body)
}
