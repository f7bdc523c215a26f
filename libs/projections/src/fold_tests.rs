//! Held documents: folding in many commits — documents dropped after each and loaded back — gives
//! what one fold of the whole log gives; an erasure scrubs the ledgers its client owns, whether
//! they are held or stored.

use std::collections::BTreeMap;

use carelog_domain::billing::BillingEvent;
use carelog_domain::intake::{ClientErased, IntakeEvent};
use carelog_domain::types::{AccountId, ActorId, ClientId, EpisodeId};

use super::*;
use crate::testing::*;

/// The stored documents, as the persist layer keeps them between commits.
type Store = BTreeMap<(DocKind, String), DocWrite>;

/// Folds `events` the way the runner does: `batch` events at a time, loading what is missing from
/// `store` (empty at first), committing every `commit_every` events, then keeping at most
/// `hold_bytes` of JSON.
fn fold_in_commits(mut views: Views, events: &[RecordedEvent], pace: (usize, usize, usize)) -> (Store, Vec<AuditRow>) {
    let (batch, commit_every, hold_bytes) = pace;
    let (mut store, mut audit) = (Store::new(), Vec::new());
    for chunk in events.chunks(batch) {
        for (kind, keys) in views.missing(chunk) {
            for key in keys {
                if let Some(doc) = store.get(&(kind, key)) {
                    views.hold(kind, stored(doc)).unwrap();
                }
            }
        }
        for client in erased_clients(chunk) {
            let owned = store.values().filter(|d| d.kind == DocKind::Ledger && d.owner.as_deref() == Some(&*client));
            for doc in owned.cloned().collect::<Vec<_>>() {
                views.hold(DocKind::Ledger, stored(&doc)).unwrap();
            }
        }
        views.fold(chunk).unwrap();
        if views.pending() >= commit_every {
            commit(&mut views, &mut store, &mut audit);
            views.shrink_to(hold_bytes);
        }
    }
    commit(&mut views, &mut store, &mut audit);
    (store, audit)
}

fn commit(views: &mut Views, store: &mut Store, audit: &mut Vec<AuditRow>) {
    let taken = views.take().unwrap();
    store.extend(taken.docs.into_iter().map(|d| ((d.kind, d.key.clone()), d)));
    audit.extend(taken.audit);
}

fn stored(doc: &DocWrite) -> StoredDoc {
    StoredDoc { key: doc.key.clone(), owner: doc.owner.clone(), json: doc.json.clone() }
}

#[test]
fn folding_in_many_commits_with_documents_dropped_gives_the_documents_of_one_fold() {
    let log = interleaved_charts(3, Some(1));
    let (expected, expected_audit) = fold_in_commits(Views::new(), &log, (log.len(), usize::MAX, usize::MAX));
    assert_eq!(expected.len(), 6, "three episode views and three ledgers");
    assert_eq!(
        expected_audit.iter().map(|r| r.position).collect::<Vec<_>>(),
        (1..=log.len() as u64).collect::<Vec<_>>()
    );

    for (batch, commit_every) in [(1, 1), (3, 7), (5, 5), (16, 40)] {
        for hold_bytes in [0, 4_000, usize::MAX] {
            // The store starts empty: views that know it load only what they dropped.
            for (generation, views) in [("may store", Views::new()), ("is empty", Views::for_empty_generation())] {
                let pace = format!("batch {batch}, commit every {commit_every}, hold {hold_bytes} bytes; {generation}");
                let (docs, audit) = fold_in_commits(views, &log, (batch, commit_every, hold_bytes));
                assert_eq!(docs, expected, "{pace}");
                assert_eq!(audit, expected_audit, "{pace}");
            }
        }
    }
}

#[test]
fn after_a_commit_the_least_recently_changed_documents_are_dropped_first() {
    let log = interleaved_charts(3, Some(1));
    let mut views = Views::new();
    views.fold(&log).unwrap();
    let taken = views.take().unwrap();
    // The last event (the erasure) changed its client's episode view and ledger.
    let last = log.last().unwrap();
    let newest: usize = taken.docs.iter().filter(|d| d.position == last.position.0).map(|d| d.json.len()).sum();

    views.shrink_to(newest);

    assert_eq!(views.held_count(), 2);
    assert_eq!(views.missing(std::slice::from_ref(last)), BTreeMap::new(), "the newest are kept");
    views.shrink_to(0);
    assert_eq!(views.held_count(), 0);
}

/// An account's billing history, then the erasure of its client; returns the log and the account stream.
fn erased_account() -> (Log, ClientId, String) {
    let (mut log, account, client) = (Log::default(), AccountId::new_v7(), ClientId::new_v7());
    let (events, _) = billing_history(account, client, EpisodeId::new_v4());
    for event in events {
        log.append::<BillingEvent>(&account.stream_name(), Some(client), None, event);
    }
    let erased = ClientErased { reason: reason("erasure request"), erased_by: ActorId::new_v4(), erased_at: at(50, 9) };
    log.append::<IntakeEvent>(&client.stream_name(), Some(client), None, erased);
    (log, client, account.stream_name())
}

fn fold_once(stored_docs: Vec<(DocKind, StoredDoc)>, events: &[RecordedEvent]) -> Taken {
    let mut views = Views::new();
    for (kind, doc) in stored_docs {
        views.hold(kind, doc).unwrap();
    }
    views.fold(events).unwrap();
    views.take().unwrap()
}

fn ledger_doc(docs: &[DocWrite], key: &str) -> DocWrite {
    docs.iter().find(|d| d.kind == DocKind::Ledger && d.key == key).cloned().expect("the ledger was written")
}

#[test]
fn an_erasure_in_a_later_commit_scrubs_the_stored_ledger_its_client_owns() {
    let (log, client, account) = erased_account();
    let (history, erasure) = log.events.split_at(log.events.len() - 1);
    assert_eq!(erased_clients(history), Vec::<String>::new());
    assert_eq!(erased_clients(erasure), [client.to_string()]);

    let first = fold_once(Vec::new(), history);
    let stored_ledger = ledger_doc(&first.docs, &account);
    assert!(stored_ledger.json.contains("Courtesy"));
    assert_eq!(stored_ledger.owner, Some(client.to_string()));

    // Without the persist layer's answer the erasure cannot find the ledger …
    let unaware = fold_once(Vec::new(), erasure);
    assert!(unaware.docs.iter().all(|d| d.kind == DocKind::Episode));
    assert_eq!(unaware.erased, [client.to_string()]);
    // … with it, the stored ledger is scrubbed and rewritten.
    let taken = fold_once(vec![(DocKind::Ledger, stored(&stored_ledger))], erasure);
    let scrubbed = ledger_doc(&taken.docs, &account);
    let body: serde_json::Value = serde_json::from_str(&scrubbed.json).unwrap();
    let stored_body: serde_json::Value = serde_json::from_str(&stored_ledger.json).unwrap();
    assert!(!scrubbed.json.contains("Courtesy"), "{}", scrubbed.json);
    assert_eq!(body["write_offs"][0]["note"], "[erased]");
    assert_eq!((body["balance"].clone(), scrubbed.position), (stored_body["balance"].clone(), 15));
    assert_eq!(taken.audit.len(), 1);

    // A fold of everything at once ends with the same document.
    let rebuilt = fold_once(Vec::new(), &log.events);
    assert_eq!(ledger_doc(&rebuilt.docs, &account), scrubbed);
}
