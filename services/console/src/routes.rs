//! HTTP handlers: each reads the session, calls the API as the signed-in user, and renders.
//! The guards every page passes (signed in, a client open, an API failure as a page) live here;
//! signing in and out is in `signin`.

use std::sync::Arc;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use carelog_auth::policy::{self, Access, Scope};
use carelog_proto::v1 as proto;
use serde::Deserialize;
use tonic::{Code, Status};

use crate::api::Api;
use crate::episode::{self, EpisodePage, Integrity, Trail};
use crate::pages;
use crate::security;
use crate::session::{self, Session, Sessions};

#[derive(Debug)]
pub struct Console {
    pub api: Api,
    pub sessions: Sessions,
}

pub(crate) type Shared = State<Arc<Console>>;

/// Why there is no session: never had one, or it ended (the token expired).
#[derive(Debug)]
pub(crate) struct SignedOut {
    expired: bool,
}

impl IntoResponse for SignedOut {
    fn into_response(self) -> Response {
        to_sign_in(self.expired)
    }
}

/// The signed-in session, or the way back to sign-in.
pub(crate) fn signed_in(console: &Console, headers: &HeaderMap) -> Result<(String, Session), SignedOut> {
    let id = headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).and_then(session::cookie_value);
    match id.and_then(|id| console.sessions.get(id, session::now()).map(|s| (id.to_owned(), s))) {
        Some(found) => Ok(found),
        // A cookie naming no live session: it expired.
        None => Err(SignedOut { expired: id.is_some() }),
    }
}

/// Why a form post is turned away: no session (back to sign-in), or not from this origin with
/// the session's CSRF token (forbidden).
#[derive(Debug)]
pub(crate) enum TurnedAway {
    SignedOut(SignedOut),
    Forbidden,
}

impl IntoResponse for TurnedAway {
    fn into_response(self) -> Response {
        match self {
            TurnedAway::SignedOut(out) => out.into_response(),
            TurnedAway::Forbidden => forbidden_post(),
        }
    }
}

/// The signed-in session of a form post from this origin carrying the session's CSRF token.
pub(crate) fn signed_in_post(
    console: &Console,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<(String, Session), TurnedAway> {
    let (id, session) = signed_in(console, headers).map_err(TurnedAway::SignedOut)?;
    if !security::post_allowed(headers, &session, csrf) {
        return Err(TurnedAway::Forbidden);
    }
    Ok((id, session))
}

pub(crate) fn to_sign_in(expired: bool) -> Response {
    let target = if expired { "/signin?expired=1" } else { "/signin" };
    ([(header::SET_COOKIE, security::clear_cookie())], Redirect::to(target)).into_response()
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// An API failure as a page: an expired or revoked token sends the user back to sign-in.
pub(crate) fn failure(console: &Console, id: &str, session: &Session, status: &Status) -> Response {
    let (code, title) = match status.code() {
        Code::Unauthenticated => {
            console.sessions.remove(id);
            return to_sign_in(true);
        }
        Code::NotFound => (StatusCode::NOT_FOUND, "Not found"),
        Code::PermissionDenied => (StatusCode::FORBIDDEN, "Not permitted for your role"),
        Code::InvalidArgument => (StatusCode::BAD_REQUEST, "Not understood"),
        Code::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "The records service is unreachable"),
        _ => (StatusCode::BAD_GATEWAY, "The records service failed"),
    };
    let message = if status.code() == Code::NotFound {
        format!("No such record: {}", status.message())
    } else {
        status.message().to_owned()
    };
    (code, Html(pages::error(Some(session), title, &message))).into_response()
}

/// A page the role may not read: says so, and reads nothing (no logged denial either).
pub(crate) fn refused(session: &Session, why: &str) -> Response {
    (StatusCode::FORBIDDEN, Html(pages::error(Some(session), "Not permitted for your role", why))).into_response()
}

pub(crate) fn forbidden_post() -> Response {
    (
        StatusCode::FORBIDDEN,
        Html(pages::error(
            None,
            "Refused",
            "This form did not come from this console's own page; reload and try again.",
        )),
    )
        .into_response()
}

pub async fn home(State(console): Shared, headers: HeaderMap) -> Response {
    let (id, session) = match signed_in(&console, &headers) {
        Ok(found) => found,
        Err(out) => return out.into_response(),
    };
    let flash = session.flash.clone();
    console.sessions.update(&id, |s| s.flash = None);
    // The practice-wide list only for roles that may read any client's trail (no logged denials).
    let list = policy::access("RecordsService/ListAuditTrail", session.who.role) == Access::Granted(Scope::AnyClient);
    let clients = if list {
        match console.api.as_user(&session).recent_clients().await {
            Err(status) if status.code() == Code::Unauthenticated => return failure(&console, &id, &session, &status),
            other => Some(other.map_err(|s| s.message().to_owned())),
        }
    } else {
        None
    };
    Html(pages::home(&session, clients, flash.as_deref())).into_response()
}

#[derive(Debug, Deserialize)]
pub struct OpenClient {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    client_id: String,
}

pub async fn open_client(State(console): Shared, headers: HeaderMap, Form(form): Form<OpenClient>) -> Response {
    let (id, _) = match signed_in_post(&console, &headers, &form.csrf) {
        Ok(found) => found,
        Err(turned_away) => return turned_away.into_response(),
    };
    let client = form.client_id.trim().to_owned();
    if uuid::Uuid::parse_str(&client).is_err() {
        console.sessions.update(&id, |s| s.flash = Some("client id: enter the client's id (a UUID)".into()));
        return see_other("/");
    }
    console.sessions.update(&id, |s| {
        s.client = Some(client);
        s.as_of = None;
        s.accounts.clear();
        s.clinician_of_client = None;
    });
    see_other("/episode")
}

/// The signed-in session and its open client, for the pages about one client; otherwise where
/// to go instead (sign-in, or the search with "Choose a client first.").
pub(crate) fn with_client(console: &Console, headers: &HeaderMap) -> Result<(String, Session, String), Box<Response>> {
    let (id, session) = signed_in(console, headers).map_err(|out| Box::new(out.into_response()))?;
    let Some(client) = session.client.clone() else {
        console.sessions.update(&id, |s| s.flash = Some("Choose a client first.".into()));
        return Err(Box::new(see_other("/")));
    };
    Ok((id, session, client))
}

pub async fn episode(State(console): Shared, headers: HeaderMap) -> Response {
    let (id, session, client) = match with_client(&console, &headers) {
        Ok(found) => found,
        Err(out) => return *out,
    };
    let mut api = console.api.as_user(&session);
    let reply = match api.episode(&client, session.as_of).await {
        Ok(reply) => reply,
        // A point the log cannot show (beyond its head, or before the client existed): say why, show now.
        Err(status) if session.as_of.is_some() && matches!(status.code(), Code::InvalidArgument | Code::NotFound) => {
            let point = session.as_of.map(|a| a.to_string()).unwrap_or_default();
            console.sessions.update(&id, |s| {
                s.as_of = None;
                s.flash = Some(format!("as of {point}: {}", status.message()));
            });
            return see_other("/episode");
        }
        Err(status) => return failure(&console, &id, &session, &status),
    };
    let view = reply.view.clone().unwrap_or_default();
    let integrity = if api.may("RecordsService/Verify") {
        let verify = api.verify(&client).await.map_err(|s| s.message().to_owned());
        let checkpoint = if api.may("ProofService/GetCheckpoint") {
            api.checkpoint().await.map_err(|s| s.message().to_owned())
        } else {
            Err("not available to your role".to_owned())
        };
        Integrity::Checked { verify, checkpoint }
    } else {
        Integrity::NotForRole
    };
    let trail = if api.may("RecordsService/ListAuditTrail") {
        let first = proto::ListAuditTrailRequest { client_id: client.clone(), page_size: 50, ..Default::default() };
        match api.audit_page(first).await {
            Ok(page) => Trail::Entries { entries: page.entries, more: !page.next_page_token.is_empty() },
            Err(status) => Trail::Failed(status.message().to_owned()),
        }
    } else {
        Trail::NotForRole
    };
    let billing = view.billing.clone().unwrap_or_default();
    let accounts: Vec<String> = billing.accounts.into_iter().filter(|a| uuid::Uuid::parse_str(a).is_ok()).collect();
    let clinician = view.episodes.last().map(|e| e.clinician_id.clone()).filter(|c| !c.is_empty());
    let head = if session.as_of.is_none() { reply.position } else { session.head };
    console.sessions.update(&id, |s| {
        s.flash = None;
        s.head = head;
        s.accounts = accounts;
        s.clinician_of_client = clinician;
    });
    let session = Session { head, ..session };
    let page = EpisodePage {
        session: &session,
        reply: &reply,
        view: &view,
        withheld: &reply.withheld,
        as_of: session.as_of,
        integrity,
        trail,
        flash: session.flash.clone(),
    };
    let name = "Episode";
    Html(crate::html::page(name, Some(&session), &episode::render(&page))).into_response()
}

#[derive(Debug, Deserialize)]
pub struct SetAsOf {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    as_of: String,
    #[serde(default)]
    now: Option<String>,
}

pub async fn set_as_of(State(console): Shared, headers: HeaderMap, Form(form): Form<SetAsOf>) -> Response {
    let (id, _) = match signed_in_post(&console, &headers, &form.csrf) {
        Ok(found) => found,
        Err(turned_away) => return turned_away.into_response(),
    };
    let parsed = if form.now.is_some() { Ok(None) } else { crate::asof::parse(&form.as_of) };
    console.sessions.update(&id, |s| match parsed {
        Ok(point) => s.as_of = point,
        Err(message) => s.flash = Some(message),
    });
    see_other("/episode")
}

pub async fn ledger(State(console): Shared, headers: HeaderMap) -> Response {
    let (id, session, _) = match with_client(&console, &headers) {
        Ok(found) => found,
        Err(out) => return *out,
    };
    let mut api = console.api.as_user(&session);
    if !api.may("RecordsService/GetLedger") {
        return refused(&session, "Ledgers are for billers and auditors.");
    }
    let mut ledgers = Vec::new();
    for account in &session.accounts {
        match api.ledger(account).await {
            Err(status) if status.code() == Code::Unauthenticated => return failure(&console, &id, &session, &status),
            other => ledgers.push(other.map_err(|s| s.message().to_owned())),
        }
    }
    Html(pages::ledger(&session, &ledgers)).into_response()
}

pub async fn caseload(State(console): Shared, headers: HeaderMap) -> Response {
    let (id, session) = match signed_in(&console, &headers) {
        Ok(found) => found,
        Err(out) => return out.into_response(),
    };
    let mut api = console.api.as_user(&session);
    if !api.may("RecordsService/GetCaseload") {
        return refused(&session, "Caseloads are for clinicians, supervisors and auditors.");
    }
    // A clinician sees their own; others the one they chose, or the open client's clinician.
    let clinician = match session.who.role {
        carelog_auth::Role::Clinician => Some(session.who.clinician.unwrap_or(session.who.subject).to_string()),
        _ => session.caseload_of.clone().or(session.clinician_of_client.clone()),
    };
    let reply = match &clinician {
        None => None,
        Some(c) => match api.caseload(c).await {
            Err(status) if status.code() == Code::Unauthenticated => return failure(&console, &id, &session, &status),
            other => Some(other.map_err(|s| s.message().to_owned())),
        },
    };
    Html(pages::caseload(&session, clinician.as_deref(), reply)).into_response()
}

#[derive(Debug, Deserialize)]
pub struct ChooseClinician {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    clinician_id: String,
}

pub async fn choose_clinician(
    State(console): Shared,
    headers: HeaderMap,
    Form(form): Form<ChooseClinician>,
) -> Response {
    let (id, _) = match signed_in_post(&console, &headers, &form.csrf) {
        Ok(found) => found,
        Err(turned_away) => return turned_away.into_response(),
    };
    let chosen = form.clinician_id.trim().to_owned();
    console.sessions.update(&id, |s| s.caseload_of = (!chosen.is_empty()).then_some(chosen));
    see_other("/caseload")
}

pub async fn not_found(State(console): Shared, headers: HeaderMap) -> Response {
    let session = signed_in(&console, &headers).ok().map(|(_, s)| s);
    (StatusCode::NOT_FOUND, Html(pages::error(session.as_ref(), "Not found", "There is no such page."))).into_response()
}

pub async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("../static/console.css")).into_response()
}

pub async fn script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], include_str!("../static/console.js")).into_response()
}
