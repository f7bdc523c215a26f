//! Tamper evidence: rows edited, deleted, reordered or cut off behind the store's back are reported.

use carelog_store::{AppendRequest, ExpectedRevision, LogQuery, Position, ProblemKind, VerifyReport, VerifyScope};
use serde_json::json;

use crate::support::{Harness, event, events, stream};

/// Three streams interleaved: positions 1–9, `client-t` at 1, 4, 7.
async fn seed(h: &Harness) {
    for round in 0..3 {
        for name in ["client-t", "session-t", "account-t"] {
            let expected = if round == 0 { ExpectedRevision::NoStream } else { ExpectedRevision::Exact(round - 1) };
            h.store.append(AppendRequest::new(stream(name), expected, events(1))).await.unwrap();
        }
    }
}

async fn verify_all(h: &Harness) -> VerifyReport {
    h.store.verify(&VerifyScope::All, &|_| {}).await.unwrap()
}

pub async fn an_untouched_log_verifies(h: &Harness) {
    seed(h).await;
    let progress = std::sync::Mutex::new(Vec::new());
    let report = h.store.verify(&VerifyScope::All, &|p| progress.lock().unwrap().push(p.checked)).await.unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!((report.events_checked, report.streams_checked), (9, 3));
    assert_eq!(progress.lock().unwrap().last(), Some(&9));
}

pub async fn an_edited_row_is_reported(h: &Harness) {
    seed(h).await;
    h.tamper("UPDATE events SET data = '{\"n\":999}' WHERE position = 4").await;
    let report = verify_all(h).await;
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    let problem = report.first_problem().unwrap();
    assert_eq!((problem.position, problem.stream.as_str(), problem.revision), (Position(4), "client-t", Some(1)));
    assert!(matches!(problem.kind, ProblemKind::HashMismatch { .. }));
    assert!(problem.to_string().contains("content changed"), "{problem}");
}

pub async fn a_deleted_row_is_reported(h: &Harness) {
    seed(h).await;
    h.tamper("DELETE FROM events WHERE position = 4").await;
    let report = verify_all(h).await;
    let first = report.first_problem().unwrap();
    assert_eq!(first.position, Position(5));
    assert!(matches!(first.kind, ProblemKind::PositionGap { expected: 4, found: 5 }), "{first}");
    let in_stream = report.problems.iter().find(|p| p.stream == "client-t").expect("stream break reported");
    assert_eq!(in_stream.position, Position(7));
    assert!(matches!(in_stream.kind, ProblemKind::RevisionOutOfOrder { expected: 1, found: 2 }));
}

/// Verification reads the log in pages and hashes one page while reading the next: breaks in a
/// later page are still reported at their stream and position, and every row is checked once.
pub async fn breaks_beyond_the_first_page_are_reported(h: &Harness) {
    for _ in 0..21 {
        let request = AppendRequest::new(stream("client-p"), ExpectedRevision::Any, events(1000));
        h.store.append(request).await.unwrap();
    }
    h.tamper("UPDATE events SET data = '{\"n\":-1}' WHERE position = 15000; DELETE FROM events WHERE position = 20500")
        .await;
    let report = verify_all(h).await;
    assert_eq!(report.events_checked, 20_999);
    let edited = report.first_problem().unwrap();
    assert_eq!(
        (edited.position, edited.stream.as_str(), edited.revision),
        (Position(15_000), "client-p", Some(14_999))
    );
    assert!(matches!(edited.kind, ProblemKind::HashMismatch { .. }), "{edited}");
    let after_gap: Vec<_> = report.problems.iter().filter(|p| p.position == Position(20_501)).collect();
    assert!(after_gap.iter().any(|p| matches!(p.kind, ProblemKind::PositionGap { expected: 20_500, found: 20_501 })));
    assert!(
        after_gap.iter().any(|p| matches!(p.kind, ProblemKind::RevisionOutOfOrder { expected: 20_499, found: 20_500 }))
    );
    assert_eq!(report.problems.len(), 4, "{:?}", report.problems);
}

pub async fn reordered_rows_are_reported(h: &Harness) {
    seed(h).await;
    // Swap the first two events of client-t (positions 1 and 4) by exchanging their revisions.
    h.tamper(
        "UPDATE events SET revision = 100 WHERE position = 1;
         UPDATE events SET revision = 0 WHERE position = 4;
         UPDATE events SET revision = 1 WHERE position = 1;",
    )
    .await;
    let report = verify_all(h).await;
    let first = report.first_problem().unwrap();
    assert_eq!((first.position, first.stream.as_str()), (Position(1), "client-t"));
    assert!(matches!(first.kind, ProblemKind::RevisionOutOfOrder { expected: 0, found: 1 }), "{first}");
}

pub async fn a_truncated_tail_is_reported(h: &Harness) {
    seed(h).await;
    h.tamper("DELETE FROM events WHERE position >= 8").await;
    let report = verify_all(h).await;
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(matches!(report.problems[0].kind, ProblemKind::Truncated { recorded_head: 9, last_found: 7 }));
}

pub async fn verifying_one_stream_checks_only_that_stream(h: &Harness) {
    seed(h).await;
    h.tamper("UPDATE events SET data = '{\"n\":999}' WHERE position = 5").await;
    let client = h.store.verify(&VerifyScope::Streams(vec!["client-t".into()]), &|_| {}).await.unwrap();
    assert!(client.is_intact());
    assert_eq!(client.events_checked, 3);
    let session = h.store.verify(&VerifyScope::Streams(vec!["session-t".into()]), &|_| {}).await.unwrap();
    assert_eq!(session.first_problem().map(|p| p.position), Some(Position(5)));
}

pub async fn a_retagged_row_is_reported(h: &Harness) {
    seed(h).await;
    h.tamper("UPDATE events SET client_tag = 'someone-else' WHERE position = 2").await;
    let report = verify_all(h).await;
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(matches!(report.problems[0].kind, ProblemKind::ClientTagMismatch { .. }), "{}", report.problems[0]);
}

/// The hash covers the stored bytes: non-ASCII text and escapes read back unchanged and verify, as
/// does an event without a client tag (a NULL column); the same JSON value stored as other bytes
/// (an escape instead of the character) is reported as changed.
pub async fn payloads_are_checked_byte_exact(h: &Harness) {
    let mut untagged = event("Noted", json!({ "note": "Zoë — «naïve» 💬 \"quoted\" \\ \t\u{1}\u{2028}" }));
    untagged.metadata.tags.client = None;
    let batch = vec![event("Noted", json!({ "note": "Zoë" })), untagged];
    let written: Vec<_> = batch.iter().map(|e| e.data.clone()).collect();
    h.store.append(AppendRequest::new(stream("client-u"), ExpectedRevision::NoStream, batch)).await.unwrap();
    let read = h.store.read_all(&LogQuery::from(Position(1), 10)).await.unwrap();
    assert_eq!(read.iter().map(|e| e.data.clone()).collect::<Vec<_>>(), written);
    assert_eq!(read[1].metadata.tags.client, None);
    let report = verify_all(h).await;
    assert!(report.is_intact(), "{:?}", report.problems);
    h.tamper(r#"UPDATE events SET data = '{"note":"Zo\u00eb"}' WHERE position = 1"#).await;
    let report = verify_all(h).await;
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(matches!(report.problems[0].kind, ProblemKind::HashMismatch { .. }), "{}", report.problems[0]);
}

/// A row holding what no event can (a negative revision) is reported as unreadable at its
/// position, and the rows after it are still checked.
pub async fn an_unreadable_row_is_reported_and_checking_goes_on(h: &Harness) {
    seed(h).await;
    h.tamper("UPDATE events SET revision = -1 WHERE position = 4").await;
    let report = verify_all(h).await;
    assert_eq!(report.events_checked, 9);
    let first = report.first_problem().unwrap();
    assert_eq!(first.position, Position(4));
    assert!(matches!(first.kind, ProblemKind::Unreadable(_)), "{first}");
    // client-t goes on at position 7 without its revision 1.
    assert!(
        report.problems.iter().any(|p| p.position == Position(7)
            && matches!(p.kind, ProblemKind::RevisionOutOfOrder { expected: 1, found: 2 })),
        "{:?}",
        report.problems
    );
}
