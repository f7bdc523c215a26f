//! `carelog audit diff`: what changed in a client's record between two points — the events in
//! between (who, what, why) and every field of the record that they added, changed or removed
//! (an amendment, a void, a redaction by erasure), from two as-recorded views of the typed API.

use std::process::ExitCode;

use carelog_audit::diff;
use carelog_proto::v1 as proto;

use crate::audit_report::{Format, Report, render};
use crate::records_cli::{ServerArg, as_of, status_error};

const EVENTS: &[&str] = &["position", "recorded_at", "actor", "actor_role", "actor_id", "event", "reason"];
const CHANGES: &[&str] = &["change", "path", "before", "after"];

/// `carelog audit diff --client ID --from X --to Y` (log positions or RFC 3339 recorded times).
pub async fn diff(
    server: ServerArg,
    client: String,
    from: String,
    to: String,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let mut records = server.records().await?;
    let mut view_at = async |raw: &str| -> anyhow::Result<proto::EpisodeReply> {
        let request = proto::GetEpisodeAsOfRequest { client_id: client.clone(), as_of: Some(as_of(raw)?) };
        Ok(records.get_episode_as_of(request).await.map_err(status_error)?.into_inner())
    };
    let (before, after) = (view_at(&from).await?, view_at(&to).await?);
    let found = diff::between(&before.view.unwrap_or_default(), &after.view.clone().unwrap_or_default())?;

    let mut events = Report::new(EVENTS);
    let request = proto::ListAuditTrailRequest {
        client_id: client.clone(),
        page_size: 1000,
        page_token: before.position.to_string(),
        ..Default::default()
    };
    let trail = records.list_audit_trail(request).await.map_err(status_error)?.into_inner();
    for e in trail.entries.into_iter().filter(|e| e.position <= after.position && diff::is_change(e)) {
        let recorded = e.recorded_at.map(|t| t.to_string()).unwrap_or_default();
        let actor = crate::audit_report::actor_label(&e.actor_name, &e.actor_role, &e.actor_id);
        events.push(vec![e.position.to_string(), recorded, actor, e.actor_role, e.actor_id, e.event_type, e.reason]);
    }
    let mut report = Report::new(CHANGES);
    for c in found {
        report.push(vec![c.kind.as_str().into(), c.path, c.before.unwrap_or_default(), c.after.unwrap_or_default()]);
    }
    if format == Format::Table {
        println!(
            "client {client}: the record as recorded at log position {} and at {}",
            before.position, after.position
        );
        println!("\nevents in between (who, what, why):");
        print!("{}", render(&events, format));
        println!("\nchanges to the record:");
    }
    print!("{}", render(&report, format));
    Ok(ExitCode::SUCCESS)
}
