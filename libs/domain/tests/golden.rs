//! Golden fixtures of every stored event type and version (`fixtures/events/TYPE.vN.json`):
//! each decodes forever, a current version's encoding is exactly its fixture (an encoding that
//! changes without a new version fails here), and an older version is read forward by its
//! upcasters. New fixtures: `CARELOG_BLESS_FIXTURES=1 cargo test -p carelog-domain` writes the
//! missing ones from the aggregates' round-trip samples; existing ones are never rewritten.

use std::path::Path;

use carelog_domain::access::RecordAccessed;
use carelog_domain::billing::BillingEvent;
use carelog_domain::intake::IntakeEvent;
use carelog_domain::planning::PlanningEvent;
use carelog_domain::sessions::SessionEvent;
use carelog_domain::upcast::{current_version, upcast};
use serde_json::Value;

/// Decodes stored data with the aggregate that owns the type and encodes the event again.
fn decode_and_encode(event_type: &str, version: u32, data: &Value) -> Result<Value, String> {
    fn via<E>(
        decoded: Result<E, carelog_domain::DecodeError>,
        encode: impl Fn(&E) -> Result<Value, serde_json::Error>,
    ) -> Result<Value, String> {
        let event = decoded.map_err(|e| e.to_string())?;
        encode(&event).map_err(|e| e.to_string())
    }
    if IntakeEvent::EVENT_TYPES.contains(&event_type) {
        via(IntakeEvent::from_stored(event_type, version, data), IntakeEvent::to_data)
    } else if PlanningEvent::EVENT_TYPES.contains(&event_type) {
        via(PlanningEvent::from_stored(event_type, version, data), PlanningEvent::to_data)
    } else if SessionEvent::EVENT_TYPES.contains(&event_type) {
        via(SessionEvent::from_stored(event_type, version, data), SessionEvent::to_data)
    } else if BillingEvent::EVENT_TYPES.contains(&event_type) {
        via(BillingEvent::from_stored(event_type, version, data), BillingEvent::to_data)
    } else if event_type == RecordAccessed::EVENT_TYPE {
        via(RecordAccessed::from_stored(event_type, version, data), RecordAccessed::to_data)
    } else {
        Err(format!("{event_type} is no event type of any aggregate"))
    }
}

fn fixtures() -> Vec<(String, u32, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/events");
    let mut all = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("fixtures/events") {
        let path = entry.expect("entry").path();
        let fixture: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
        let event_type = fixture["event_type"].as_str().expect("event_type").to_owned();
        let version = fixture["schema_version"].as_u64().expect("schema_version") as u32;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        assert_eq!(name, format!("{event_type}.v{version}.json"), "a fixture's name says its type and version");
        all.push((event_type, version, fixture["data"].clone()));
    }
    all
}

#[test]
fn every_fixture_decodes_and_a_current_version_encodes_exactly_as_stored() {
    for (event_type, version, data) in fixtures() {
        let encoded = decode_and_encode(&event_type, version, &data)
            .unwrap_or_else(|e| panic!("{event_type} v{version} no longer decodes: {e}"));
        let expected = upcast(&event_type, version, &data).expect("upcast").into_owned();
        assert_eq!(
            encoded, expected,
            "{event_type} v{version}: the encoding changed; give the type a new version in upcast.rs with an \
             upcaster, and bless a fixture of it"
        );
    }
}

#[test]
fn every_event_type_has_a_fixture_of_every_version() {
    let have: Vec<(String, u32)> = fixtures().into_iter().map(|(t, v, _)| (t, v)).collect();
    let types = [
        IntakeEvent::EVENT_TYPES,
        PlanningEvent::EVENT_TYPES,
        SessionEvent::EVENT_TYPES,
        BillingEvent::EVENT_TYPES,
        &[RecordAccessed::EVENT_TYPE],
    ];
    for event_type in types.concat() {
        for version in 1..=current_version(event_type) {
            assert!(
                have.contains(&(event_type.to_owned(), version)),
                "no golden fixture for {event_type} v{version}: run `CARELOG_BLESS_FIXTURES=1 cargo test -p \
                 carelog-domain` and commit fixtures/events/{event_type}.v{version}.json"
            );
        }
    }
}

#[test]
fn a_version_one_claim_is_read_forward_with_an_unknown_payer_claim_number() {
    let (_, _, v1) = fixtures().into_iter().find(|(t, v, _)| t == "ClaimSubmitted" && *v == 1).expect("v1 fixture");
    let event = BillingEvent::from_stored("ClaimSubmitted", 1, &v1).expect("decodes");
    let BillingEvent::ClaimSubmitted(claim) = event else { panic!("a claim") };
    assert_eq!(claim.payer_claim_number, None);
    assert_eq!(claim.claim_id.to_string(), v1["claim_id"].as_str().unwrap());
}
