//! Client search through the keyed blind index: by name words (any case or accent), date of birth
//! and member id, every criterion matching; paged; a clinician finds only their own clients; each
//! client found is logged as read; erasure takes a client out of the index; bad input names its
//! field.

use carelog_blackbox::{Caller, TestApp, assert_invalid_field, on_both_backends};
use carelog_domain::types::{ClientId, Reason};
use carelog_proto::v1 as proto;
use tonic::Code;
use uuid::Uuid;

fn person(name: &str, born: &str, member_id: Option<&str>) -> proto::RegisterClientRequest {
    let payer = match member_id {
        Some(id) => proto::register_client_request::Payer::Insurance(proto::register_client_request::Insurance {
            payer_name: "Acme Health".into(),
            member_id: id.into(),
        }),
        None => proto::register_client_request::Payer::SelfPay(proto::register_client_request::SelfPay {}),
    };
    proto::RegisterClientRequest {
        legal_name: name.into(),
        preferred_name: String::new(),
        date_of_birth: born.into(),
        payer: Some(payer),
        ..crate::intake::register_request(Uuid::now_v7())
    }
}

fn by_name(name: &str) -> proto::SearchClientsRequest {
    proto::SearchClientsRequest { name: name.into(), ..Default::default() }
}

async fn found(app: &TestApp, caller: &Caller, request: proto::SearchClientsRequest) -> Vec<String> {
    app.records(caller).search_clients(request).await.expect("search").into_inner().client_ids
}

async fn clients_are_found_by_name_birth_date_and_member_id_without_clear_text(app: &TestApp) {
    let clinician = Uuid::now_v7();
    let rivera =
        crate::given::open_episode_with(app, person("Zoë Rivera", "1990-05-17", Some("XYZ-123456")), clinician)
            .await
            .client_id
            .to_string();
    let martin = person("ZOE Martin", "1985-01-02", None);
    let martin_id = martin.client_id.clone();
    app.intake(&crate::given::front_desk()).register_client(martin).await.expect("registered");
    let mut both = vec![rivera.clone(), martin_id.clone()];
    both.sort();

    let auditor = Caller::new("auditor");
    assert_eq!(found(app, &auditor, by_name("zoe")).await, both, "any case, any accent");
    assert_eq!(found(app, &auditor, by_name("rivera ZOE")).await, [rivera.as_str()], "every word must match");
    assert!(found(app, &auditor, by_name("zoey")).await.is_empty(), "whole words only");
    let born = proto::SearchClientsRequest { date_of_birth: "1990-05-17".into(), ..Default::default() };
    assert_eq!(found(app, &auditor, born).await, [rivera.as_str()]);
    let member = proto::SearchClientsRequest { member_id: "xyz123456".into(), ..Default::default() };
    assert_eq!(found(app, &auditor, member).await, [rivera.as_str()], "case and hyphens ignored");
    let both_criteria = proto::SearchClientsRequest { date_of_birth: "1985-01-02".into(), ..by_name("zoe") };
    assert_eq!(found(app, &auditor, both_criteria).await, [martin_id.as_str()]);

    // Paged in client id order.
    let first = proto::SearchClientsRequest { page_size: 1, ..by_name("zoe") };
    let first = app.records(&auditor).search_clients(first).await.unwrap().into_inner();
    assert_eq!(first.client_ids, both[..1]);
    let rest = proto::SearchClientsRequest { page_size: 1, page_token: first.next_page_token, ..by_name("zoe") };
    let rest = app.records(&auditor).search_clients(rest).await.unwrap().into_inner();
    assert_eq!((rest.client_ids.as_slice(), rest.next_page_token.as_str()), (&both[1..], ""));

    // A clinician finds their own client only; a connector may not search.
    assert_eq!(found(app, &Caller::with_id("clinician", clinician), by_name("zoe")).await, [rivera.as_str()]);
    let status = app.records(&Caller::new("connector")).search_clients(by_name("zoe")).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    // Each client found shows the search in their audit trail.
    let trail = app
        .records(&auditor)
        .list_audit_trail(proto::ListAuditTrailRequest { client_id: rivera.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(trail.entries.iter().any(|e| e.rpc == "RecordsService/SearchClients"), "{:#?}", trail.entries);

    // Erasure takes the client out of the index.
    let reason = Reason::parse("erasure request, ticket 4711").unwrap();
    let client = ClientId::parse(&martin_id).unwrap();
    carelog::erase::erase_client(&app.sealed, app.database(), client, reason, 0, Uuid::now_v7()).await.expect("erased");
    assert_eq!(found(app, &auditor, by_name("zoe")).await, [rivera.as_str()]);
    let born = proto::SearchClientsRequest { date_of_birth: "1985-01-02".into(), ..Default::default() };
    assert!(found(app, &auditor, born).await.is_empty());
}

async fn bad_searches_are_refused_naming_the_field_and_store_nothing(app: &TestApp) {
    let auditor = Caller::new("auditor");
    let long = "a".repeat(201);
    let before = app.event_count().await;
    for (request, field) in [
        (proto::SearchClientsRequest::default(), "name"),
        (by_name("Ana\0Ruiz"), "name"),
        (by_name(&long), "name"),
        (proto::SearchClientsRequest { date_of_birth: "-5000-01-01".into(), ..Default::default() }, "date_of_birth"),
        (proto::SearchClientsRequest { member_id: "x".into(), ..Default::default() }, "member_id"),
        (proto::SearchClientsRequest { page_size: 1000, ..by_name("zoe") }, "page_size"),
        (proto::SearchClientsRequest { page_token: "../x".into(), ..by_name("zoe") }, "page_token"),
    ] {
        let status = app.records(&auditor).search_clients(request).await.unwrap_err();
        assert_invalid_field(&status, field);
    }
    assert_eq!(app.event_count().await, before, "a refused search logs no read");
}

on_both_backends!(
    clients_are_found_by_name_birth_date_and_member_id_without_clear_text,
    bad_searches_are_refused_naming_the_field_and_store_nothing
);
