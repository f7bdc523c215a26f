//! The bulk NDJSON export (`carelog export ndjson`), driven through its library entry point
//! over the test's store.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::path::Path;

use carelog::export::{ExportError, NdjsonOptions, Progress, ndjson};
use carelog_auth::PurposeOfUse;
use carelog_auth::{Pass, Principal, Role};
use carelog_blackbox::{TestApp, on_both_backends};
use serde_json::Value;

use super::{assert_no_process_note, assert_valid, references};

/// The export as an EHR connector's operator runs it, for coordination of care.
fn options(out: &Path, since: Option<chrono::DateTime<chrono::Utc>>, force: bool) -> NdjsonOptions {
    let principal = Principal::new(EXPORTER, Role::Connector, None);
    let reader = Pass::offline(principal, "carelog export ndjson", PurposeOfUse::Coc);
    NdjsonOptions { reader, out: out.to_owned(), since, force }
}

const EXPORTER: uuid::Uuid = uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_e4e4);

async fn export(app: &TestApp, out: &Path, force: bool) -> Result<Value, ExportError> {
    ndjson::export(&app.store, &options(out, None, force), &mut |_| ControlFlow::Continue(())).await
}

fn files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir).expect("dir").filter_map(|e| e.ok()?.file_name().into_string().ok()).collect()
}

async fn the_practice_exports_as_valid_ndjson_with_a_manifest(app: &TestApp) {
    let demo = super::demo(app).await;
    let (second, _) = crate::records::short_intake(app).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("export");
    let before = app.event_count().await;
    let manifest = export(app, &out, false).await.expect("export");
    // Every client exported is a disclosure in its own access log, before its files are complete.
    assert_eq!(app.event_count().await, before + 2, "one RecordAccessed per client exported");
    for client in [&demo.client_id, &second] {
        let stream = carelog_store::StreamName::new(format!("access-{client}")).expect("stream");
        let reads = app.store.read_stream(&stream, carelog_store::StreamQuery::all()).await.expect("access log");
        let export = reads.iter().find(|e| e.data["rpc"] == "carelog export ndjson").expect("the export's entry");
        assert_eq!(export.data["purpose_of_use"], "COC", "{}", export.data);
        assert_eq!(export.data["role"], "connector");
        assert_eq!(export.metadata.actor.id, EXPORTER.to_string());
    }
    let written: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).expect("manifest")).expect("JSON");
    assert_eq!(written, manifest);
    assert_eq!(manifest["extension"]["position"], before);
    assert!(manifest["transactionTime"].is_string());
    let mut all = Vec::new();
    let mut text = String::new();
    let mut counts = BTreeMap::new();
    for output in manifest["output"].as_array().expect("output") {
        let kind = output["type"].as_str().expect("type");
        let url = output["url"].as_str().expect("url");
        let path = url.strip_prefix("file://").expect("a file URL");
        let body = std::fs::read_to_string(path).expect("ndjson");
        let lines: Vec<Value> = body.lines().map(|l| serde_json::from_str(l).expect("one resource a line")).collect();
        assert_eq!(output["count"], lines.len(), "{kind}");
        assert!(lines.iter().all(|r| r["resourceType"] == kind), "{kind}");
        counts.insert(kind.to_owned(), lines.len());
        text.push_str(&body);
        all.extend(lines);
    }
    for resource in &all {
        assert_valid(resource);
    }
    assert_eq!(counts["Patient"], 2, "{counts:?}");
    let patients: BTreeSet<&str> =
        all.iter().filter(|r| r["resourceType"] == "Patient").filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(patients, BTreeSet::from([demo.client_id.as_str(), second.as_str()]));
    // Relative references resolve to a resource in the export.
    let present: BTreeSet<String> = all
        .iter()
        .map(|r| format!("{}/{}", r["resourceType"].as_str().unwrap_or_default(), r["id"].as_str().unwrap_or_default()))
        .collect();
    let mut refs = Vec::new();
    all.iter().for_each(|r| references(r, &mut refs));
    for r in &refs {
        assert!(present.contains(r), "{r} does not resolve");
    }
    assert_no_process_note(&text, &all);
    assert!(files(&out).iter().all(|f| !f.ends_with(".part")), "{:?}", files(&out));
    // `_since` after everything: an export with no resources, still with a manifest.
    let options = options(&dir.path().join("none"), Some(chrono::Utc::now()), false);
    let empty = ndjson::export(&app.store, &options, &mut |_| ControlFlow::Continue(())).await.expect("export");
    assert_eq!(empty["output"], serde_json::json!([]));
}

async fn a_non_empty_folder_needs_force_and_an_interrupted_export_leaves_no_manifest(app: &TestApp) {
    crate::records::short_intake(app).await;
    crate::records::short_intake(app).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path();
    std::fs::write(out.join("notes.txt"), "keep me").expect("write");
    let err = export(app, out, false).await.expect_err("not empty");
    assert!(matches!(err, ExportError::NotEmpty(_)), "{err}");
    assert_eq!(files(out), BTreeSet::from(["notes.txt".to_owned()]));
    export(app, out, true).await.expect("forced");
    assert!(files(out).contains("manifest.json") && files(out).contains("Patient.ndjson"));
    // Stopped after the first client: the old export's manifest is gone, no new one is written
    // and no file is left that looks complete.
    let options = options(out, None, true);
    let mut stop_after_one = |p: Progress| if p.done >= 1 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) };
    let err = ndjson::export(&app.store, &options, &mut stop_after_one).await.expect_err("interrupted");
    assert!(matches!(err, ExportError::Interrupted), "{err}");
    assert_eq!(files(out), BTreeSet::from(["notes.txt".to_owned()]));
}

on_both_backends!(
    the_practice_exports_as_valid_ndjson_with_a_manifest,
    a_non_empty_folder_needs_force_and_an_interrupted_export_leaves_no_manifest,
);
