//! Signing in and out: a pasted bearer token is read, tried once against the records service (so a
//! token the server refuses, or a role that cannot read records, is turned away at the door rather
//! than on the first page), and exchanged for a server-side session behind a cookie; signing out
//! ends that session. Changes when the way in changes, not when a page does.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use tonic::Code;

use crate::pages;
use crate::routes::{Shared, forbidden_post, signed_in_post, to_sign_in};
use crate::security;
use crate::session::{self, Session, TokenProblem};

pub async fn sign_in_page(Query(query): Query<HashMap<String, String>>) -> Response {
    let expired = query.contains_key("expired");
    let message = expired.then_some("Your session has ended or the token expired; sign in again.");
    Html(pages::sign_in(message)).into_response()
}

#[derive(Debug, Deserialize)]
pub struct SignIn {
    #[serde(default)]
    token: String,
}

pub async fn sign_in(State(console): Shared, headers: HeaderMap, Form(form): Form<SignIn>) -> Response {
    if !security::same_origin(&headers) {
        return forbidden_post();
    }
    let refuse = |message: &str| (StatusCode::UNAUTHORIZED, Html(pages::sign_in(Some(message)))).into_response();
    let token = form.token.trim().trim_start_matches("Bearer ").trim().to_owned();
    let who = match session::read_token(&token, session::now()) {
        Ok(who) => who,
        Err(problem @ (TokenProblem::Malformed | TokenProblem::Expired | TokenProblem::Unusable(_))) => {
            return refuse(&problem.to_string());
        }
    };
    let candidate = Session::new(token, who.clone());
    match console.api.as_user(&candidate).probe(who.clinician, who.subject).await {
        Ok(true) => {}
        Ok(false) => return refuse(&format!("token: the {} role cannot read records", who.role)),
        Err(status) if status.code() == Code::Unauthenticated => {
            return refuse(&format!("token: the server refused it ({})", status.message()));
        }
        Err(status) => return refuse(&format!("The records service is unreachable: {}", status.message())),
    }
    let now = session::now();
    let max_age = who.expires_at.saturating_sub(now);
    let id = console.sessions.create(candidate, now);
    tracing::info!(role = %who.role, subject = %who.subject, "console sign-in");
    ([(header::SET_COOKIE, security::session_cookie(&id, max_age, &headers))], Redirect::to("/")).into_response()
}

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn sign_out(State(console): Shared, headers: HeaderMap, Form(form): Form<CsrfOnly>) -> Response {
    let (id, _) = match signed_in_post(&console, &headers, &form.csrf) {
        Ok(found) => found,
        Err(turned_away) => return turned_away.into_response(),
    };
    console.sessions.remove(&id);
    to_sign_in(false)
}
