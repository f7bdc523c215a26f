//! Given/when/then tests of the ledger view, fed real envelopes.

use carelog_domain::billing::{AccountState, BillingEvent, PaymentMethod, PaymentReceived, WriteOffReason};
use carelog_domain::types::{AccountId, Balance, ChargeId, ClientId, EpisodeId, PaymentId};
use chrono::{Duration, NaiveDate};

use super::*;
use crate::testing::*;

struct Account {
    log: Log,
    id: AccountId,
    client: ClientId,
    episode: EpisodeId,
}

impl Account {
    fn new() -> Self {
        Self { log: Log::default(), id: AccountId::new_v7(), client: ClientId::new_v7(), episode: EpisodeId::new_v4() }
    }

    fn post(&mut self, e: impl Into<BillingEvent>) {
        let stream = self.id.stream_name();
        self.log.append::<BillingEvent>(&stream, Some(self.client), Some(self.episode), e);
    }

    fn ledger(&self) -> LedgerView {
        let mut view = LedgerView::default();
        for e in &self.log.events {
            view.apply(e).expect("every event folds");
        }
        view
    }

    fn with_history() -> (Self, Claims) {
        let mut account = Self::new();
        let (events, claims) = billing_history(account.id, account.client, account.episode);
        for e in events {
            account.post(e);
        }
        (account, claims)
    }

    fn pay(&mut self, amount_cents: i64) {
        let (payment_id, amount) = (PaymentId::new_v4(), cents(amount_cents));
        self.post(PaymentReceived {
            payment_id,
            amount,
            method: PaymentMethod::Cash,
            service_date: None,
            received_at: at(40, 9),
        });
    }
}

#[test]
fn every_billing_event_fills_its_part_of_the_ledger() {
    let (account, claims) = Account::with_history();

    let ledger = account.ledger();

    assert_eq!((ledger.account_id, ledger.client_id), (Some(account.id), Some(account.client)));
    assert_eq!((ledger.opened_at, ledger.payer.is_some()), (Some(at(0, 9)), true));
    assert_eq!(ledger.charges.len(), 3);
    let c = &ledger.charges[0];
    assert_eq!((c.service_date, c.amount, c.lines[0].cpt.as_str()), (date(2026, 3, 2), cents(15_000), "90834"));
    let status = |id| ledger.claim(id).map(|c| c.status);
    assert_eq!(status(claims.rejected), Some(ClaimStatus::Rejected));
    assert_eq!(status(claims.replaced), Some(ClaimStatus::Replaced));
    assert_eq!(status(claims.paid), Some(ClaimStatus::Paid));
    assert_eq!(status(claims.voided), Some(ClaimStatus::Voided));
    assert_eq!(status(claims.void_request), Some(ClaimStatus::VoidRequest));
    let rejected = ledger.claim(claims.rejected).and_then(|c| c.rejection.clone()).expect("rejection");
    assert_eq!(rejected.reason.as_str(), "Invalid member id");
    let replaced = ledger.claim(claims.replaced).expect("replaced");
    assert_eq!(replaced.superseded_by, Some(claims.paid));
    let paid = ledger.claim(claims.paid).expect("paid");
    assert_eq!((paid.frequency_code, paid.frequency.original(), paid.remittances.len()), (7, Some(claims.replaced), 1));
    assert_eq!(ledger.claim(claims.void_request).map(|c| c.frequency_code), Some(8));
    let r = &ledger.remittances[0].posted;
    assert_eq!((r.paid, r.adjusted, r.patient_responsibility), (cents(20_000), cents(6_000), cents(4_000)));
    assert_eq!((r.lines[0].adjustments[0].carc.as_str(), r.lines[0].remarks[0].as_str()), ("45", "N130"));
    assert_eq!((ledger.payments[0].amount, ledger.write_offs[0].amount), (cents(3_000), cents(1_000)));
    assert_eq!(ledger.superbills[0].total, cents(15_000));
    assert_eq!(ledger.balance, Balance::from_cents(15_000));
    assert_eq!(ledger.version, account.log.events.len() as u64);
}

#[test]
fn the_balance_equals_the_domains_after_every_event() {
    let (account, _) = Account::with_history();
    let mut domain = AccountState::default();
    let mut ledger = LedgerView::default();

    for e in &account.log.events {
        ledger.apply(e).expect("folds");
        let event = BillingEvent::from_stored(&e.event_type, e.schema_version, &e.data).expect("decodes");
        domain.apply(&event);

        assert_eq!(ledger.balance, domain.balance(), "after {}", e.event_type);
        assert_eq!(ledger.aging(date(2026, 12, 31)).total(), domain.balance(), "aging adds up after {}", e.event_type);
    }
}

#[test]
fn aging_buckets_turn_over_at_30_60_and_90_days() {
    let today = date(2026, 12, 31);
    let mut account = Account::new();
    let mut amount = 100;
    for age in [30, 31, 60, 61, 90, 91] {
        let service_date = today - Duration::days(age);
        account.post(charge(ChargeId::new_v4(), account.episode, service_date, amount));
        amount *= 10;
    }

    let aging = account.ledger().aging(today);

    assert_eq!(aging.days_0_30, Balance::from_cents(100), "30 days is still current");
    assert_eq!(aging.days_31_60, Balance::from_cents(1_000 + 10_000));
    assert_eq!(aging.days_61_90, Balance::from_cents(100_000 + 1_000_000));
    assert_eq!(aging.over_90, Balance::from_cents(10_000_000), "91 days is over 90");
    assert_eq!(aging.credit, Balance::default());
}

#[test]
fn payments_relieve_the_oldest_charges_first_and_an_overpayment_is_a_credit() {
    let today = date(2026, 12, 31);
    let mut account = Account::new();
    let old: NaiveDate = today - Duration::days(100);
    account.post(charge(ChargeId::new_v4(), account.episode, today - Duration::days(5), 15_000));
    account.post(charge(ChargeId::new_v4(), account.episode, old, 15_000));

    account.pay(20_000);
    let aging = account.ledger().aging(today);
    assert_eq!((aging.over_90, aging.days_0_30), (Balance::default(), Balance::from_cents(10_000)));

    account.pay(15_000);
    let ledger = account.ledger();
    let aging = ledger.aging(today);
    assert_eq!((aging.days_0_30, aging.credit), (Balance::default(), Balance::from_cents(5_000)));
    assert_eq!((ledger.balance, aging.total()), (Balance::from_cents(-5_000), Balance::from_cents(-5_000)));
}

#[test]
fn events_of_another_account_are_ignored_and_the_fold_is_deterministic() {
    let (mine, _) = Account::with_history();
    let (other, _) = Account::with_history();
    let alone = mine.ledger();
    let mut ledger = LedgerView::new(mine.id);

    for (i, e) in other.log.events.iter().chain(&mine.log.events).enumerate() {
        let e = RecordedEvent { position: Position(i as u64 + 1), ..e.clone() };
        ledger.apply(&e).expect("folds");
    }

    assert_eq!((ledger.version, ledger.balance), (alone.version, alone.balance));
    let (json, again) =
        (serde_json::to_string(&alone).expect("json"), serde_json::to_string(&mine.ledger()).expect("json"));
    assert_eq!(json, again);
    assert_eq!(serde_json::from_str::<LedgerView>(&json).expect("round trip"), alone);
}

/// An insured account with the standard history, its client erased at `erased_at`.
fn insured_then_erased() -> (Account, LedgerView, LedgerView) {
    use carelog_domain::billing::AccountOpened;
    use carelog_domain::intake::{ClientErased, IntakeEvent, Payer};
    use carelog_domain::types::{ActorId, MemberId};
    let (mut account, _) = Account::with_history();
    let payer =
        Payer::Insurance { payer_name: short("Quetzal Mutual"), member_id: MemberId::parse("QZ-99812").unwrap() };
    let opened = AccountOpened { account_id: account.id, client_id: account.client, payer, opened_at: at(0, 9) };
    let data = BillingEvent::from(opened).to_data().unwrap();
    account.log.events[0].data = data;
    let before = account.ledger();
    let erased = ClientErased { reason: reason("erasure request"), erased_by: ActorId::new_v4(), erased_at: at(50, 9) };
    let client = account.client;
    account.log.append::<IntakeEvent>(&client.stream_name(), Some(client), None, erased);
    let after = account.ledger();
    (account, before, after)
}

#[test]
fn an_erased_clients_ledger_keeps_its_money_and_loses_payer_ids_and_free_text() {
    let (_, before, after) = insured_then_erased();

    let json = serde_json::to_string(&after).unwrap();
    for phi in ["Quetzal Mutual", "QZ-99812", "Courtesy", "Invalid member id"] {
        assert!(serde_json::to_string(&before).unwrap().contains(phi), "{phi} was there before");
        assert!(!json.contains(phi), "{phi} survived the erasure: {json}");
    }
    assert_eq!(after.erased_at, Some(at(50, 9)));
    assert!(matches!(&after.payer, Some(Payer::Insurance { payer_name, member_id })
        if payer_name.is_erased() && member_id.as_str() == "[erased]"));
    assert!(after.write_offs[0].note.is_erased());
    assert!(after.claims.iter().filter_map(|c| c.rejection.as_ref()).all(|r| r.reason.is_erased()));
    // Money, codes, ids and dates stay: the ledger still balances.
    assert_eq!((after.balance, &after.totals, &after.charges), (before.balance, &before.totals, &before.charges));
    assert_eq!((after.write_offs[0].amount, after.write_offs[0].reason), (cents(1_000), WriteOffReason::SmallBalance));
    assert_eq!((&after.remittances, &after.payments), (&before.remittances, &before.payments));
    assert_eq!((after.last_position, after.version), (before.last_position, before.version));
    // The erasure covers everything the declaration seals: scrubbing by the ledger's classes
    // finds no text left to replace (the payer's name, not sealed in the log, goes as well).
    let mut scrubbed = serde_json::to_value(&after).unwrap();
    let left = |v: &serde_json::Value| serde_json::to_string(v).unwrap();
    let erased = left(&scrubbed);
    carelog_domain::disclosure::scrub(&mut scrubbed, &crate::classes::LEDGER, "[erased]");
    assert_eq!(left(&scrubbed), erased, "the ledger's erasure missed a sealed text");
}

#[test]
fn erasing_twice_changes_nothing_and_later_free_text_is_scrubbed_too() {
    use carelog_domain::billing::{ClaimRejected, ClaimSubmitted};
    let (mut account, _, once) = insured_then_erased();
    let mut twice = once.clone();
    twice.erase(at(60, 9));
    assert_eq!(twice, once, "idempotent, and the first erasure's time stays");

    let claim = ClaimId::new_v4();
    let charge_ids = vec![once.charges[2].charge_id];
    account.post(ClaimSubmitted {
        claim_id: claim,
        frequency: ClaimFrequency::Original,
        payer_claim_number: None,
        charge_ids,
        total: cents(15_000),
        service_from: None,
        service_to: None,
        submitted_at: at(51, 9),
    });
    account.post(ClaimRejected {
        claim_id: claim,
        reason: reason("Subscriber Zarkov unknown"),
        rejected_at: at(52, 9),
    });
    let later = account.ledger();
    assert!(later.claim(claim).and_then(|c| c.rejection.as_ref()).is_some_and(|r| r.reason.is_erased()));
}

#[test]
fn the_erasure_of_another_client_leaves_the_ledger_alone() {
    use carelog_domain::intake::{ClientErased, IntakeEvent};
    use carelog_domain::types::ActorId;
    let (mut account, _) = Account::with_history();
    let before = account.ledger();
    let other = ClientId::new_v7();
    let erased = ClientErased { reason: reason("erasure request"), erased_by: ActorId::new_v4(), erased_at: at(50, 9) };
    account.log.append::<IntakeEvent>(&other.stream_name(), Some(other), None, erased);
    assert_eq!(account.ledger(), before);
}

#[test]
fn every_field_of_the_ledger_and_its_aging_has_a_class() {
    let (account, _) = Account::with_history();
    let ledger = account.ledger();
    let mut json = serde_json::to_value(&ledger).expect("ledger serializes");
    json["aging"] = serde_json::to_value(ledger.aging(date(2026, 12, 1))).expect("aging serializes");
    carelog_domain::disclosure::assert_classified("ledger", &json, &crate::classes::LEDGER);
}
