//! Black-box tests of the RecordsService and the projections behind it.

mod actors;
mod clinical;
mod integrity;
mod views;

use carelog_blackbox::{Caller, TestApp, ctx, ctx_because};
use carelog_proto::v1 as proto;
use uuid::Uuid;

/// A short intake, returning the receipts' positions and the client id.
pub async fn short_intake(app: &TestApp) -> (String, Vec<u64>) {
    let (client, steps) = intake_steps(app, false).await;
    (client, steps.into_iter().map(|(p, _)| p).collect())
}

/// The short intake, capturing the live episode view right after each step.
pub async fn short_intake_capturing(app: &TestApp) -> (String, Vec<(u64, proto::EpisodeView)>) {
    intake_steps(app, true).await
}

async fn snapshot(app: &TestApp, client: &str, position: u64) -> proto::EpisodeView {
    let mut records = app.records(&Caller::new("auditor"));
    let reply = records
        .get_episode(proto::GetEpisodeRequest { client_id: client.to_owned(), min_position: position })
        .await
        .expect("live view")
        .into_inner();
    assert_eq!(reply.position, position, "no other writer runs in this test");
    crate::given::view_of(reply)
}

async fn intake_steps(app: &TestApp, capture: bool) -> (String, Vec<(u64, proto::EpisodeView)>) {
    let staff = Caller::new("intake");
    let mut intake = app.intake(&staff);
    let client = Uuid::now_v7();
    let mut positions = Vec::new();
    let id = client.to_string();
    let r = intake.register_client(crate::intake::register_request(client)).await.unwrap().into_inner();
    let view = if capture { snapshot(app, &id, r.position).await } else { proto::EpisodeView::default() };
    positions.push((r.position, view));
    let episode = Uuid::now_v7().to_string();
    let r = intake
        .open_episode(proto::OpenEpisodeRequest {
            context: ctx(),
            client_id: client.to_string(),
            episode_id: episode,
            clinician_id: Uuid::now_v7().to_string(),
            opened_at: None,
        })
        .await
        .unwrap()
        .into_inner();
    let view = if capture { snapshot(app, &id, r.position).await } else { proto::EpisodeView::default() };
    positions.push((r.position, view));
    let consent = Uuid::now_v7().to_string();
    let r = intake
        .give_consent(proto::GiveConsentRequest {
            context: ctx(),
            client_id: client.to_string(),
            consent_id: consent.clone(),
            given_at: None,
            kind: Some(proto::give_consent_request::Kind::Treatment(Default::default())),
        })
        .await
        .unwrap()
        .into_inner();
    let view = if capture { snapshot(app, &id, r.position).await } else { proto::EpisodeView::default() };
    positions.push((r.position, view));
    let r = intake
        .record_assessment(proto::RecordAssessmentRequest {
            context: ctx(),
            client_id: client.to_string(),
            assessment_id: Uuid::now_v7().to_string(),
            instrument: proto::record_assessment_request::Instrument::Phq9 as i32,
            item_scores: vec![1, 2, 1, 1, 0, 1, 1, 0, 1],
            administered_at: None,
        })
        .await
        .unwrap()
        .into_inner();
    let view = if capture { snapshot(app, &id, r.position).await } else { proto::EpisodeView::default() };
    positions.push((r.position, view));
    let r = intake
        .revoke_consent(proto::RevokeConsentRequest {
            context: ctx_because("client asked to pause treatment"),
            client_id: client.to_string(),
            consent_id: consent,
            revoked_at: None,
        })
        .await
        .unwrap()
        .into_inner();
    let view = if capture { snapshot(app, &id, r.position).await } else { proto::EpisodeView::default() };
    positions.push((r.position, view));
    (client.to_string(), positions)
}
