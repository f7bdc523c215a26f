//! The read API through a generated Python client (grpcio-tools from PyPI, stubs generated from
//! proto/ at test time): every field of the episode view and the ledger is read by name, and what
//! Python reads equals what the Rust client reads. Needs `scripts/fhir-client-deps.sh` (its venv
//! carries grpcio-tools); skipped locally without it, a failure under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use carelog_auth::Role;
use carelog_blackbox::{Backend, Caller, TestApp, test_issuer};
use carelog_proto::v1 as proto;

fn python() -> Option<PathBuf> {
    let dir = std::env::var_os("CARELOG_FHIR_CLIENT_ENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fhir-client-env"));
    let python = dir.join("venv/bin/python");
    let ready = Command::new(&python).args(["-c", "import grpc, grpc_tools"]).status().is_ok_and(|s| s.success());
    if ready {
        return Some(python);
    }
    let message = format!("grpcio-tools not found in {}: run scripts/fhir-client-deps.sh", dir.display());
    assert!(std::env::var("CI").is_err(), "{message}");
    eprintln!("SKIPPED: {message}");
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn a_generated_python_client_reads_every_view_field_by_name() {
    let Some(python) = python() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let outcome = app.run_demo().await;
    let token = test_issuer().mint(uuid::Uuid::now_v7(), Role::Auditor, None, Duration::from_secs(600));
    let output = Command::new(python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/read_views.py"))
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../proto"))
        .arg(app.address().to_string())
        .arg(&token)
        .arg(&outcome.client_id)
        .arg(&outcome.account_id)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "read_views.py failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let read: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");

    let mut records = app.records(&Caller::new("auditor"));
    let request = proto::GetEpisodeRequest { client_id: outcome.client_id.clone(), min_position: 0 };
    let view = records.get_episode(request).await.unwrap().into_inner().view.unwrap();
    let request = proto::GetLedgerRequest { account_id: outcome.account_id.clone(), ..Default::default() };
    let ledger = records.get_ledger(request).await.unwrap().into_inner().ledger.unwrap();
    let held: Vec<_> = view.sessions.iter().filter(|s| s.status() == proto::SessionStatus::Held).collect();
    let note = held.iter().find_map(|s| s.note.as_ref()).expect("a signed note");
    let content = note.content.as_ref().unwrap();

    assert!(read["fields_read"].as_u64().unwrap() > 150, "fields read by name: {read}");
    assert_eq!(read["legal_name"], view.demographics.as_ref().unwrap().legal_name.as_str());
    assert_eq!(read["sessions"], view.sessions.len());
    assert_eq!(read["held"], held.len());
    assert_eq!(read["first_note_format"], content.format().as_str_name());
    assert_eq!(read["first_note_subjective"], content.subjective.as_str());
    assert_eq!(read["content_hash_bytes"], 32);
    let phq9: Vec<u32> =
        view.assessments.iter().filter(|a| a.instrument() == proto::Instrument::Phq9).map(|a| a.total).collect();
    assert_eq!(read["phq9_totals"], serde_json::json!(phq9));
    assert_eq!(read["balance"], ledger.balance);
    let cpts: Vec<&str> = ledger.charges.iter().flat_map(|c| &c.lines).map(|l| l.cpt.as_str()).collect();
    assert_eq!(read["charge_cpts"], serde_json::json!(cpts));
    assert!(!cpts.is_empty());
    for event in read["feed"].as_array().expect("the feed") {
        let (event_type, member) = (event[0].as_str().unwrap(), event[1].as_str().unwrap());
        assert_eq!(member.replace('_', ""), event_type.to_lowercase(), "{event}");
        assert_eq!(event[2], 32, "chain hashes are 32 raw bytes: {event}");
    }
    assert_eq!(read["feed"].as_array().unwrap().len(), 5);
    app.stop().await;
}
