//! Minimum necessary on the console's pages, tried as each role signs in: a class of data the role
//! may see is on the page, one it may not see is absent and marked `[redacted: CLASS]`, and a page
//! the role may not read shows none of the record. Expectations are written from docs/security.md
//! (as in tests/api/access/disclosure.rs for the RPCs), not from the server's tables; which classes
//! a page shows at all is learned from what an auditor's page shows.

use std::time::Duration;

use carelog_auth::Role;
use carelog_blackbox::minimum_necessary::{PROBES, sees};
use carelog_blackbox::test_issuer;
use uuid::Uuid;

use crate::on_both_backends;
use crate::support::{Http, Stack};

/// Which roles may read each page's record (the RPCs behind it, per docs/security.md): the
/// timeline and the diff read the audit trail (the treating clinician, supervisors, auditors);
/// the report holds the accounting of disclosures (auditors alone).
fn may_read(page: &str, role: Role) -> bool {
    let allowed: &[Role] = match page {
        "/episode" => &[Role::Clinician, Role::Supervisor, Role::Biller, Role::Auditor],
        "/ledger" => &[Role::Biller, Role::Auditor],
        "/timeline" | "/diff" => &[Role::Clinician, Role::Supervisor, Role::Auditor],
        "/report" | "/report.csv" => &[Role::Auditor],
        _ => &[],
    };
    allowed.contains(&role)
}

const PAGES: [&str; 6] = ["/episode", "/ledger", "/timeline", "/diff", "/report", "/report.csv"];

async fn pages(stack: &Stack, role: Role) -> Vec<(&'static str, String)> {
    let subject = match role {
        Role::Clinician => Uuid::parse_str(&stack.outcome.clinician_id).expect("clinician id"),
        _ => Uuid::now_v7(),
    };
    let token = test_issuer().mint(subject, role, None, Duration::from_secs(3600));
    let mut http = Http::new(stack);
    let signed_in = http.post("/signin", &[("token", &token)]).await;
    if signed_in.status != 303 {
        // A role that reads no record is turned away at the door: no page of it at all.
        assert_eq!(signed_in.status, 401, "{role}: {}", signed_in.body);
        return PAGES.iter().map(|page| (*page, signed_in.body.clone())).collect();
    }
    http.get("/").await;
    let episode = http.open_client(&stack.outcome.client_id).await;
    let (addendum, _) = stack.addendum().await;
    let mut shown = vec![("/episode", episode.body)];
    for page in &PAGES[1..] {
        let path = match *page {
            "/diff" => format!("/diff?from={}&to={addendum}", addendum - 1),
            other => other.to_owned(),
        };
        let reply = http.get(&path).await;
        let expected = if may_read(page, role) { 200 } else { 403 };
        assert_eq!(reply.status, expected, "{role} on {path}: {}", reply.body);
        shown.push((*page, reply.body));
    }
    shown
}

async fn every_page_shows_each_role_only_what_it_may_see(stack: &Stack) {
    let baseline = pages(stack, Role::Auditor).await;
    let mut failures = Vec::new();
    for role in Role::ALL {
        for (page, body) in pages(stack, role).await {
            let audited = &baseline.iter().find(|(p, _)| *p == page).expect("the auditor's page").1;
            for (class, probes) in PROBES {
                if !probes.iter().any(|p| audited.contains(p)) {
                    continue; // the page does not show this class at all
                }
                let shown = probes.iter().any(|p| body.contains(p));
                let marked = body.contains(&format!("[redacted: {class}]"));
                match (may_read(page, role), sees(role.as_str(), class), shown, marked) {
                    (false, _, true, _) => failures.push(format!("{page}/{role}: {class} on a page it may not read")),
                    (false, ..) => {}
                    (true, true, false, _) => failures.push(format!("{page}/{role}: {class} missing")),
                    (true, false, true, _) => failures.push(format!("{page}/{role}: {class} LEAKED")),
                    (true, false, false, false) => failures.push(format!("{page}/{role}: {class} dropped unmarked")),
                    _ => {}
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} violations:\n{}", failures.len(), failures.join("\n"));
}

on_both_backends!(every_page_shows_each_role_only_what_it_may_see);
