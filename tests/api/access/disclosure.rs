//! Minimum necessary, tried from outside: every read channel × every role × every class of data
//! in a complete demo episode. The expectations are written here from the policy as users read it
//! in docs/security.md, not from the server's tables: a channel a role may not call is refused; a
//! class the role may not see is absent from the reply and visibly marked `[redacted: CLASS]`; a
//! class it may see is there. Which classes a channel carries is learned from what an auditor
//! (who sees every class but psychotherapy notes) receives.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use carelog::export::{NdjsonOptions, ndjson};
use carelog_auth::PurposeOfUse;
use carelog_auth::{Pass, Principal, Role};
use carelog_blackbox::minimum_necessary::{PROBES, sees};
use carelog_blackbox::{Caller, TestApp, on_both_backends};
use carelog_proto::v1 as proto;
use tonic::Code;

pub(super) const ROLES: [&str; 7] = ["intake", "clinician", "supervisor", "biller", "auditor", "connector", "admin"];

/// What one role received from one channel.
pub(super) enum Reply {
    Refused(Code),
    Text(String),
}

async fn the_minimum_necessary_matrix_holds_on_every_channel(app: &TestApp) {
    let demo = app.run_demo().await;
    let head = app.event_count().await;
    let mut replies: BTreeMap<(&str, &str), Reply> = BTreeMap::new();
    for role in ROLES {
        let caller = match role {
            "clinician" => Caller::clinician(&demo.clinician_id),
            other => Caller::new(other),
        };
        let record = Record { client: &demo.client_id, clinician: &demo.clinician_id, account: &demo.account_id };
        for (channel, reply) in read_every_channel(app, &caller, &record, head).await {
            replies.insert((channel, role), reply);
        }
    }

    let mut failures = Vec::new();
    let channels: Vec<&str> =
        replies.keys().map(|(c, _)| *c).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    for channel in channels {
        let Some(Reply::Text(baseline)) = replies.get(&(channel, "auditor")) else {
            failures.push(format!("{channel}: the auditor, who reads everything, was refused"));
            continue;
        };
        for role in ROLES {
            let Some(Reply::Text(text)) = replies.get(&(channel, role)) else { continue };
            for (class, probes) in PROBES {
                if !probes.iter().any(|p| baseline.contains(p)) {
                    if role == "auditor" {
                        eprintln!("TMP skip {channel} {class}");
                    }
                    continue; // this channel does not carry the class
                }
                let shown = probes.iter().any(|p| text.contains(p));
                let marked = marked_withheld(text, class);
                match (sees(role, class), shown, marked) {
                    (true, true, _) | (false, false, true) => {}
                    (true, false, _) => failures.push(format!("{channel}/{role}: {class} missing")),
                    (false, true, _) => failures.push(format!("{channel}/{role}: {class} LEAKED")),
                    (false, false, false) => failures.push(format!("{channel}/{role}: {class} dropped unmarked")),
                }
            }
            if marked_withheld(text, "unclassified") {
                failures.push(format!("{channel}/{role}: a field without a class"));
            }
        }
    }
    for ((channel, role), reply) in &replies {
        let allowed = may_call(channel, role);
        match reply {
            Reply::Refused(code) if allowed => failures.push(format!("{channel}/{role}: refused with {code:?}")),
            Reply::Refused(code) if *code != Code::PermissionDenied => {
                failures.push(format!("{channel}/{role}: refused with {code:?}, not PERMISSION_DENIED"))
            }
            Reply::Text(_) if !allowed => failures.push(format!("{channel}/{role}: answered, should be refused")),
            _ => {}
        }
    }
    assert!(failures.is_empty(), "{} violations:\n{}", failures.len(), failures.join("\n"));
}

/// Whether a reply's text shows `class` withheld: a text field holds the read gate's mark, or a
/// typed reply's `withheld` list names the class (a withheld enum, number or time is left unset).
fn marked_withheld(text: &str, class: &str) -> bool {
    text.contains(&format!("[redacted: {class}]")) || text.contains(&format!("field_class: \"{class}\""))
}

/// Which roles may use each channel at all (docs/security.md, "Authorization").
fn may_call(channel: &str, role: &str) -> bool {
    let allowed: &[&str] = match channel {
        "GetEpisode" | "GetEpisodeAsOf" => &["clinician", "supervisor", "biller", "auditor"],
        "ListAuditTrail" | "GetCaseload" => &["clinician", "supervisor", "auditor"],
        "ListDisclosures" => &["auditor"],
        "GetLedger" => &["biller", "auditor"],
        "Subscribe" => &["auditor", "connector"],
        "ExportEpisodeFhir" => &["clinician", "supervisor", "auditor", "connector"],
        "BulkExport" => &["clinician", "supervisor", "auditor", "connector"],
        _ => &[],
    };
    allowed.contains(&role)
}

fn reply<T: std::fmt::Debug>(result: Result<tonic::Response<T>, tonic::Status>) -> Reply {
    match result {
        Ok(response) => Reply::Text(format!("{:?}", response.into_inner())),
        Err(status) => Reply::Refused(status.code()),
    }
}

/// Whose record the channels are read for.
pub(super) struct Record<'a> {
    pub client: &'a str,
    pub clinician: &'a str,
    pub account: &'a str,
}

/// What `caller` receives from every read channel, up to log position `head` for the feed.
pub(super) async fn read_every_channel(
    app: &TestApp,
    caller: &Caller,
    record: &Record<'_>,
    head: u64,
) -> Vec<(&'static str, Reply)> {
    let mut records = app.records(caller);
    let client_id = record.client.to_owned();
    let as_of = Some(proto::get_episode_as_of_request::AsOf::Position(head));
    let mut out = vec![
        (
            "GetEpisode",
            reply(
                records.get_episode(proto::GetEpisodeRequest { client_id: client_id.clone(), min_position: 0 }).await,
            ),
        ),
        (
            "GetEpisodeAsOf",
            reply(
                records.get_episode_as_of(proto::GetEpisodeAsOfRequest { client_id: client_id.clone(), as_of }).await,
            ),
        ),
        (
            "ListAuditTrail",
            reply(
                records
                    .list_audit_trail(proto::ListAuditTrailRequest {
                        client_id: client_id.clone(),
                        page_size: 1000,
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "ListDisclosures",
            reply(
                records
                    .list_disclosures(proto::ListDisclosuresRequest {
                        client_id: client_id.clone(),
                        page_size: 1000,
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "GetCaseload",
            reply(
                records
                    .get_caseload(proto::GetCaseloadRequest {
                        clinician_id: record.clinician.to_owned(),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "GetLedger",
            reply(
                records
                    .get_ledger(proto::GetLedgerRequest { account_id: record.account.to_owned(), ..Default::default() })
                    .await,
            ),
        ),
        (
            "ExportEpisodeFhir",
            reply(
                records
                    .export_episode_fhir(proto::ExportEpisodeFhirRequest { client_id: client_id.clone(), as_of: None })
                    .await,
            ),
        ),
    ];
    out.push(("Subscribe", subscribe(app, caller, head).await));
    out.push(("BulkExport", bulk_export(app, caller).await));
    out
}

/// Every event up to `head` as the subscriber receives it.
async fn subscribe(app: &TestApp, caller: &Caller, head: u64) -> Reply {
    let request = proto::SubscribeRequest { after_position: 0, heartbeat_seconds: 1, ..Default::default() };
    let mut feed = match app.records(caller).subscribe(request).await {
        Ok(feed) => feed.into_inner(),
        Err(status) => return Reply::Refused(status.code()),
    };
    let mut text = String::new();
    while let Ok(Some(item)) = feed.message().await {
        match item.item {
            Some(proto::subscribe_reply::Item::Event(event)) => {
                let position = event.position;
                text.push_str(&format!("{event:?}\n"));
                if position >= head {
                    break;
                }
            }
            Some(proto::subscribe_reply::Item::Heartbeat(beat)) if beat.position >= head => break,
            _ => {}
        }
    }
    Reply::Text(text)
}

/// The offline bulk export run for this caller's role, as an operator would for them.
async fn bulk_export(app: &TestApp, caller: &Caller) -> Reply {
    let role: Role = caller.role.parse().expect("role");
    let reader = Pass::offline(Principal::new(caller.id, role, None), "carelog export ndjson", PurposeOfUse::Coc);
    let dir = tempfile::tempdir().expect("temp dir");
    let options = NdjsonOptions { reader, out: dir.path().join("export"), since: None, force: false };
    match ndjson::export(&app.store, &options, &mut |_| ControlFlow::Continue(())).await {
        Ok(manifest) => {
            let mut text = String::new();
            for output in manifest["output"].as_array().into_iter().flatten() {
                let path = output["url"].as_str().and_then(|u| u.strip_prefix("file://")).expect("a file URL");
                text.push_str(&std::fs::read_to_string(path).expect("ndjson"));
            }
            Reply::Text(text)
        }
        Err(carelog::export::ExportError::Record(error)) => Reply::Refused(tonic::Status::from(error).code()),
        Err(error) => panic!("bulk export for {}: {error}", caller.role),
    }
}

on_both_backends!(the_minimum_necessary_matrix_holds_on_every_channel);
