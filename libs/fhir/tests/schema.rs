//! The validator the export tests rely on must reject what is not FHIR R4: if these pass, a
//! clean result on an export means something.

use carelog_fhir::schema::R4Schema;
use serde_json::json;

#[test]
fn the_r4_schema_accepts_fhir_and_rejects_what_is_not() {
    let schema = R4Schema::load().expect("loads");
    let patient = json!({ "resourceType": "Patient", "id": "a1", "birthDate": "1990-04-01", "active": true });
    assert_eq!(schema.violations(&patient), Vec::<String>::new());
    // An element R4 does not have.
    let unknown = json!({ "resourceType": "Patient", "id": "a1", "nickname": "Al" });
    assert!(!schema.violations(&unknown).is_empty());
    // A code outside a required value set: R4's Encounter has no `noshow` status.
    let encounter = json!({ "resourceType": "Encounter", "status": "noshow", "class": { "code": "AMB" } });
    assert!(!schema.violations(&encounter).is_empty());
    // A malformed primitive: an instant needs seconds and a zone.
    let meta = json!({ "resourceType": "Patient", "meta": { "lastUpdated": "2026-01-02T10:00" } });
    assert!(!schema.violations(&meta).is_empty());
    // Resources inside a Bundle are validated too.
    let bundle = json!({ "resourceType": "Bundle", "type": "collection", "entry": [
        { "fullUrl": "urn:uuid:0c9f7e0e-6b5e-4d0a-9d7e-2f1d4c1b2a3c", "resource": unknown },
    ] });
    assert!(!schema.violations(&bundle).is_empty());
    let bundle_ok = json!({ "resourceType": "Bundle", "type": "collection", "entry": [
        { "fullUrl": "urn:uuid:0c9f7e0e-6b5e-4d0a-9d7e-2f1d4c1b2a3c", "resource": patient },
    ] });
    assert_eq!(schema.violations(&bundle_ok), Vec::<String>::new());
}
