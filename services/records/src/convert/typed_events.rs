//! Every stored event type and schema version (the domain's golden fixtures) fits its typed
//! message in `EventData`, whole and as each role receives it after the read gate: so a new event
//! type or field cannot reach Subscribe without its proto.

use carelog_auth::{Role, sees};
use carelog_domain::disclosure::{event_classes, redact};
use serde_json::Value;

use carelog_proto::typed::snake_case;

use super::*;

fn fixtures() -> Vec<(String, Value)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../libs/domain/fixtures/events");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("the domain's golden fixtures") {
        let path = entry.expect("a fixture").path();
        let fixture: Value = serde_json::from_slice(&std::fs::read(&path).expect("readable")).expect("JSON");
        let event_type = fixture["event_type"].as_str().expect("event_type").to_owned();
        out.push((event_type, fixture["data"].clone()));
    }
    assert!(out.len() >= 40, "found only {} fixtures in {dir}", out.len());
    out
}

#[test]
fn every_fixture_fits_its_typed_message_for_every_role() {
    for (event_type, data) in fixtures() {
        let member = snake_case(&event_type);
        let whole = serde_json::json!({ member.clone(): data });
        let typed =
            carelog_proto::typed::from_json::<proto::EventData>(&whole).unwrap_or_else(|e| panic!("{event_type}: {e}"));
        assert!(typed.event.is_some(), "{event_type}: no member set");
        let back = carelog_proto::typed::to_json(&typed).expect("renders");
        assert!(back.get(&member).is_some(), "{event_type} landed in another member: {back}");
        for role in Role::ALL {
            let mut cut = data.clone();
            redact(&mut cut, &event_classes(&event_type), &|class| sees(role, class));
            let cut = serde_json::json!({ member.clone(): cut });
            carelog_proto::typed::from_json::<proto::EventData>(&cut)
                .unwrap_or_else(|e| panic!("{event_type} as {role:?} receives it: {e}"));
        }
    }
}

/// The proofs service's own event (not a domain event, so without a golden fixture).
#[test]
fn a_signing_key_change_fits_its_member() {
    let data = serde_json::json!({
        "key": "11".repeat(32), "previous_key": "22".repeat(32), "log_size": 5, "kind": "handover",
        "reason": "yearly rotation", "signature": "33".repeat(64), "previous_signature": "44".repeat(64)
    });
    let typed = carelog_proto::typed::from_json::<proto::EventData>(&serde_json::json!({"signing_key_changed": data}))
        .expect("fits");
    let Some(proto::event_data::Event::SigningKeyChanged(change)) = typed.event else { panic!("{typed:?}") };
    assert_eq!((change.key.clone(), change.signature.len()), (vec![0x11; 32], 64));
    assert_eq!(change.kind(), proto::SigningKeyChangeKind::Handover);
}

#[test]
fn event_types_name_their_member() {
    assert_eq!(snake_case("ClientRegistered"), "client_registered");
    assert_eq!(snake_case("NoShowRecorded"), "no_show_recorded");
}
