//! No Surprises Act Good Faith Estimates (45 CFR 149.610): an estimate names billable services,
//! so one made only of add-on codes is refused; charges $400 or more past it make the client
//! eligible for patient-provider dispute resolution (45 CFR 149.620), shown in the record.

use carelog_blackbox::{Caller, TestApp, assert_rejected, ctx, on_both_backends};
use carelog_proto::v1 as proto;
use tonic::Code;

use super::{Payer, clinic, id};

fn estimate(client_id: &str, cpts: &[&str]) -> proto::IssueGoodFaithEstimateRequest {
    use proto::issue_good_faith_estimate_request::Line;
    proto::IssueGoodFaithEstimateRequest {
        context: ctx(),
        client_id: client_id.to_owned(),
        estimate_id: id(),
        lines: cpts.iter().map(|cpt| Line { cpt: (*cpt).to_owned(), units: 1, unit_fee_cents: 3_000 }).collect(),
    }
}

async fn an_estimate_of_add_on_codes_alone_is_refused(app: &TestApp) {
    let c = clinic(app, Payer::SelfPay, &[]).await;
    let mut intake = app.intake(&Caller::new("biller"));
    let before = app.event_count().await;
    for add_ons in [&["90785"][..], &["90840"], &["90839", "90785"]] {
        let err = intake.issue_good_faith_estimate(estimate(&c.client_id, add_ons)).await.unwrap_err();
        assert_rejected(&err, Code::FailedPrecondition, "ADDON_REQUIRES_PRIMARY");
    }
    assert_eq!(app.event_count().await, before, "a refusal stores nothing");
    let receipt = intake.issue_good_faith_estimate(estimate(&c.client_id, &["90834", "90785"])).await.unwrap();
    assert_eq!(receipt.into_inner().event_types, ["GoodFaithEstimateIssued"]);
}

async fn charges_400_dollars_past_the_estimate_show_dispute_eligibility(app: &TestApp) {
    let mut c = clinic(app, Payer::SelfPay, &["F32.1"]).await;
    let mut intake = app.intake(&Caller::new("biller"));
    let mut request = estimate(&c.client_id, &["90834"]);
    request.lines[0].unit_fee_cents = 10_000;
    intake.issue_good_faith_estimate(request).await.unwrap();
    let (mut records, client_id) = (app.records(&Caller::new("biller")), c.client_id.clone());
    let mut dispute = async |app: &TestApp| {
        let request = proto::GetEpisodeRequest { client_id: client_id.clone(), min_position: app.event_count().await };
        let view = records.get_episode(request).await.unwrap().into_inner().view.expect("a view");
        view.billing.expect("billing").dispute_resolution
    };
    for _ in 0..2 {
        let session = c.signed_video().await;
        c.charged(app, &session).await;
    }
    assert!(dispute(app).await.is_none(), "$360 billed on a $100 estimate: $260 over");
    let session = c.signed_video().await;
    c.charged(app, &session).await;
    let eligible = dispute(app).await.expect("eligible for dispute resolution");
    assert_eq!((eligible.billed, eligible.over_by), (54_000, 44_000));
}

on_both_backends!(
    an_estimate_of_add_on_codes_alone_is_refused,
    charges_400_dollars_past_the_estimate_show_dispute_eligibility,
);
