//! The fold routes a client's erasure to the ledgers the client owns, whether the ledger is
//! stored from an earlier batch or folded in the same one: both give the same scrubbed document.

use carelog_domain::billing::BillingEvent;
use carelog_domain::intake::{ClientErased, IntakeEvent};
use carelog_domain::types::{AccountId, ActorId, ClientId, EpisodeId};

use super::*;
use crate::testing::*;

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

fn ledger_doc(docs: &[Doc], key: &str) -> Doc {
    docs.iter().find(|d| d.kind == DocKind::Ledger && d.key == key).cloned().expect("the ledger was written")
}

#[test]
fn an_erasure_in_a_later_batch_scrubs_the_stored_ledger_its_client_owns() {
    let (log, client, account) = erased_account();
    let (history, erasure) = log.events.split_at(log.events.len() - 1);
    assert_eq!(erased_clients(history), Vec::<String>::new());
    assert_eq!(erased_clients(erasure), [client.to_string()]);

    let (first, _) = fold(HashMap::new(), history, Owned::new()).unwrap();
    let stored = ledger_doc(&first, &account);
    assert!(stored.body.to_string().contains("Courtesy"));
    assert_eq!(stored.owner, Some(client.to_string()));

    // Without the persist layer's answer the erasure cannot find the ledger …
    let (docs, _) = fold(HashMap::new(), erasure, Owned::new()).unwrap();
    assert!(docs.iter().all(|d| d.kind == DocKind::Episode));
    // … with it, the stored ledger is scrubbed and rewritten.
    let loaded = HashMap::from([((DocKind::Ledger, account.clone()), stored.body.clone())]);
    let owned = Owned::from([(client.to_string(), [account.clone()].into())]);
    let (docs, audit) = fold(loaded, erasure, owned).unwrap();
    let scrubbed = ledger_doc(&docs, &account);
    assert!(!scrubbed.body.to_string().contains("Courtesy"), "{}", scrubbed.body);
    assert_eq!(scrubbed.body["write_offs"][0]["note"], "[erased]");
    assert_eq!((scrubbed.body["balance"].clone(), scrubbed.position), (stored.body["balance"].clone(), 15));
    assert_eq!(audit.len(), 1);

    // A rebuild folds everything in one batch and must end with the same document.
    let (rebuilt, _) = fold(HashMap::new(), &log.events, Owned::new()).unwrap();
    assert_eq!(ledger_doc(&rebuilt, &account), scrubbed);
}
