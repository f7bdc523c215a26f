//! Named actors: the display name a caller's token carries is recorded with everything they do and
//! shown wherever actors are (audit trail, event envelopes), and access entries say which RPC, for
//! what purpose and with what outcome. A hostile name never gets into the log.

use std::time::Duration;

use carelog_blackbox::{Caller, TestApp, on_both_backends};
use carelog_proto::v1 as proto;
use tonic::Code;
use uuid::Uuid;

/// The client's audit trail once it holds at least `count` entries matching `wanted`.
async fn trail_with(
    app: &TestApp,
    client: &str,
    wanted: impl Fn(&proto::AuditEntry) -> bool,
    count: usize,
) -> Vec<proto::AuditEntry> {
    let mut records = app.records(&Caller::new("auditor"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let request =
            proto::ListAuditTrailRequest { client_id: client.to_owned(), page_size: 1000, ..Default::default() };
        let entries = records.list_audit_trail(request).await.expect("trail").into_inner().entries;
        if entries.iter().filter(|e| wanted(e)).count() >= count {
            return entries;
        }
        assert!(tokio::time::Instant::now() < deadline, "the trail never showed the entries: {entries:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn actors_are_named_and_access_entries_say_rpc_purpose_and_outcome(app: &TestApp) {
    let desk = Caller::new("intake").named("Dana Whitfield");
    let client = Uuid::now_v7();
    let receipt = app
        .intake(&desk)
        .register_client(crate::intake::register_request(client))
        .await
        .expect("registered")
        .into_inner();
    let client = client.to_string();

    let auditor = Caller::new("auditor").named("Avery Stone (OIG)");
    let read = proto::GetEpisodeRequest { client_id: client.clone(), min_position: receipt.position };
    app.records(&auditor).get_episode(read.clone()).await.expect("the auditor reads");
    // A clinician the client is not assigned to is refused, and the refusal is logged by name.
    let stranger = Caller::new("clinician").named("Dr. Not Assigned");
    let status = app.records(&stranger).get_episode(read).await.expect_err("not their client");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");

    let trail = trail_with(app, &client, |e| e.event_type == "RecordAccessed", 2).await;
    let registered = trail.iter().find(|e| e.event_type == "ClientRegistered").expect("registration");
    assert_eq!(registered.actor_name, "Dana Whitfield");
    assert_eq!(registered.actor_id, desk.id.to_string());
    assert_eq!((registered.rpc.as_str(), registered.outcome.as_str()), ("", ""), "not an access entry");

    let by = |name: &str| trail.iter().find(|e| e.event_type == "RecordAccessed" && e.actor_name == name);
    let allowed = by("Avery Stone (OIG)").expect("the auditor's read is logged by name");
    assert_eq!(allowed.rpc, "RecordsService/GetEpisode");
    assert_eq!(allowed.outcome, "allowed");
    assert!(!allowed.purpose_of_use.is_empty(), "{allowed:?}");
    let denied = by("Dr. Not Assigned").expect("the refusal is logged by name");
    assert_eq!((denied.rpc.as_str(), denied.outcome.as_str()), ("RecordsService/GetEpisode", "denied"));

    // The envelope a connector receives names the actor too.
    let mut feed = app
        .records(&Caller::new("connector"))
        .subscribe(proto::SubscribeRequest { event_types: vec!["ClientRegistered".into()], ..Default::default() })
        .await
        .expect("subscribe")
        .into_inner();
    let envelope = loop {
        match feed.message().await.expect("feed").expect("open").item {
            Some(proto::subscribe_reply::Item::Event(e)) if e.position == receipt.position => break e,
            _ => {}
        }
    };
    assert_eq!(envelope.actor.expect("actor").display_name, "Dana Whitfield");
}

async fn a_hostile_display_name_is_refused_and_stores_nothing(app: &TestApp) {
    let before = app.event_count().await;
    let long = "n".repeat(carelog_auth::MAX_DISPLAY_NAME_CHARS + 1);
    for hostile in ["Ana\0Ruiz", "Ana\u{202E}ziuR", "Ana\nRuiz", long.as_str()] {
        let caller = Caller::new("intake").named(hostile);
        let status = app
            .intake(&caller)
            .register_client(crate::intake::register_request(Uuid::now_v7()))
            .await
            .expect_err("a hostile name");
        assert_eq!(status.code(), Code::Unauthenticated, "{hostile:?}: {status:?}");
        assert!(status.message().contains("name"), "{hostile:?}: the message names the field: {status:?}");
    }
    assert_eq!(app.event_count().await, before, "nothing stored");
}

on_both_backends!(
    actors_are_named_and_access_entries_say_rpc_purpose_and_outcome,
    a_hostile_display_name_is_refused_and_stores_nothing
);
