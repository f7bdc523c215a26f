//! The auditor's pages over plain HTTP: the timeline's filters and paging (every hostile input a
//! message, never a failed page), the diff across an addendum and a void, and the audit report
//! downloaded through the same audited reads as the pages.

use std::collections::BTreeSet;
use std::time::Duration;

use carelog_auth::Role;
use carelog_blackbox::Caller;
use carelog_proto::v1::ListAuditTrailRequest;

use crate::support::{ADDENDUM_TEXT, Http, Stack, VOID_REASON, token};

const HOUR: Duration = Duration::from_secs(3600);

async fn auditor(stack: &Stack) -> Http {
    let mut http = Http::new(stack);
    let (_, auditor) = token(Role::Auditor, HOUR);
    http.sign_in(&auditor).await;
    http.open_client(&stack.outcome.client_id).await;
    http
}

/// The timeline rows of a page: (position, event type, the row's text).
fn rows(body: &str) -> Vec<(u64, String, String)> {
    body.split(r#"data-type=""#)
        .skip(1)
        .map(|row| {
            let (event, rest) = row.split_once('"').unwrap();
            let cells = &rest[rest.find("<td>").unwrap() + 4..rest.find("</tr>").unwrap()];
            let position = cells[..cells.find("</td>").unwrap()].parse().unwrap();
            (position, event.to_owned(), cells.to_owned())
        })
        .collect()
}

/// The link with `id` on the page, unescaped.
fn link(body: &str, id: &str) -> Option<String> {
    let needle = format!(r#"id="{id}" href=""#);
    let at = body.find(&needle)? + needle.len();
    Some(body[at..at + body[at..].find('"')?].replace("&amp;", "&"))
}

/// Every entry of the demo client that is not a read (reads keep coming as we look).
async fn recorded_events(stack: &Stack) -> BTreeSet<u64> {
    let mut records = stack.app.records(&Caller::new("auditor"));
    let (mut found, mut token) = (BTreeSet::new(), String::new());
    loop {
        let request = ListAuditTrailRequest {
            client_id: stack.outcome.client_id.clone(),
            page_size: 1000,
            page_token: token,
            ..Default::default()
        };
        let page = records.list_audit_trail(request).await.unwrap().into_inner();
        found.extend(page.entries.iter().filter(|e| e.event_type != "RecordAccessed").map(|e| e.position));
        if page.next_page_token.is_empty() {
            return found;
        }
        token = page.next_page_token;
    }
}

async fn the_timeline_pages_through_the_whole_trail_with_the_apis_tokens(stack: &Stack) {
    let mut http = auditor(stack).await;
    let (mut seen, mut pages, mut next) = (Vec::new(), 0, Some("/timeline?per=25".to_owned()));
    while let Some(path) = next {
        let page = http.get(&path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        let found = rows(&page.body);
        assert!(found.len() <= 25, "{path}: {} rows", found.len());
        seen.extend(found.iter().filter(|(_, t, _)| t != "RecordAccessed").map(|(p, _, _)| *p));
        next = link(&page.body, "next-page");
        pages += 1;
        assert!(pages < 50, "paging does not end");
    }
    assert!(pages >= 2, "the demo's trail takes more than one page of 25");
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(seen, sorted, "pages are in order and never repeat an entry");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), recorded_events(stack).await, "every event, once");
}

/// A filter only the console applies (an actor's name) reads the API a page at a time until the
/// console's page is full: paging through it finds each of that person's entries once, in order.
async fn a_name_filter_pages_across_the_apis_pages(stack: &Stack) {
    let mut http = auditor(stack).await;
    let (mut seen, mut next) = (Vec::new(), Some("/timeline?actor=sam+okafor&per=25".to_owned()));
    while let Some(path) = next {
        let page = http.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let found = rows(&page.body);
        assert!(found.iter().all(|(_, _, row)| row.contains("Sam Okafor (biller …")));
        seen.extend(found.into_iter().map(|(p, _, _)| p));
        next = link(&page.body, "next-page");
        assert!(seen.len() < 1000, "paging does not end");
    }
    let mut records = stack.app.records(&Caller::new("auditor"));
    let request =
        ListAuditTrailRequest { client_id: stack.outcome.client_id.clone(), page_size: 1000, ..Default::default() };
    let all = records.list_audit_trail(request).await.unwrap().into_inner().entries;
    let expected: Vec<u64> = all.iter().filter(|e| e.actor_name == "Sam Okafor").map(|e| e.position).collect();
    assert!(expected.len() > 1 && expected.last() > Some(&25), "the biller acts across the trail: {expected:?}");
    assert_eq!(seen, expected);
}

async fn the_timeline_filters_by_type_actor_and_both_kinds_of_date(stack: &Stack) {
    let mut http = auditor(stack).await;
    let addenda = rows(&http.get("/timeline?type=NoteAddendumAppended").await.body);
    assert_eq!(addenda.len(), 1, "{addenda:?}");
    assert!(addenda[0].2.contains("Note addendum appended"), "read as words: {}", addenda[0].2);

    let by_role = rows(&http.get("/timeline?actor=biller&per=200").await.body);
    assert!(
        !by_role.is_empty() && by_role.iter().all(|(_, _, row)| row.contains("(biller)") || row.contains("biller …"))
    );
    let clinician = &stack.outcome.clinician_id;
    let by_id = rows(&http.get(&format!("/timeline?actor={clinician}&per=200")).await.body);
    assert!(!by_id.is_empty() && by_id.iter().all(|(_, _, row)| row.contains(&clinician[clinician.len() - 8..])));

    // A clinical day in the backdated episode: what occurred that day, recorded whenever.
    let first = stack.outcome.episode.sessions[0].starts_at.unwrap();
    let day = chrono::DateTime::from_timestamp(first.seconds, 0).unwrap().date_naive();
    let that_day = rows(&http.get(&format!("/timeline?clinical_from={day}&clinical_to={day}")).await.body);
    assert!(!that_day.is_empty(), "the first session's day has events");
    for (_, _, row) in &that_day {
        let clinical = row.split("<td>").nth(3).unwrap();
        assert!(clinical.starts_with(&day.to_string()), "{row}");
    }
    // Recorded dates: everything was recorded today, nothing on that clinical day.
    let recorded = http.get(&format!("/timeline?recorded_from={day}&recorded_to={day}")).await;
    assert!(recorded.body.contains(r#"id="no-entries""#), "{}", recorded.body);
    let today = chrono::Utc::now().date_naive();
    assert!(!rows(&http.get(&format!("/timeline?recorded_from={today}")).await.body).is_empty());
}

async fn hostile_timeline_inputs_are_messages_not_failures(stack: &Stack) {
    let mut http = auditor(stack).await;
    let cases = [
        ("type=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "event type:"),
        ("actor=a%00b", "actor:"),
        ("recorded_from=-5000-01-01", "recorded from:"),
        ("recorded_to=2026-02-30", "recorded to:"),
        ("clinical_from=20000-01-01", "clinical from:"),
        ("clinical_from=2026-12-01&clinical_to=2026-11-01", "clinical dates: from 2026-12-01 is after to 2026-11-01"),
        ("after=999999999999999999999999999", "page:"),
        ("after=-3", "page:"),
        ("per=1000000", "entries per page:"),
        ("per=0", "entries per page:"),
    ];
    for (query, message) in cases {
        let page = http.get(&format!("/timeline?{query}")).await;
        assert_eq!(page.status, 400, "{query}: {}", page.body);
        assert!(page.body.contains(message), "{query}: no {message:?} in {}", page.body);
        assert!(!page.body.contains("<script>alert"), "{query}: echoed unescaped");
    }
    // A page far past the log's end is simply empty.
    let far = http.get("/timeline?after=9000000000000000000").await;
    assert_eq!(far.status, 200, "{}", far.body);
    assert!(far.body.contains(r#"id="no-entries""#));
}

async fn the_diff_across_an_addendum_and_a_void_names_who_and_why(stack: &Stack) {
    let (addendum, _) = stack.addendum().await;
    let void = stack.void_the_claim().await;
    let mut http = auditor(stack).await;
    let page = http.get(&format!("/diff?from={}&to={void}", addendum - 1)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let changes = &page.body[page.body.find(r#"id="diff-changes""#).unwrap()..];
    let added = changes.split("<tr class=\"change-added\">").find(|r| r.contains(ADDENDUM_TEXT));
    assert!(added.is_some_and(|r| r.contains(".addenda[0].text")), "the addendum is added: {changes}");
    let voided = changes.split("<tr class=\"change-voided\">").nth(1).expect("a voided row");
    assert!(voided.contains("<code>billing.claims.") && voided.contains("CLAIM_STATUS_VOIDED"), "{voided}");
    let events =
        &page.body[page.body.find(r#"id="diff-events""#).unwrap()..page.body.find(r#"id="diff-changes""#).unwrap()];
    let appended = events.split("<tr ").find(|r| r.contains("Note addendum appended")).expect("the addendum event");
    assert!(appended.contains("Dr. Ana Ruiz (clinician …"), "who, by name: {appended}");
    assert!(events.contains(VOID_REASON), "why the claim was voided: {events}");
    assert!(!events.contains("Record accessed"), "reads change nothing");

    // Before the addendum to just before it: nothing changed.
    let same = http.get(&format!("/diff?from={}&to={}", addendum - 1, addendum - 1)).await;
    assert!(same.body.contains("The record is the same at both points."), "{}", same.body);
}

async fn hostile_diff_points_are_messages_naming_the_field(stack: &Stack) {
    let mut http = auditor(stack).await;
    let cases = [
        ("from=last+week&to=5", "from: &quot;last week&quot; is neither"),
        ("from=5&to=99999999999999999999999", "to: that position is far beyond any log"),
        ("from=5&to=2026-11-21", "from and to: compare two clinical dates"),
        ("from=9&to=5", "from and to: from is later than to"),
        ("from=5", "to: give a log position"),
        ("from=5&to=999999999", "to:"),
    ];
    for (query, message) in cases {
        let page = http.get(&format!("/diff?{query}")).await;
        assert_eq!(page.status, 400, "{query}: {}", page.body);
        assert!(page.body.contains(message), "{query}: no {message:?} in {}", page.body);
    }
    let form = http.get("/diff").await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains(r#"id="diff-form""#));
}

async fn the_audit_report_is_downloaded_through_the_same_audited_reads(stack: &Stack) {
    use carelog_proto::v1::ExportEpisodeFhirRequest;
    let export = ExportEpisodeFhirRequest { client_id: stack.outcome.client_id.clone(), as_of: None };
    stack.app.records(&Caller::new("connector")).export_episode_fhir(export).await.expect("a connector's export");
    let mut http = Http::new(stack);
    let (subject, auditor) = token(Role::Auditor, HOUR);
    http.sign_in(&auditor).await;
    http.open_client(&stack.outcome.client_id).await;
    let before = stack.reads_by(subject).await;
    let csv = http.get("/report.csv").await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
    assert!(csv.header("content-disposition").starts_with("attachment; filename=\"carelog-audit-report-"));
    assert_eq!(csv.header("cache-control"), "no-store");
    let mut lines = csv.body.lines();
    assert_eq!(
        lines.next(),
        Some("section,position,recorded_at,occurred_at,event,actor_id,actor,actor_role,reason,detail")
    );
    let sections: Vec<&str> = lines.map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(sections.first(), Some(&"verification"));
    assert!(csv.body.contains("\r\nverification,,") && csv.body.contains(",intact,"), "{}", csv.body);
    assert!(sections.contains(&"disclosure") && sections.contains(&"timeline"), "{sections:?}");
    assert!(csv.body.contains(",NoteAddendumAppended,"));
    assert!(stack.reads_by(subject).await > before, "the download is a logged read like the pages");

    let printable = http.get("/report").await;
    assert_eq!(printable.status, 200);
    for part in
        [r#"id="report-integrity""#, r#"id="report-disclosures""#, r#"id="report-timeline""#, "Note addendum appended"]
    {
        assert!(printable.body.contains(part), "no {part} in {}", printable.body);
    }
    assert!(printable.body.ends_with("</html>"), "the streamed page is whole");
}

/// Actors by name everywhere: the demo's people in the timeline, and a named auditor's own reads
/// with the RPC, the purpose of use and the outcome.
async fn actors_are_named_and_reads_say_rpc_purpose_and_outcome(stack: &Stack) {
    let subject = uuid::Uuid::now_v7();
    let named = carelog_blackbox::test_issuer().mint_named(subject, Role::Auditor, None, Some("Ada Auditor"), HOUR);
    let mut http = Http::new(stack);
    http.sign_in(&named).await;
    let episode = http.open_client(&stack.outcome.client_id).await;
    assert!(episode.body.contains(r#"<span id="who-role">Ada Auditor (auditor …"#), "the header names the user");
    let reads = rows(&http.get("/timeline?type=RecordAccessed&actor=ada+auditor&per=200").await.body);
    let read = reads.iter().find(|(_, _, row)| row.contains("RecordsService/GetEpisode")).expect("the episode read");
    assert!(read.2.contains("Ada Auditor (auditor …") && read.2.contains("allowed"), "{}", read.2);
    assert!(read.2.contains("purpose "), "{}", read.2);
    let timeline = rows(&http.get("/timeline?per=200").await.body);
    for person in ["Dana Whitfield (intake …", "Dr. Ana Ruiz (clinician …", "Sam Okafor (biller …"] {
        assert!(timeline.iter().any(|(_, _, row)| row.contains(person)), "no {person} in the timeline");
    }
}

/// A page a role may not read is refused before any call: nothing read, no denial logged.
async fn refused_pages_read_nothing(stack: &Stack) {
    let clinician = uuid::Uuid::parse_str(&stack.outcome.clinician_id).unwrap();
    for role in [Role::Biller, Role::Supervisor, Role::Clinician] {
        let mut http = Http::new(stack);
        let subject = if role == Role::Clinician { clinician } else { uuid::Uuid::now_v7() };
        http.sign_in(&carelog_blackbox::test_issuer().mint(subject, role, None, HOUR)).await;
        http.open_client(&stack.outcome.client_id).await;
        let reads = stack.entries_by(subject).await;
        let refused: &[&str] = match role {
            Role::Biller => &["/timeline", "/diff?from=1&to=2", "/report", "/report.csv"],
            _ => &["/report", "/report.csv"],
        };
        for path in refused {
            let page = http.get(path).await;
            assert_eq!(page.status, 403, "{role} {path}: {}", page.body);
            assert!(!page.body.contains("Note addendum appended"), "{role} {path} shows the trail");
        }
        assert_eq!(stack.entries_by(subject).await, reads, "{role}: a refused page reads nothing, logs no denial");
    }
}

crate::on_both_backends!(
    the_timeline_pages_through_the_whole_trail_with_the_apis_tokens,
    the_timeline_filters_by_type_actor_and_both_kinds_of_date,
    hostile_timeline_inputs_are_messages_not_failures,
    the_diff_across_an_addendum_and_a_void_names_who_and_why,
    hostile_diff_points_are_messages_naming_the_field,
    the_audit_report_is_downloaded_through_the_same_audited_reads,
    refused_pages_read_nothing,
    a_name_filter_pages_across_the_apis_pages,
    actors_are_named_and_reads_say_rpc_purpose_and_outcome,
);
