//! One charge per session across every account the client has, and the charge's clinical time:
//! the service's, not the recording's.

use carelog_blackbox::{TestApp, assert_rejected, on_both_backends};
use carelog_proto::v1 as proto;
use chrono::Duration;
use proto::SessionModality::InPerson;
use proto::hold_session_request::PatientLocation;
use proto::schedule_session_request::Kind;
use tonic::Code;

use super::{Clinic, Payer, Stage, clinic, id, open_account, original_claim, payment, stored};
use carelog_blackbox::assert_invalid_field;

/// The client's second account (e.g. a self-pay account beside the insured one).
async fn second_account(c: &mut Clinic) -> String {
    let account = id();
    c.billing.open_account(open_account(&account, &c.client_id)).await.unwrap();
    account
}

async fn a_session_is_charged_once_across_every_account_of_the_client(app: &TestApp) {
    let mut c = clinic(app, Payer::Insured, &["F32.1"]).await;
    let other = second_account(&mut c).await;
    let session = c.signed_video().await;
    let first = c.billing.create_charge(c.charge(&session, &[1])).await.unwrap().into_inner();
    let before = app.event_count().await;
    let elsewhere = proto::CreateChargeRequest { account_id: other.clone(), ..c.charge(&session, &[1]) };
    let err = c.billing.create_charge(elsewhere).await.unwrap_err();
    assert_rejected(&err, Code::FailedPrecondition, "SESSION_ALREADY_CHARGED");
    assert_eq!(app.event_count().await, before, "a refusal stores nothing");
    assert!(first.position > 0);

    // Billers racing to charge one session on two accounts store exactly one charge.
    let session = c.signed_video().await;
    let calls = [c.account_id.clone(), other.clone(), c.account_id.clone(), other].map(|account| {
        let (mut billing, request) =
            (c.billing.clone(), proto::CreateChargeRequest { account_id: account, ..c.charge(&session, &[1]) });
        async move { billing.create_charge(request).await }
    });
    let outcomes = futures::future::join_all(calls).await;
    for err in outcomes.iter().filter_map(|o| o.as_ref().err()) {
        let reason = if err.code() == Code::Aborted { "CONCURRENCY_CONFLICT" } else { "SESSION_ALREADY_CHARGED" };
        assert_rejected(
            err,
            if err.code() == Code::Aborted { Code::Aborted } else { Code::FailedPrecondition },
            reason,
        );
    }
    let charged = futures::future::join_all(
        outcomes.iter().filter_map(|o| o.as_ref().ok()).map(|r| stored(app, &r.get_ref().stream)),
    )
    .await;
    let of_session = charged
        .iter()
        .flatten()
        .filter(|e| e.event_type == "ChargeCreated" && e.data["session_id"] == session.as_str())
        .map(|e| e.event_id)
        .collect::<std::collections::BTreeSet<_>>();
    assert_eq!(of_session.len(), 1, "{outcomes:?}");
}

async fn a_charge_carries_the_service_date_as_its_clinical_time(app: &TestApp) {
    let mut c = clinic(app, Payer::SelfPay, &["F32.1"]).await;
    let ago = Duration::days(9) + Duration::hours(3);
    let session = c.session_ago(Kind::Psychotherapy, 55, InPerson, PatientLocation::Home, Stage::Signed, ago).await;
    let charge = c.charged(app, &session).await;
    let held = stored(app, &format!("session-{session}")).await;
    let held = held.iter().find(|e| e.event_type == "SessionHeld").expect("held");
    let started: chrono::DateTime<chrono::Utc> = held.data["started_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(charge.metadata.occurred_at, started, "the clinical time is the service's");
    assert_eq!(charge.data["service_date"], started.date_naive().to_string());
    assert!(
        charge.recorded_at - charge.metadata.occurred_at > Duration::days(9),
        "recorded now, about the service then"
    );
}

async fn claims_and_payments_carry_the_service_dates_they_are_about(app: &TestApp) {
    let mut c = clinic(app, Payer::Insured, &["F32.1"]).await;
    let mut charges = Vec::new();
    for days in [30, 4] {
        let ago = Duration::days(days) + Duration::hours(2);
        let session = c.session_ago(Kind::Psychotherapy, 55, InPerson, PatientLocation::Home, Stage::Signed, ago).await;
        charges.push(c.charged(app, &session).await.data);
    }
    let ids = charges.iter().map(|d| d["charge_id"].as_str().unwrap().to_owned()).collect();
    let receipt = c.billing.submit_claim(original_claim(&c.account_id, ids)).await.unwrap().into_inner();
    let claim = &stored(app, &receipt.stream).await[usize::try_from(receipt.revision).unwrap()];
    assert_eq!(
        (&claim.data["service_from"], &claim.data["service_to"], claim.schema_version),
        (&charges[0]["service_date"], &charges[1]["service_date"], 3)
    );
    let day = charges[1]["service_date"].as_str().unwrap().to_owned();
    let paid = proto::ReceivePaymentRequest { service_date: day.clone(), ..payment(&c.account_id, 2_000) };
    let receipt = c.billing.receive_payment(paid).await.unwrap().into_inner();
    let stored_payment = &stored(app, &receipt.stream).await[usize::try_from(receipt.revision).unwrap()];
    assert_eq!((stored_payment.data["service_date"].as_str(), stored_payment.schema_version), (Some(day.as_str()), 2));
    let before = app.event_count().await;
    let tomorrow = (chrono::Utc::now() + Duration::days(2)).date_naive().to_string();
    for bad in [tomorrow.as_str(), "2026-13-01", "1850-01-01", "yesterday"] {
        let request = proto::ReceivePaymentRequest { service_date: bad.into(), ..payment(&c.account_id, 100) };
        assert_invalid_field(&c.billing.receive_payment(request).await.unwrap_err(), "service_date");
    }
    assert_eq!(app.event_count().await, before, "a refusal stores nothing");
}

on_both_backends!(
    claims_and_payments_carry_the_service_dates_they_are_about,
    a_session_is_charged_once_across_every_account_of_the_client,
    a_charge_carries_the_service_date_as_its_clinical_time,
);
