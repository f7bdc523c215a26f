//! What changed in a client's record between two points: every field of the typed view that was
//! added, amended, voided, redacted or removed, by path. The events in between (who, what, why)
//! come from the audit trail; [`is_change`] says which of its entries changed the record.

use carelog_proto::typed::{ShapeError, WITHHELD_MARK, to_json};
use carelog_proto::v1 as proto;
use serde_json::Value;

/// Longest value shown in full; longer ones are cut with an ellipsis.
const SHOWN_CHARS: usize = 160;

/// What happened to one field between the two points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// Not there before (a new event: a session, a note, an addendum).
    Added,
    /// A different value (a status moved on, a decision made).
    Amended,
    /// Now a void (a claim voided): the value is kept, its status says it no longer counts.
    Voided,
    /// Replaced by a redaction or erasure mark.
    Redacted,
    /// There before, gone now.
    Removed,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Amended => "amended",
            ChangeKind::Voided => "voided",
            ChangeKind::Redacted => "redacted",
            ChangeKind::Removed => "removed",
        }
    }
}

/// One difference between the record at the two points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: ChangeKind,
    /// As `sessions[0].note.addenda[0].text`.
    pub path: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The changes between two replies' views (as the typed API returned them to the caller, so
/// nothing the read gate withheld from the caller appears here either).
///
/// # Errors
/// A view that does not encode (a bug in the compiled descriptors).
pub fn between(before: &proto::EpisodeView, after: &proto::EpisodeView) -> Result<Vec<Change>, ShapeError> {
    Ok(changes(&to_json(before)?, &to_json(after)?))
}

/// Whether an audit entry changed the record (reads are logged in the trail too; they change nothing).
pub fn is_change(entry: &proto::AuditEntry) -> bool {
    entry.event_type != "RecordAccessed"
}

/// Every leaf or subtree that differs between `before` and `after`, by path (keys in order). Arrays are
/// compared by index: the record keeps everything in event order, so new items come last.
pub fn changes(before: &Value, after: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    walk(before, after, &mut String::new(), &mut out);
    out
}

fn kind(before: Option<&str>, after: Option<&str>) -> ChangeKind {
    let marked = |v: &str| v.starts_with(WITHHELD_MARK) || v.starts_with("[erased]");
    let voided = |v: Option<&str>| v.is_some_and(|v| v.ends_with("_VOIDED"));
    match (before, after) {
        // Voided in between, whether or not it existed at the first point (submitted, then voided).
        (b, a) if voided(a) && !voided(b) => ChangeKind::Voided,
        (None, _) => ChangeKind::Added,
        (Some(_), None) => ChangeKind::Removed,
        (Some(b), Some(a)) if marked(a) && !marked(b) => ChangeKind::Redacted,
        _ => ChangeKind::Amended,
    }
}

fn shown(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > SHOWN_CHARS {
        text.chars().take(SHOWN_CHARS - 3).collect::<String>() + "…"
    } else {
        text
    }
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
            let keys: Vec<&String> = a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))).collect();
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
        (a, b) => {
            let (before, after) = ((!a.is_null()).then(|| shown(a)), (!b.is_null()).then(|| shown(b)));
            out.push(Change { kind: kind(before.as_deref(), after.as_deref()), path: path.clone(), before, after });
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn found(before: Value, after: Value) -> Vec<(ChangeKind, String, Option<String>, Option<String>)> {
        changes(&before, &after).into_iter().map(|c| (c.kind, c.path, c.before, c.after)).collect()
    }

    #[test]
    fn added_amended_and_removed_fields_are_named_by_path() {
        let before = json!({"sessions": [{"status": "SCHEDULED", "note": null}], "name": "A"});
        let after = json!({"sessions": [{"status": "HELD", "note": {"plan": "p"}}, {"status": "SCHEDULED"}]});
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            found(before, after.clone()),
            [
                (ChangeKind::Removed, "name".into(), s("A"), None),
                (ChangeKind::Added, "sessions[0].note.plan".into(), None, s("p")),
                (ChangeKind::Amended, "sessions[0].status".into(), s("SCHEDULED"), s("HELD")),
                (ChangeKind::Added, "sessions[1].status".into(), None, s("SCHEDULED")),
            ]
        );
        assert!(changes(&after, &after).is_empty());
    }

    #[test]
    fn a_void_and_a_redaction_are_named_as_such() {
        let before = json!({"claims": {"c1": "CLAIM_STATUS_PAID"}, "name": "Ana", "plan": "[redacted: clinical_text]"});
        let after = json!({
            "claims": {"c1": "CLAIM_STATUS_VOIDED", "c2": "CLAIM_STATUS_VOIDED", "c3": "CLAIM_STATUS_SUBMITTED"},
            "name": "[erased]",
            "plan": "[erased]"
        });
        let kinds: Vec<(String, ChangeKind)> = changes(&before, &after).into_iter().map(|c| (c.path, c.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("claims.c1".to_owned(), ChangeKind::Voided),
                // Submitted and voided between the two points: the void is what matters.
                ("claims.c2".to_owned(), ChangeKind::Voided),
                ("claims.c3".to_owned(), ChangeKind::Added),
                ("name".to_owned(), ChangeKind::Redacted),
                // Withheld from this caller before, erased now: not a redaction the caller can see.
                ("plan".to_owned(), ChangeKind::Amended),
            ]
        );
    }

    #[test]
    fn long_values_are_cut_and_every_change_is_shown_once() {
        let long = "x".repeat(500);
        let change = &changes(&json!({"a": long}), &json!({"a": "y"}))[0];
        assert_eq!(change.before.as_ref().map(|b| b.chars().count()), Some(SHOWN_CHARS - 2));
        assert!(change.before.as_ref().is_some_and(|b| b.ends_with('…')));
    }
}
