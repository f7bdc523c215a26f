//! Black-box tests of the FHIR server: the real gRPC server on port 0 over a fresh SQLite file or
//! PostgreSQL schema, the demo episode written through it, the FHIR server beside it, and the
//! FHIR side driven by real third-party tools — `fhirpy` (PyPI) as the FHIR client (read, vread,
//! history, search with paging, $everything, refusals), plain `requests` + `pyjwt` for what
//! fhirpy does not speak (Bulk Data, the SMART token endpoint) — and every resource the client
//! received validated by `@medplum/core` (structure and FHIRPath invariants).
//!
//! The tools come from `scripts/fhir-client-deps.sh` (a throwaway folder; `.ci/run` calls it).
//! Without them the tests say so and pass locally; with `CI=true` they fail.

mod tools;

use std::sync::Arc;
use std::time::Duration;

use carelog_auth::Role;
use carelog_blackbox::{Backend, Caller, TestApp, ctx_because, test_authenticator, test_issuer};
use carelog_fhir_server::smart::Registration;
use carelog_fhir_server::{FhirConfig, RunningFhir};
use carelog_store::{EventStore, StreamName, StreamQuery};
use serde_json::{Value, json};
use uuid::Uuid;

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fhir_server/keys");
const SMART_CLIENT: &str = "ehr-connector-1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fhir_client_reads_searches_exports_and_is_refused_on_sqlite() {
    drive(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fhir_client_reads_searches_exports_and_is_refused_on_postgres() {
    drive(Backend::Postgres).await;
}

async fn drive(backend: Backend) {
    let Some(tools) = tools::Tools::find() else { return };
    let app = TestApp::spawn(backend).await;
    let demo = app.run_demo().await;
    let revoked = revoke_a_consent(&app, &demo).await;
    give_disclosure_consents(&app, &demo).await;
    let work = tempfile::tempdir().expect("temp dir");
    let exports = work.path().join("exports");
    // Phase 1 on a server that accepts bulk jobs but runs none (as a front node would): the job
    // must still be there, and finish, after the restart.
    let connector = Uuid::now_v7();
    let fhir = start(&app, "127.0.0.1:0".parse().expect("addr"), &exports, connector, false).await;
    let addr = fhir.addr;
    let mut fixture = fixture(&fhir, &demo, work.path());
    fixture["revoked_consent"] = json!(revoked);
    let fixture_path = work.path().join("fixture.json");
    std::fs::write(&fixture_path, fixture.to_string()).expect("write fixture");
    tools.drive("before-restart", &fixture_path);
    fhir.stop().await.expect("FHIR server stops");
    let fhir = start(&app, addr, &exports, connector, true).await;
    tools.drive("after-restart", &fixture_path);
    tools.validate(&work.path().join("received"));
    tools.assert_validator_refuses_invalid(&work.path().join("invalid"));
    fhir.stop().await.expect("FHIR server stops");
    assert_access_logged(app.store.as_ref(), &demo.client_id).await;
    app.stop().await;
}

/// A second version of a resource: the clinician revokes the second consent (given, then revoked).
async fn revoke_a_consent(app: &TestApp, demo: &carelog::demo::Outcome) -> String {
    let consent = demo.episode.consents.get(1).expect("a second consent").consent_id.clone();
    app.intake(&Caller::clinician(&demo.clinician_id))
        .revoke_consent(carelog_proto::v1::RevokeConsentRequest {
            context: ctx_because("client withdrew consent to telehealth"),
            client_id: demo.client_id.clone(),
            consent_id: consent.clone(),
            revoked_at: None,
        })
        .await
        .expect("revoke");
    consent
}

/// The consents the demo does not give, so every Consent shape is validated: a release of
/// information and a 42 CFR Part 2 consent.
async fn give_disclosure_consents(app: &TestApp, demo: &carelog::demo::Outcome) {
    use carelog_proto::v1::give_consent_request::{Kind, Part2, ReleaseOfInformation};
    let next_year = (chrono::Utc::now() + chrono::Duration::days(365)).format("%Y-%m-%d").to_string();
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let kinds = [
        Kind::ReleaseOfInformation(ReleaseOfInformation {
            recipient: "Dr. Ada Primary, Riverside Family Medicine".into(),
            purpose: "coordination of care".into(),
            expires_on: next_year.clone(),
        }),
        Kind::Part2(Part2 {
            disclosing_program: "Riverside Recovery Program".into(),
            recipient: "Riverside Family Medicine".into(),
            purpose: "coordination of care".into(),
            information: "diagnosis and treatment dates".into(),
            expires_on: next_year,
            expires_upon_event: String::new(),
            signed_by: "the client".into(),
            signed_on: today,
            right_to_revoke_acknowledged: true,
        }),
    ];
    let mut intake = app.intake(&Caller::clinician(&demo.clinician_id));
    for kind in kinds {
        intake
            .give_consent(carelog_proto::v1::GiveConsentRequest {
                context: ctx_because("signed at the visit"),
                client_id: demo.client_id.clone(),
                consent_id: Uuid::now_v7().to_string(),
                given_at: None,
                kind: Some(kind),
            })
            .await
            .expect("give consent");
    }
}

async fn start(
    app: &TestApp,
    addr: std::net::SocketAddr,
    exports: &std::path::Path,
    connector: Uuid,
    workers: bool,
) -> RunningFhir {
    let jwks = std::fs::read_to_string(format!("{KEYS}/connector.jwks.json")).expect("test JWKS");
    let registration = Registration {
        client_id: SMART_CLIENT.into(),
        role: "connector".into(),
        subject: connector,
        jwks: serde_json::from_str(&jwks).expect("JWKS parses"),
    };
    let config = FhirConfig {
        authenticator: test_authenticator(),
        base_url: None,
        smart_clients: vec![registration],
        export_dir: exports.to_owned(),
        export_workers: workers,
    };
    carelog_fhir_server::start(addr, Arc::clone(&app.store), config).await.expect("FHIR server starts")
}

fn fixture(fhir: &RunningFhir, demo: &carelog::demo::Outcome, work: &std::path::Path) -> Value {
    let issuer = test_issuer();
    let hour = Duration::from_secs(3600);
    let token = |role: Role, clinician: Option<Uuid>| issuer.mint(Uuid::now_v7(), role, clinician, hour);
    let clinician: Uuid = demo.clinician_id.parse().expect("clinician id");
    json!({
        "base": fhir.base,
        "client": demo.client_id,
        "clinician": demo.clinician_id,
        "tokens": {
            "auditor": token(Role::Auditor, None),
            "connector": token(Role::Connector, None),
            "supervisor": token(Role::Supervisor, None),
            "clinician": token(Role::Clinician, Some(clinician)),
            "other_clinician": token(Role::Clinician, Some(Uuid::now_v7())),
            "biller": token(Role::Biller, None),
            "intake": token(Role::Intake, None),
            "expired": expired_token(),
        },
        "smart": {
            "client_id": SMART_CLIENT,
            "es384": format!("{KEYS}/connector-es384.pem"),
            "rs384": format!("{KEYS}/connector-rs384.pem"),
            "unregistered": format!("{KEYS}/unregistered-es384.pem"),
        },
        "received": work.join("received"),
        "state": work.join("state.json"),
    })
}

/// An auditor's token, correctly signed, that expired two minutes ago (beyond the 30 s of skew).
fn expired_token() -> String {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({
        "sub": Uuid::now_v7().to_string(), "role": "auditor", "iss": "carelog", "aud": "carelog",
        "iat": now - 3600, "exp": now - 120,
    });
    let key = jsonwebtoken::EncodingKey::from_secret(carelog_blackbox::TEST_SECRET.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).expect("HS256 signing")
}

/// Every FHIR read left a `RecordAccessed` in the client's access stream, and the refusals too.
async fn assert_access_logged(store: &dyn EventStore, client: &str) {
    let stream = StreamName::new(format!("access-{client}")).expect("stream name");
    let events = store.read_stream(&stream, StreamQuery::all()).await.expect("access log");
    let of = |rpc: &str, outcome: &str| {
        events.iter().filter(|e| e.data["rpc"] == rpc && e.data["outcome"] == outcome).count()
    };
    for rpc in ["Fhir/read", "Fhir/search", "Fhir/everything", "Fhir/vread", "Fhir/history", "Fhir/export"] {
        assert!(of(rpc, "allowed") > 0, "no allowed {rpc} in the access log");
    }
    assert!(of("Fhir/read", "denied") > 0, "the other clinician's refused read is logged against the client");
}
