//! The access log's entries were JSON built by hand in the read gate before they had a domain
//! type. Stored events and their hashes are forever, so the type must encode every entry to the
//! very bytes the gate wrote, and read every stored entry back.

use std::path::Path;

use carelog_domain::access::{LoggedPurpose, Outcome, PurposeOfUse, RecordAccessed};
use proptest::prelude::*;
use serde_json::{Value, json};
use uuid::Uuid;

/// The data as the read gate built it before this type (`access_event` in the former carelog-platform's
/// `auth/access.rs`), kept verbatim as the reference every entry is held to.
fn as_the_gate_built_it(entry: &RecordAccessed) -> Value {
    json!({
        "rpc": entry.rpc,
        "role": entry.role.as_str(),
        "clinician_id": entry.clinician_id,
        "purpose_of_use": entry.purpose_of_use.code(),
        "client_id": entry.client_id,
        "outcome": if entry.is_allowed() { "allowed" } else { "denied" },
        "detail": entry.detail,
    })
}

fn bytes(value: &Value) -> String {
    serde_json::to_string(value).expect("JSON")
}

#[test]
fn the_stored_entry_decodes_and_encodes_to_the_same_bytes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/events/RecordAccessed.v1.json");
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
    let stored = &fixture["data"];

    let entry = RecordAccessed::from_stored("RecordAccessed", 1, stored).expect("decodes");

    assert_eq!(entry.purpose_of_use, LoggedPurpose::Known(PurposeOfUse::Treat));
    assert!(entry.is_allowed() && entry.detail["as_of_position"] == 42);
    assert_eq!(bytes(&entry.to_data().expect("encodes")), bytes(stored));
}

fn entry() -> impl Strategy<Value = RecordAccessed> {
    let uuid = any::<u128>().prop_map(Uuid::from_u128);
    const ROLES: [&str; 7] = ["intake", "clinician", "supervisor", "biller", "auditor", "connector", "admin"];
    let detail = prop::collection::btree_map(
        "[a-z_]{1,12}",
        prop_oneof![
            any::<i64>().prop_map(Value::from),
            ".{0,20}".prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
        ],
        0..4,
    )
    .prop_map(|fields| Value::Object(fields.into_iter().collect()));
    (
        ".{0,40}",
        prop::sample::select(&ROLES[..]),
        prop::option::of(uuid.clone()),
        // The codes the gate writes, and codes some other build may have written.
        prop_oneof![
            3 => prop::sample::select(&PurposeOfUse::ALL[..]).prop_map(LoggedPurpose::from),
            1 => "[A-Za-z]{1,12}".prop_map(|code| LoggedPurpose::from_code(&code)),
        ],
        prop::option::of(uuid),
        prop::bool::ANY,
        detail,
    )
        .prop_map(|(rpc, role, clinician_id, purpose_of_use, client_id, allowed, detail)| RecordAccessed {
            rpc,
            role: role.to_owned(),
            clinician_id,
            purpose_of_use,
            client_id,
            outcome: if allowed { Outcome::Allowed } else { Outcome::Denied },
            detail,
        })
}

proptest! {
    #[test]
    fn every_entry_encodes_to_the_bytes_the_gate_wrote_and_reads_back(entry in entry()) {
        let before = as_the_gate_built_it(&entry);
        prop_assert_eq!(bytes(&entry.to_data().unwrap()), bytes(&before));
        prop_assert_eq!(RecordAccessed::from_stored("RecordAccessed", 1, &before).unwrap(), entry);
    }
}
