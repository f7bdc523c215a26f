//! The console over plain HTTP, no browser: headers, sign-in and its failures, CSRF, bad input,
//! what each role sees, and that every page view of a record is an audited read.

use std::time::Duration;

use carelog_auth::token::{DEFAULT_AUDIENCE, DEFAULT_ISSUER};
use carelog_auth::{Role, TokenIssuer};
use uuid::Uuid;

use crate::support::{ADDENDUM_TEXT, Http, NOTE_TEXT, Stack, token};

const HOUR: Duration = Duration::from_secs(3600);

async fn pages_carry_strict_security_headers(stack: &Stack) {
    let mut http = Http::new(stack);
    let sign_in = http.get("/signin").await;
    let (_, auditor) = token(Role::Auditor, HOUR);
    http.sign_in(&auditor).await;
    let episode = http.open_client(&stack.outcome.client_id).await;
    assert_eq!(episode.status, 200, "{}", episode.body);
    let css = http.get("/static/console.css").await;
    for reply in [&sign_in, &episode, &css] {
        let csp = reply.header("content-security-policy");
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(reply.header("cache-control"), "no-store");
        assert_eq!(reply.header("x-content-type-options"), "nosniff");
        assert_eq!(reply.header("referrer-policy"), "no-referrer");
    }
    // No inline script or style on a PHI page; assets come from the binary.
    assert!(!episode.body.contains("<script>") && !episode.body.contains("style="), "inline code in the page");
    assert!(css.body.contains("--ink"), "the stylesheet is embedded");
}

async fn signed_out_visitors_are_sent_to_sign_in(stack: &Stack) {
    let mut http = Http::new(stack);
    for path in ["/", "/episode", "/ledger", "/caseload"] {
        let reply = http.get(path).await;
        assert_eq!((reply.status, reply.header("location")), (303, "/signin"), "{path}");
    }
    let reply = http.post("/client", &[("client_id", &stack.outcome.client_id)]).await;
    assert_eq!((reply.status, reply.header("location")), (303, "/signin"));
}

async fn bad_tokens_are_refused_at_sign_in_with_the_reason(stack: &Stack) {
    let mut http = Http::new(stack);
    let garbage = http.post("/signin", &[("token", "hello")]).await;
    assert_eq!(garbage.status, 401);
    assert!(garbage.body.contains("token: paste a Carelog bearer token"), "{}", garbage.body);
    let other = TokenIssuer::hs256(b"another-secret-another-secret-another-secret", DEFAULT_ISSUER, DEFAULT_AUDIENCE)
        .unwrap()
        .mint(Uuid::now_v7(), Role::Auditor, None, HOUR);
    let forged = http.post("/signin", &[("token", &other)]).await;
    assert_eq!(forged.status, 401);
    assert!(forged.body.contains("the server refused it"), "{}", forged.body);
    let (_, expired) = token(Role::Auditor, Duration::ZERO);
    let expired = http.post("/signin", &[("token", &expired)]).await;
    assert!(expired.body.contains("it has expired"), "{}", expired.body);
    let (_, intake) = token(Role::Intake, HOUR);
    let intake = http.post("/signin", &[("token", &intake)]).await;
    assert!(intake.body.contains("the intake role cannot read records"), "{}", intake.body);
    assert_eq!(http.get("/").await.status, 303, "no session was made");
}

async fn an_expired_token_returns_to_sign_in(stack: &Stack) {
    let mut http = Http::new(stack);
    let (_, short) = token(Role::Auditor, Duration::from_secs(2));
    http.sign_in(&short).await;
    assert_eq!(http.open_client(&stack.outcome.client_id).await.status, 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let reply = http.get("/episode").await;
    assert_eq!((reply.status, reply.header("location")), (303, "/signin?expired=1"));
    let page = http.get("/signin?expired=1").await;
    assert!(page.body.contains("sign in again"), "{}", page.body);
}

async fn posts_without_the_csrf_token_or_from_elsewhere_change_nothing(stack: &Stack) {
    let mut http = Http::new(stack);
    let (_, auditor) = token(Role::Auditor, HOUR);
    http.sign_in(&auditor).await;
    let csrf = http.csrf.clone();
    let client = stack.outcome.client_id.clone();
    let no_token = http.post("/client", &[("client_id", &client)]).await;
    assert_eq!(no_token.status, 403);
    let elsewhere = http.post_from("/client", &[("csrf", &csrf), ("client_id", &client)], "http://evil.example").await;
    assert_eq!(elsewhere.status, 403);
    let signed_in_elsewhere = http.post_from("/signin", &[("token", &auditor)], "http://evil.example").await;
    assert_eq!(signed_in_elsewhere.status, 403);
    let episode = http.get("/episode").await;
    assert_eq!(episode.header("location"), "/", "no client was selected");
}

async fn an_unknown_client_is_a_not_found_page(stack: &Stack) {
    let mut http = Http::new(stack);
    let (_, auditor) = token(Role::Auditor, HOUR);
    http.sign_in(&auditor).await;
    let page = http.open_client(&Uuid::now_v7().to_string()).await;
    assert_eq!(page.status, 404);
    assert!(page.body.contains(r#"<h1 id="error-title">Not found</h1>"#), "{}", page.body);
    let csrf = http.csrf.clone();
    let reply = http.post("/client", &[("csrf", &csrf), ("client_id", "Alexandra Reyes")]).await;
    assert_eq!(reply.header("location"), "/");
    let home = http.get("/").await;
    assert!(home.body.contains("client id: enter the client&#39;s id (a UUID)"), "{}", home.body);
}

async fn a_malformed_as_of_is_a_message_and_the_record_stays_current(stack: &Stack) {
    let mut http = Http::new(stack);
    let (_, auditor) = token(Role::Auditor, HOUR);
    http.sign_in(&auditor).await;
    http.open_client(&stack.outcome.client_id).await;
    let page = http.set_as_of("last tuesday").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("as of: &quot;last tuesday&quot; is neither a log position"), "{}", page.body);
    assert!(page.body.contains("as it stands now"));
    let beyond = http.set_as_of("999999").await;
    assert_eq!(beyond.status, 200);
    assert!(beyond.body.contains("as of log position 999999:"), "{}", beyond.body);
    assert!(beyond.body.contains("as it stands now"));
}

async fn as_of_before_and_after_the_addendum(stack: &Stack) {
    let (position, _) = stack.addendum().await;
    let mut http = Http::new(stack);
    let (_, auditor) = token(Role::Auditor, HOUR);
    http.sign_in(&auditor).await;
    http.open_client(&stack.outcome.client_id).await;
    let before = http.set_as_of(&(position - 1).to_string()).await;
    assert!(before.body.contains(&format!("as it stood at log position {}", position - 1)), "{}", before.body);
    assert!(before.body.contains(NOTE_TEXT) && !before.body.contains(ADDENDUM_TEXT));
    let after = http.set_as_of(&position.to_string()).await;
    assert!(after.body.contains(ADDENDUM_TEXT));
    let diff = after.body.split(r#"id="diff-to-now" href=""#).nth(1).and_then(|r| r.split('"').next());
    let diff = diff.expect("a link to what changed since").replace("&amp;", "&");
    assert!(diff.starts_with(&format!("/diff?from={position}&to=")), "{diff}");
    assert_eq!(http.get(&diff).await.status, 200);
}

/// A clinical date in the middle of the (backdated) demo episode shows what had occurred by then,
/// while the record as recorded at that moment did not exist yet.
async fn as_of_a_clinical_date_in_the_middle_of_the_episode(stack: &Stack) {
    let mut http = Http::new(stack);
    let (_, auditor) = token(Role::Auditor, HOUR);
    http.sign_in(&auditor).await;
    http.open_client(&stack.outcome.client_id).await;
    let first = stack.outcome.episode.sessions[0].starts_at.unwrap();
    let date = chrono::DateTime::from_timestamp(first.seconds, 0).unwrap().date_naive().to_string();
    let page = http.set_as_of(&date).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&format!("As of clinical date {date}")), "{}", page.body);
    assert!(page.body.contains("Alexandra"), "the client had been registered by then: {}", page.body);
    let recorded = http.set_as_of(&format!("{date}T23:59:59Z")).await;
    assert!(!recorded.body.contains("As recorded: the record as it stood"), "nothing was recorded then");
}

async fn every_page_view_of_the_record_is_an_audited_read(stack: &Stack) {
    let mut http = Http::new(stack);
    let (subject, auditor) = token(Role::Auditor, HOUR);
    http.sign_in(&auditor).await;
    assert_eq!(stack.reads_by(subject).await, 0, "signing in reads no record");
    http.open_client(&stack.outcome.client_id).await;
    let after_one = stack.reads_by(subject).await;
    assert!(after_one >= 1, "the episode view was logged as a read by the auditor");
    http.get("/episode").await;
    assert!(stack.reads_by(subject).await > after_one, "each view is logged");
}

async fn a_biller_sees_the_ledger_but_never_note_text(stack: &Stack) {
    let mut http = Http::new(stack);
    let (_, biller) = token(Role::Biller, HOUR);
    http.sign_in(&biller).await;
    let page = http.open_client(&stack.outcome.client_id).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains(NOTE_TEXT) && !page.body.contains(ADDENDUM_TEXT), "note text shown to a biller");
    assert!(page.body.contains("[redacted: clinical_text]"));
    assert!(page.body.contains("The audit trail is not available to your role."));
    let ledger = http.get("/ledger").await;
    assert_eq!(ledger.status, 200);
    assert!(ledger.body.contains(r#"<strong id="balance">$0.00</strong>"#), "{}", ledger.body);
    assert!(ledger.body.contains("<h3>Aging</h3>"));
    assert_eq!(http.get("/caseload").await.status, 403, "caseloads are not for billers");
}

async fn the_caseload_of_the_clients_clinician(stack: &Stack) {
    let mut http = Http::new(stack);
    let (_, auditor) = token(Role::Auditor, HOUR);
    http.sign_in(&auditor).await;
    http.open_client(&stack.outcome.client_id).await;
    let page = http.get("/caseload").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&stack.outcome.clinician_id), "{}", page.body);
    assert!(page.body.contains(&stack.outcome.client_id));
}

/// The accounting of disclosures: a connector's export shows with its purpose; a biller may not look.
async fn the_auditor_reads_the_accounting_of_disclosures(stack: &Stack) {
    use carelog_blackbox::Caller;
    use carelog_proto::v1::ExportEpisodeFhirRequest;
    let export = ExportEpisodeFhirRequest { client_id: stack.outcome.client_id.clone(), as_of: None };
    stack.app.records(&Caller::new("connector")).export_episode_fhir(export).await.expect("a connector's export");
    let mut http = Http::new(stack);
    let (_, auditor) = token(Role::Auditor, HOUR);
    http.sign_in(&auditor).await;
    http.open_client(&stack.outcome.client_id).await;
    let page = http.get("/disclosures").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(r#"<table id="disclosures">"#), "{}", page.body);
    assert!(page.body.contains("connector …"), "the recipient by role and short id: {}", page.body);
    assert!(page.body.contains("coordination of care with another provider (COC)"), "{}", page.body);
    assert!(page.body.contains("the record as a FHIR R4 Bundle"), "{}", page.body);
    let mut http = Http::new(stack);
    let (_, biller) = token(Role::Biller, HOUR);
    http.sign_in(&biller).await;
    http.open_client(&stack.outcome.client_id).await;
    assert_eq!(http.get("/disclosures").await.status, 403, "the accounting is for auditors");
}

crate::on_both_backends!(
    the_auditor_reads_the_accounting_of_disclosures,
    pages_carry_strict_security_headers,
    signed_out_visitors_are_sent_to_sign_in,
    bad_tokens_are_refused_at_sign_in_with_the_reason,
    an_expired_token_returns_to_sign_in,
    posts_without_the_csrf_token_or_from_elsewhere_change_nothing,
    an_unknown_client_is_a_not_found_page,
    a_malformed_as_of_is_a_message_and_the_record_stays_current,
    as_of_before_and_after_the_addendum,
    as_of_a_clinical_date_in_the_middle_of_the_episode,
    every_page_view_of_the_record_is_an_audited_read,
    a_biller_sees_the_ledger_but_never_note_text,
    the_caseload_of_the_clients_clinician,
);
