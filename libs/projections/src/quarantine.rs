//! Events a projection could not fold, kept aside so the read side degrades per client, never
//! globally. A fold that fails (a bug in a view, or a log written before a check on the write
//! side existed) leaves the document as it was, notes the event in the document ([`Incomplete`],
//! so every reader of that client's view sees it is incomplete and since which position) and in
//! the generation's quarantine table ([`Quarantined`], for operators: `carelog projections
//! status`, a metric and the health service). Every other document folds on. A rebuild starts a
//! generation with none, so once the fold is fixed a rebuild clears them.

use carelog_store::RecordedEvent;
use serde::{Deserialize, Serialize};

use crate::persist::DocKind;

/// An event a view did not fold, as the view itself records it: what and where, never the
/// error text (which may quote event data); operators find that in the quarantine table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incomplete {
    pub position: u64,
    pub stream: String,
    pub event_type: String,
}

impl Incomplete {
    pub(crate) fn of(event: &RecordedEvent) -> Self {
        Self { position: event.position.0, stream: event.stream.to_string(), event_type: event.event_type.clone() }
    }
}

/// Where a quarantined event was headed: a document, or (for an event no table can hold) the
/// audit trail itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    Doc(DocKind),
    Audit,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Doc(kind) => kind.as_str(),
            Target::Audit => "event",
        }
    }

    pub(crate) fn parse(raw: &str) -> Self {
        match raw {
            "episode" => Target::Doc(DocKind::Episode),
            "ledger" => Target::Doc(DocKind::Ledger),
            _ => Target::Audit,
        }
    }
}

/// One quarantined event of a generation, as operators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    pub position: u64,
    pub target: Target,
    /// The document's key (a client id or `account-…`), or the stream for [`Target::Audit`].
    pub key: String,
    pub client: Option<String>,
    pub stream: String,
    pub event_type: String,
    pub error: String,
}

impl Quarantined {
    pub(crate) fn new(event: &RecordedEvent, target: Target, key: &str, error: String) -> Self {
        Self {
            position: event.position.0,
            target,
            key: key.to_owned(),
            client: event.metadata.tags.client.clone(),
            stream: event.stream.to_string(),
            event_type: event.event_type.clone(),
            error,
        }
    }
}

/// Why an event cannot be stored by every backend's read-model tables, if it cannot. The write
/// side refuses such values now (docs/input-domains.md); a log written before may hold them,
/// and one of them once failed every PostgreSQL commit of the projector.
pub(crate) fn unstorable(event: &RecordedEvent) -> Option<String> {
    use chrono::Datelike as _;
    let m = &event.metadata;
    // PostgreSQL's timestamptz holds 4713 BC to 294276 AD.
    let years = -4712..=294_275;
    for (name, at) in [("occurred_at", m.occurred_at), ("recorded_at", event.recorded_at)] {
        if !years.contains(&at.year()) {
            return Some(format!("{name} {at} lies outside what the read-model tables hold"));
        }
    }
    // PostgreSQL text and jsonb hold no NUL character.
    let texts = [Some(&m.actor.id), Some(&m.actor.role), m.reason.as_ref(), m.tags.client.as_ref()];
    if texts.into_iter().flatten().any(|text| text.contains('\0')) {
        return Some("metadata holds a NUL character, which the read-model tables cannot".into());
    }
    None
}
