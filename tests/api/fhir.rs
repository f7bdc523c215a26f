//! FHIR R4 export: the demo episode as a Bundle over gRPC and the whole practice as NDJSON,
//! validated against the official R4 JSON schema, on SQLite and PostgreSQL.

mod bulk;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use base64::Engine as _;
use carelog_blackbox::{Caller, TestApp, assert_invalid_field, assert_rejected, ctx, ctx_because, on_both_backends};
use carelog_domain::access::{LoggedPurpose, PurposeOfUse};
use carelog_fhir::schema::R4Schema;
use carelog_proto::v1 as proto;
use serde_json::Value;
use tonic::Code;
use uuid::Uuid;

/// The psychotherapy note's text: it must appear in no export, in clear or in an attachment.
const PROCESS_NOTE: &str = "Process notes: countertransference around the client's father";
const CORRECTION: &str = "I have two children, not three.";

/// The schema compiles once per test binary (it is 3 MB).
fn schema() -> &'static R4Schema {
    static SCHEMA: OnceLock<R4Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| R4Schema::load().expect("the vendored FHIR R4 schema loads"))
}

/// Asserts `resource` is valid FHIR R4 JSON.
#[track_caller]
pub fn assert_valid(resource: &Value) {
    let violations = schema().violations(resource);
    assert!(
        violations.is_empty(),
        "{} violations, first: {:#?}",
        violations.len(),
        &violations[..violations.len().min(10)]
    );
}

/// The demo episode plus what it lacks for these tests: a revoked consent, an accepted
/// amendment (a correction appended to a note) and a psychotherapy note.
pub struct Demo {
    pub client_id: String,
    pub revoked_consent: String,
    pub revoked_position: u64,
    pub amended_session: String,
    pub view: proto::EpisodeView,
    pub ledger: proto::LedgerView,
}

pub async fn demo(app: &TestApp) -> Demo {
    let outcome = app.run_demo().await;
    let clinician = Caller::clinician(&outcome.clinician_id);
    let view = &outcome.episode;
    let revoked_consent = view.consents.get(1).expect("a second consent").consent_id.clone();
    let revoked_position = app
        .intake(&clinician)
        .revoke_consent(proto::RevokeConsentRequest {
            context: ctx_because("client withdrew consent to telehealth"),
            client_id: outcome.client_id.clone(),
            consent_id: revoked_consent.clone(),
            revoked_at: None,
        })
        .await
        .expect("revoke")
        .into_inner()
        .position;
    let session = view.sessions.iter().find(|s| s.note.is_some()).expect("a note");
    let amended_session = session.session_id.clone();
    let mut sessions = app.sessions(&clinician);
    let amendment_id = Uuid::now_v7().to_string();
    sessions
        .request_amendment(proto::RequestAmendmentRequest {
            context: ctx_because("the note states three children"),
            session_id: amended_session.clone(),
            amendment_id: amendment_id.clone(),
            requested_change: CORRECTION.into(),
        })
        .await
        .expect("request amendment");
    use proto::decide_amendment_request::{Accept, Decision};
    sessions
        .decide_amendment(proto::DecideAmendmentRequest {
            context: ctx(),
            session_id: amended_session.clone(),
            amendment_id,
            clinician_id: outcome.clinician_id.clone(),
            decision: Some(Decision::Accept(Accept { addendum_id: Uuid::now_v7().to_string() })),
        })
        .await
        .expect("accept amendment");
    let last = sessions
        .record_psychotherapy_note(proto::RecordPsychotherapyNoteRequest {
            context: ctx(),
            session_id: amended_session.clone(),
            note_id: Uuid::now_v7().to_string(),
            author_id: outcome.clinician_id.clone(),
            text: PROCESS_NOTE.into(),
        })
        .await
        .expect("psychotherapy note")
        .into_inner()
        .position;
    let mut records = app.records(&Caller::new("auditor"));
    let episode = proto::GetEpisodeRequest { client_id: outcome.client_id.clone(), min_position: last };
    let view = crate::given::view_of(records.get_episode(episode).await.expect("view").into_inner());
    let ledger = proto::GetLedgerRequest { account_id: outcome.account_id.clone(), ..Default::default() };
    let ledger = records.get_ledger(ledger).await.expect("ledger").into_inner().ledger.expect("the ledger");
    Demo { client_id: outcome.client_id, revoked_consent, revoked_position, amended_session, view, ledger }
}

/// Every `"reference"` string anywhere in `value`.
pub fn references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("reference", Value::String(r)) => out.push(r.clone()),
                    _ => references(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

/// Fails if the psychotherapy note's text is in `text`, or in any base64 attachment in it.
#[track_caller]
pub fn assert_no_process_note(text: &str, resources: &[Value]) {
    assert!(!text.contains(PROCESS_NOTE), "psychotherapy note text leaked");
    for resource in resources {
        for content in resource["content"].as_array().into_iter().flatten() {
            let data = content["attachment"]["data"].as_str().unwrap_or_default();
            let decoded = base64::engine::general_purpose::STANDARD.decode(data).expect("base64");
            assert!(!String::from_utf8_lossy(&decoded).contains(PROCESS_NOTE), "leaked in an attachment");
        }
    }
}

async fn the_demo_episode_exports_as_a_valid_bundle(app: &TestApp) {
    let demo = demo(app).await;
    let mut records = app.records(&Caller::new("connector"));
    let request = proto::ExportEpisodeFhirRequest { client_id: demo.client_id.clone(), as_of: None };
    let reply = records.export_episode_fhir(request).await.expect("export").into_inner();
    let bundle: Value = serde_json::from_str(&reply.bundle_json).expect("JSON");
    assert_valid(&bundle);
    assert_eq!((bundle["resourceType"].as_str(), bundle["type"].as_str()), (Some("Bundle"), Some("collection")));
    let entries = bundle["entry"].as_array().expect("entries");
    assert_eq!(reply.resource_count as usize, entries.len());
    let resources: Vec<Value> = entries.iter().map(|e| e["resource"].clone()).collect();
    let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &resources {
        *by_type.entry(r["resourceType"].as_str().expect("type")).or_default() += 1;
    }
    let view = &demo.view;
    let goals: usize = view.plans.iter().map(|p| p.goals.len()).sum();
    let notes = view.sessions.iter().filter(|s| s.note.is_some()).count();
    let addenda: usize = view.sessions.iter().filter_map(|s| s.note.as_ref()).map(|n| n.addenda.len()).sum();
    assert_eq!((notes, addenda), (6, 2), "six signed notes, a late entry and the accepted amendment");
    let events = app
        .store
        .read_client(&demo.client_id, &carelog_store::LogQuery::from(carelog_store::Position(1), 1000))
        .await
        .expect("events");
    // Each read of the record up to the exported position is an AuditEvent (the demo's and this
    // test's reads; the export's own is logged after it); each other resource has its Provenance.
    let reads = events.iter().filter(|e| e.event_type == "RecordAccessed" && e.position.0 <= reply.position).count();
    assert_eq!(reads, 5, "the demo's three reads, then the view and the ledger read above");
    // One Practitioner per person named (the clinician, and the staff behind Provenances and reads).
    let people = by_type.get("Practitioner").copied().unwrap_or(0);
    assert!(people >= 1, "the clinician is a Practitioner");
    let expected: BTreeMap<&str, usize> = BTreeMap::from([
        ("Patient", 1),
        ("EpisodeOfCare", view.episodes.len()),
        ("Consent", 3),
        ("Condition", view.diagnoses.len()),
        ("Observation", 2),
        ("CarePlan", view.plans.len()),
        ("Goal", goals),
        ("Encounter", 7),
        ("DocumentReference", notes + addenda),
        ("Coverage", 1),
        ("Claim", demo.ledger.claims.len()),
        ("Provenance", (resources.len() - reads - people) / 2),
        ("AuditEvent", reads),
        ("Practitioner", people),
    ]);
    assert_eq!(by_type, expected);
    assert!(expected.values().all(|n| *n > 0), "{expected:?}");
    // Every reference resolves to an entry of the Bundle.
    let full_urls: BTreeSet<&str> = entries.iter().filter_map(|e| e["fullUrl"].as_str()).collect();
    assert_eq!(full_urls.len(), entries.len(), "fullUrls are unique");
    let mut refs = Vec::new();
    references(&bundle, &mut refs);
    assert!(refs.len() > 50, "{} references", refs.len());
    for r in &refs {
        assert!(full_urls.contains(r.as_str()), "{r} does not resolve");
    }
    assert_no_process_note(&reply.bundle_json, &resources);
    let find = |kind: &str, id: &str| {
        resources.iter().find(|r| r["resourceType"] == kind && r["id"] == id).unwrap_or_else(|| panic!("{kind}/{id}"))
    };
    // The revoked consent: inactive, its provision ending at the revocation; versionId is the
    // revocation's revision in the client stream, lastUpdated its recorded time.
    let consent = find("Consent", &demo.revoked_consent);
    assert_eq!(consent["status"], "inactive");
    assert!(consent["provision"]["period"]["end"].is_string());
    let revoked = events.iter().find(|e| e.position.0 == demo.revoked_position).expect("revocation");
    assert_eq!(consent["meta"]["versionId"], revoked.revision.to_string());
    let recorded = chrono::DateTime::parse_from_rfc3339(consent["meta"]["lastUpdated"].as_str().expect("time"));
    assert_eq!(recorded.expect("RFC 3339").to_utc(), revoked.recorded_at);
    let labels: Vec<&str> = find("Condition", &ids_of(&resources, "Condition")[0])["meta"]["security"]
        .as_array()
        .expect("labels")
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    assert_eq!(labels, ["R", "MH", "PSY"]);
    // The amended note: `amended`, with the correction as its own document appending it.
    let encounter_ref = format!("urn:uuid:{}", demo.amended_session);
    let docs: Vec<&Value> = resources
        .iter()
        .filter(|r| {
            r["resourceType"] == "DocumentReference" && r["context"]["encounter"][0]["reference"] == encounter_ref
        })
        .collect();
    let original = docs.iter().find(|d| d["relatesTo"].is_null()).expect("the note");
    assert_eq!(original["docStatus"], "amended");
    let correction = docs.iter().find(|d| d["relatesTo"][0]["code"] == "appends").expect("the correction");
    assert_eq!(
        correction["relatesTo"][0]["target"]["reference"],
        format!("urn:uuid:{}", original["id"].as_str().expect("id"))
    );
    let text = correction["content"][0]["attachment"]["data"].as_str().expect("data");
    let text = base64::engine::general_purpose::STANDARD.decode(text).expect("base64");
    assert!(String::from_utf8_lossy(&text).contains(CORRECTION));
    for kind in ["Observation", "Encounter", "Claim", "Goal"] {
        let resource = find(kind, &ids_of(&resources, kind)[0]);
        assert!(resource["meta"]["versionId"].as_str().is_some_and(|v| v.parse::<u64>().is_ok()), "{resource}");
    }
}

fn ids_of(resources: &[Value], kind: &str) -> Vec<String> {
    resources.iter().filter(|r| r["resourceType"] == kind).filter_map(|r| r["id"].as_str().map(str::to_owned)).collect()
}

async fn an_export_as_of_a_position_shows_the_record_then(app: &TestApp) {
    let demo = demo(app).await;
    let mut records = app.records(&Caller::new("connector"));
    use proto::export_episode_fhir_request::AsOf;
    let before = proto::ExportEpisodeFhirRequest {
        client_id: demo.client_id.clone(),
        as_of: Some(AsOf::Position(demo.revoked_position - 1)),
    };
    let reply = records.export_episode_fhir(before).await.expect("export").into_inner();
    assert_eq!(reply.position, demo.revoked_position - 1);
    let bundle: Value = serde_json::from_str(&reply.bundle_json).expect("JSON");
    assert_valid(&bundle);
    let consent = bundle["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["id"] == demo.revoked_consent.as_str())
        .expect("the consent");
    assert_eq!(consent["status"], "active");
}

async fn bad_exports_are_refused(app: &TestApp) {
    let (client, _) = crate::records::short_intake(app).await;
    let mut records = app.records(&Caller::new("connector"));
    let export = |client_id: &str, as_of| proto::ExportEpisodeFhirRequest { client_id: client_id.to_owned(), as_of };
    let unknown = Uuid::now_v7().to_string();
    let err = records.export_episode_fhir(export(&unknown, None)).await.expect_err("unknown");
    assert_rejected(&err, Code::NotFound, "CLIENT_NOT_FOUND");
    let err = records.export_episode_fhir(export("nope", None)).await.expect_err("malformed");
    assert_invalid_field(&err, "client_id");
    use proto::export_episode_fhir_request::AsOf;
    let beyond = Some(AsOf::Position(app.event_count().await + 10));
    let err = records.export_episode_fhir(export(&client, beyond)).await.expect_err("beyond");
    assert_invalid_field(&err, "as_of.position");
    let err = records.export_episode_fhir(export(&client, Some(AsOf::Position(0)))).await.expect_err("before");
    assert_rejected(&err, Code::NotFound, "CLIENT_NOT_FOUND");
}

/// The AuditEvent hook (the read-access log arrives with issue 6): reads given to the record
/// come out as valid AuditEvents about the Patient, their purpose of use coded in v3-ActReason
/// (only as text for a code this build does not know).
async fn reads_of_the_record_map_to_audit_events(app: &TestApp) {
    let (client, _) = crate::records::short_intake(app).await;
    let head = carelog_store::Position(app.event_count().await);
    let client = carelog_domain::types::ClientId::parse(&client).expect("id");
    let record = carelog_records::fhir::episode_record(app.store.as_ref(), client, head).await.expect("record");
    let read = |purpose: LoggedPurpose| carelog_fhir::RecordRead {
        read_id: Uuid::now_v7(),
        actor_id: Uuid::now_v7().to_string(),
        actor_role: "auditor".into(),
        at: chrono::Utc::now(),
        operation: "carelog.v1.RecordsService/GetEpisode".into(),
        purpose,
    };
    // A purpose this build knows, and one logged by a build that knew more codes.
    let reads = vec![read(PurposeOfUse::Hoperat.into()), read(LoggedPurpose::from_code("PUBHLTH"))];
    let bundle = carelog_fhir::bundle(&record.with_reads(reads));
    assert_valid(&bundle);
    let events: Vec<&Value> = bundle["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "AuditEvent")
        .map(|e| &e["resource"])
        .collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["entity"][0]["what"]["reference"], format!("urn:uuid:{client}"));
    let coded = serde_json::json!([{
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HOPERAT",
                    "display": "health care operations"}],
        "text": "health care operations",
    }]);
    assert_eq!((&events[0]["purposeOfEvent"], &events[0]["agent"][0]["purposeOfUse"]), (&coded, &coded));
    let uncoded = serde_json::json!([{"text": "PUBHLTH"}]);
    assert_eq!((&events[1]["purposeOfEvent"], &events[1]["agent"][0]["purposeOfUse"]), (&uncoded, &uncoded));
}

on_both_backends!(
    reads_of_the_record_map_to_audit_events,
    the_demo_episode_exports_as_a_valid_bundle,
    an_export_as_of_a_position_shows_the_record_then,
    bad_exports_are_refused,
);
