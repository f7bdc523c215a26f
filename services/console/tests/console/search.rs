//! The console's client search: a POST form on the home page (criteria are PHI: never in a URL),
//! the matches with a button to open each, errors naming the field, the search logged as a read,
//! and no form for a role the policy refuses.

use std::time::Duration;

use carelog_auth::Role;

use crate::support::{Http, Stack, token};

const HOUR: Duration = Duration::from_secs(3600);

async fn an_auditor_finds_the_client_by_name_and_opens_the_record(stack: &Stack) {
    let mut http = Http::new(stack);
    let (subject, auditor) = token(Role::Auditor, HOUR);
    http.sign_in(&auditor).await;
    let home = http.get("/").await;
    assert!(home.body.contains(r#"id="search-clients""#), "the form is offered: {}", home.body);
    let client = stack.outcome.client_id.clone();
    let reads = stack.reads_by(subject).await;
    let csrf = http.csrf.clone();

    let found = http.post("/search", &[("csrf", &csrf), ("name", "REYES alexandra")]).await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert!(found.body.contains(&format!("<code>{client}</code>")), "{}", found.body);
    assert_eq!(stack.reads_by(subject).await, reads + 1, "the client found is logged as read by the auditor");
    let opened = http.open_client(&client).await;
    assert!(opened.status == 200 || opened.status == 303, "{}", opened.status);

    let none = http.post("/search", &[("csrf", &csrf), ("name", "Nobody Here")]).await;
    assert!(none.body.contains(r#"id="no-matches""#), "{}", none.body);
    let bad = http.post("/search", &[("csrf", &csrf), ("date_of_birth", "1990-5-1")]).await;
    assert!(bad.body.contains("date_of_birth"), "the message names the field: {}", bad.body);
    let empty = http.post("/search", &[("csrf", &csrf)]).await;
    assert!(empty.body.contains("give a name, a date_of_birth or a member_id"), "{}", empty.body);
    let forged = http.post("/search", &[("name", "alexandra")]).await;
    assert_eq!(forged.status, 403, "no CSRF token, no search");
}

async fn a_role_the_policy_refuses_gets_no_form_and_no_search(stack: &Stack) {
    let mut http = Http::new(stack);
    let (subject, connector) = token(Role::Connector, HOUR);
    http.sign_in(&connector).await;
    let home = http.get("/").await;
    assert!(!home.body.contains(r#"id="search-clients""#), "{}", home.body);
    let csrf = http.csrf.clone();
    let refused = http.post("/search", &[("csrf", &csrf), ("name", "alexandra")]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(stack.entries_by(subject).await, 0, "refused before any call: no denial logged");
}

crate::on_both_backends!(
    an_auditor_finds_the_client_by_name_and_opens_the_record,
    a_role_the_policy_refuses_gets_no_form_and_no_search,
);
