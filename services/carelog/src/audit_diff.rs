//! `carelog audit diff`: what changed in a client's record between two points — the events in
//! between (who, what, why) and every field of the record that they added, changed or removed
//! (an amendment, a void, a redaction by erasure), from two as-recorded views of the typed API.

use std::process::ExitCode;

use carelog_proto::v1 as proto;
use serde_json::Value;

use crate::audit_report::{Format, Report};
use crate::records_cli::{ServerArg, as_of, status_error};

/// One difference between the record at the two points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Every leaf or subtree that differs between `before` and `after`, by path (keys in order). Arrays are
/// compared by index: the record keeps everything in event order, so new items come last.
pub fn changes(before: &Value, after: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    walk(before, after, &mut String::new(), &mut out);
    out
}

fn shown(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 160 { text.chars().take(157).collect::<String>() + "…" } else { text }
}

fn walk(before: &Value, after: &Value, path: &mut String, out: &mut Vec<Change>) {
    // Something added or removed whole is spelled out leaf by leaf, so every value is shown.
    let empty_object = Value::Object(serde_json::Map::new());
    let empty_array = Value::Array(Vec::new());
    let (before, after) = match (before, after) {
        (Value::Null, Value::Object(_)) => (&empty_object, after),
        (Value::Object(_), Value::Null) => (before, &empty_object),
        (Value::Null, Value::Array(_)) => (&empty_array, after),
        (Value::Array(_), Value::Null) => (before, &empty_array),
        _ => (before, after),
    };
    match (before, after) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))).collect();
            keys.dedup();
            for key in keys {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                walk(a.get(key).unwrap_or(&Value::Null), b.get(key).unwrap_or(&Value::Null), path, out);
                path.truncate(len);
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(a.get(i).unwrap_or(&Value::Null), b.get(i).unwrap_or(&Value::Null), path, out);
                path.truncate(len);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(Change {
            path: path.clone(),
            before: (!a.is_null()).then(|| shown(a)),
            after: (!b.is_null()).then(|| shown(b)),
        }),
    }
}

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
    let json = |reply: &proto::EpisodeReply| carelog_proto::typed::to_json(&reply.view.clone().unwrap_or_default());
    let found = changes(&json(&before)?, &json(&after)?);

    let mut events = Report::new(EVENTS);
    let request = proto::ListAuditTrailRequest {
        client_id: client.clone(),
        page_size: 1000,
        page_token: before.position.to_string(),
        ..Default::default()
    };
    let trail = records.list_audit_trail(request).await.map_err(status_error)?.into_inner();
    for e in trail.entries.into_iter().filter(|e| e.position <= after.position && e.event_type != "RecordAccessed") {
        let recorded = e.recorded_at.map(|t| t.to_string()).unwrap_or_default();
        let actor = crate::audit_report::actor_label(&e.actor_name, &e.actor_role, &e.actor_id);
        events.push(vec![e.position.to_string(), recorded, actor, e.actor_role, e.actor_id, e.event_type, e.reason]);
    }
    let mut report = Report::new(CHANGES);
    for c in found {
        let kind = match (&c.before, &c.after) {
            (None, Some(_)) => "added",
            (Some(_), None) => "removed",
            (Some(b), Some(a)) if a.starts_with("[erased]") || a.starts_with("[redacted") && !b.starts_with('[') => {
                "redacted"
            }
            _ => "changed",
        };
        report.push(vec![kind.into(), c.path, c.before.unwrap_or_default(), c.after.unwrap_or_default()]);
    }
    if format == Format::Table {
        println!(
            "client {client}: the record as recorded at log position {} and at {}",
            before.position, after.position
        );
        println!("\nevents in between (who, what, why):");
        print!("{}", events.render(format));
        println!("\nchanges to the record:");
    }
    print!("{}", report.render(format));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn added_changed_and_removed_fields_are_named_by_path() {
        let before = json!({"sessions": [{"status": "SCHEDULED", "note": null}], "name": "A"});
        let after = json!({"sessions": [{"status": "HELD", "note": {"plan": "p"}}, {"status": "SCHEDULED"}]});
        let found = changes(&before, &after);
        let paths: Vec<(&str, Option<&str>, Option<&str>)> =
            found.iter().map(|c| (c.path.as_str(), c.before.as_deref(), c.after.as_deref())).collect();
        assert_eq!(
            paths,
            [
                ("name", Some("A"), None),
                ("sessions[0].note.plan", None, Some("p")),
                ("sessions[0].status", Some("SCHEDULED"), Some("HELD")),
                ("sessions[1].status", None, Some("SCHEDULED")),
            ]
        );
        assert!(changes(&after, &after).is_empty());
    }
}
