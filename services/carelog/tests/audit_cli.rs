//! `carelog audit` as an auditor runs it against a live server: the accounting of disclosures
//! (ListDisclosures) after exports and reads for other purposes, and the trail as JSON and CSV.

use std::process::Command;
use std::time::Duration;

use carelog_auth::{PURPOSE_HEADER, Role};
use carelog_blackbox::{Backend, Caller, TestApp, test_issuer};
use carelog_proto::v1 as proto;
use tonic::Code;

fn carelog(app: &TestApp, args: &[&str]) -> String {
    let token = test_issuer().mint(uuid::Uuid::now_v7(), Role::Auditor, None, Duration::from_secs(600));
    let output = Command::new(env!("CARGO_BIN_EXE_carelog"))
        .args(args)
        .args(["--server", &format!("http://{}", app.address())])
        .env("CARELOG_TOKEN", token)
        .output()
        .expect("run carelog");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{args:?}: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

async fn disclosures_and_formats(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.run_demo().await.client_id;
    let mut records = app.records(&Caller::new("auditor"));
    let episode = || proto::GetEpisodeRequest { client_id: client.clone(), min_position: 0 };
    // Reads for treatment and operations are not disclosures; a read for legal proceedings is,
    // and so is every export (here a connector's, for coordination of care).
    app.records(&Caller::new("supervisor")).get_episode(episode()).await.expect("a treatment read");
    records.get_episode(episode()).await.expect("an operations read");
    let mut legal = tonic::Request::new(episode());
    legal.metadata_mut().insert(PURPOSE_HEADER, "LEGAL".parse().unwrap());
    records.get_episode(legal).await.expect("a read for legal proceedings");
    let export = proto::ExportEpisodeFhirRequest { client_id: client.clone(), as_of: None };
    app.records(&Caller::new("connector")).export_episode_fhir(export).await.expect("a connector's export");

    let request = proto::ListDisclosuresRequest { client_id: client.clone(), ..Default::default() };
    let listed = records.list_disclosures(request.clone()).await.expect("the accounting").into_inner();
    let shown: Vec<(&str, &str, bool)> =
        listed.disclosures.iter().map(|d| (d.channel.as_str(), d.purpose_of_use.as_str(), d.accountable)).collect();
    assert_eq!(
        shown,
        [("RecordsService/GetEpisode", "LEGAL", true), ("RecordsService/ExportEpisodeFhir", "COC", false)],
        "{listed:#?}"
    );
    let export = &listed.disclosures[1];
    assert_eq!(export.recipient_role, "connector");
    assert!(export.description.starts_with("the record as a FHIR R4 Bundle (position"), "{}", export.description);
    // Paging: one per page, then nothing more.
    let first = proto::ListDisclosuresRequest { page_size: 1, ..request.clone() };
    let first = records.list_disclosures(first).await.unwrap().into_inner();
    assert_eq!(first.disclosures, listed.disclosures[..1]);
    let rest = proto::ListDisclosuresRequest { page_size: 1, page_token: first.next_page_token, ..request.clone() };
    let rest = records.list_disclosures(rest).await.unwrap().into_inner();
    assert_eq!(rest.disclosures, listed.disclosures[1..]);
    // Only auditors read the accounting; an unknown client is NOT_FOUND; bad input names its field.
    let denied = app.records(&Caller::new("biller")).list_disclosures(request.clone()).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let unknown = proto::ListDisclosuresRequest { client_id: uuid::Uuid::now_v7().to_string(), ..Default::default() };
    assert_eq!(records.list_disclosures(unknown).await.unwrap_err().code(), Code::NotFound);
    let far = prost_types::Timestamp { seconds: 253_402_300_800 * 30, nanos: 0 };
    for (bad, field) in [
        (proto::ListDisclosuresRequest { page_size: 5000, ..request.clone() }, "page_size"),
        (proto::ListDisclosuresRequest { page_token: "-1\0".into(), ..request.clone() }, "page_token"),
        (proto::ListDisclosuresRequest { since: Some(far), ..request.clone() }, "since"),
        (proto::ListDisclosuresRequest { client_id: "../../client".into(), ..request }, "client_id"),
    ] {
        let status = records.list_disclosures(bad).await.unwrap_err();
        assert!(status.code() == Code::InvalidArgument && status.message().contains(field), "{field}: {status:?}");
    }

    let json: serde_json::Value =
        serde_json::from_str(&carelog(&app, &["audit", "disclosures", "--client", &client, "--format", "json"]))
            .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2, "{json}");
    assert_eq!(json[0]["purpose"], "legal proceedings");
    assert_eq!(json[0]["accountable"], "yes");
    let trail = records
        .list_audit_trail(proto::ListAuditTrailRequest {
            client_id: client.clone(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let csv = carelog(&app, &["audit", "--client", &client, "--format", "csv"]);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "position,recorded_at,occurred_at,actor,actor_role,actor_id,event,rpc,purpose_of_use,outcome,correlation_id,reason"
        )
    );
    // The CLI's own read is logged before it lists, so the trail it prints has at least ours.
    assert!(lines.count() >= trail.entries.len(), "{csv}");
    // Actors by the names their tokens carry (the demo names its people), access entries with
    // their RPC, purpose and outcome.
    let json = carelog(&app, &["audit", "--client", &client, "--format", "json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    let by = |event: &str| rows.iter().find(|r| r["event"] == event).unwrap_or_else(|| panic!("no {event}: {json}"));
    assert_eq!(by("ClientRegistered")["actor"], "Dana Whitfield");
    assert_eq!(by("ProgressNoteSigned")["actor"], "Dr. Ana Ruiz");
    assert_eq!(by("ChargeCreated")["actor"], "Sam Okafor");
    let legal = rows.iter().find(|r| r["purpose_of_use"] == "LEGAL").unwrap_or_else(|| panic!("{json}"));
    assert_eq!((&legal["rpc"], &legal["outcome"]), (&"RecordsService/GetEpisode".into(), &"allowed".into()));
    assert!(legal["actor"].as_str().unwrap().starts_with("auditor "), "no name: role and id instead: {legal}");

    // The FHIR export as of a clinical date: today holds everything that has occurred.
    let today = chrono::Utc::now().date_naive().to_string();
    let bundle = carelog(&app, &["export", "fhir", "--client", &client, "--as-of-clinical", &today]);
    let bundle: serde_json::Value = serde_json::from_str(&bundle).expect("a Bundle on stdout");
    let head = proto::ExportEpisodeFhirRequest { client_id: client.clone(), as_of: None };
    let head = records.export_episode_fhir(head).await.unwrap().into_inner();
    let head: serde_json::Value = serde_json::from_str(&head.bundle_json).unwrap();
    // The record's resources, not the reads of it (each export adds an AuditEvent and its reader).
    let clinical = |bundle: &serde_json::Value| -> Vec<String> {
        let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
        let ids = entries
            .iter()
            .map(|e| &e["resource"])
            .filter(|r| !["AuditEvent", "Practitioner"].contains(&r["resourceType"].as_str().unwrap_or("")));
        ids.map(|r| format!("{}/{}", r["resourceType"].as_str().unwrap_or(""), r["id"].as_str().unwrap_or("")))
            .collect()
    };
    assert_eq!(clinical(&bundle), clinical(&head));
    assert!(clinical(&bundle).iter().any(|r| r.starts_with("Encounter/")), "{bundle}");

    // Finding the client by name, as an auditor starts.
    let ids = carelog(&app, &["audit", "find", "--name", "alexandra REYES"]);
    assert_eq!(ids.lines().collect::<Vec<_>>(), [client.as_str()], "{ids}");

    // A diff across the demo's addendum: the event with who and why, and the addendum added.
    let request = proto::ListAuditTrailRequest {
        client_id: client.clone(),
        event_types: vec!["NoteAddendumAppended".into()],
        ..Default::default()
    };
    let addendum = records.list_audit_trail(request).await.unwrap().into_inner().entries.remove(0);
    let (from, to) = ((addendum.position - 1).to_string(), addendum.position.to_string());
    let diff = carelog(&app, &["audit", "diff", "--client", &client, "--from", &from, "--to", &to]);
    assert!(diff.contains("NoteAddendumAppended") && diff.contains(&addendum.reason), "{diff}");
    assert!(diff.contains("Dr. Ana Ruiz"), "the diff names who: {diff}");
    let json = carelog(&app, &["audit", "diff", "--client", &client, "--from", &from, "--to", &to, "--format", "json"]);
    let changes: serde_json::Value = serde_json::from_str(&json).unwrap();
    let added = changes.as_array().unwrap().iter().find(|c| c["path"].as_str().unwrap().ends_with(".addenda[0].text"));
    let added = added.unwrap_or_else(|| panic!("no addendum added: {changes}"));
    assert_eq!(added["change"], "added");
    assert!(added["after"].as_str().unwrap().contains("Spouse called"), "{added}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn disclosures_and_formats_on_sqlite() {
    disclosures_and_formats(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn disclosures_and_formats_on_postgres() {
    disclosures_and_formats(Backend::Postgres).await;
}
