//! Pure translations between Carelog's store vocabulary and the KurrentDB client's: stream states,
//! `$all` positions, server-side filters, stream names in a namespace, and errors.

use ::kurrentdb::{CurrentRevision, StreamPosition, StreamState, SubscriptionFilter};

use crate::error::StoreError;
use crate::model::{LogFilter, Position};

/// The state an append pins: the exact head the hash chain was computed from.
pub(super) fn pinned_state(head: Option<u64>) -> StreamState {
    head.map_or(StreamState::NoStream, StreamState::StreamRevision)
}

/// The stream's revision as a WrongExpectedVersion reports it.
pub(super) fn actual_revision(current: CurrentRevision) -> Option<u64> {
    match current {
        CurrentRevision::Current(revision) => Some(revision),
        CurrentRevision::NoStream => None,
    }
}

/// Where to start reading `$all` to see every event *after* `after`. KurrentDB refuses positions that
/// are not an event's own, so only 0 (the start) or a position this store handed out may be given:
/// reading starts at that event, and the caller drops it (see [`is_after`]).
pub(super) fn start_after(after: Position) -> StreamPosition<::kurrentdb::Position> {
    if after == Position::START {
        StreamPosition::Start
    } else {
        // Appends through gRPC are implicit transactions, whose events have commit == prepare.
        StreamPosition::Position(::kurrentdb::Position { commit: after.0, prepare: after.0 })
    }
}

/// Whether an event read from [`start_after`]`(after)` lies after it.
pub(super) fn is_after(event: Position, after: Position) -> bool {
    event > after
}

/// The `$all` position a Carelog position names.
pub(super) fn from_kurrent(position: ::kurrentdb::Position) -> Position {
    Position(position.commit)
}

/// Maps Carelog stream names into a namespace (`{namespace}.{stream}`) so that several deployments,
/// or test runs, share one cluster without seeing each other's events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Namespace(String);

impl Namespace {
    pub fn new(namespace: Option<&str>) -> Result<Self, String> {
        match namespace {
            None | Some("") => Ok(Self(String::new())),
            Some(ns) if ns.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => Ok(Self(format!("{ns}."))),
            Some(ns) => Err(format!("namespace {ns:?}: use letters, digits and _ only")),
        }
    }

    pub fn to_kurrent(&self, stream: &str) -> String {
        format!("{}{stream}", self.0)
    }

    /// The Carelog name of a KurrentDB stream, or None for a stream outside the namespace.
    pub fn carelog_name<'a>(&self, stream: &'a str) -> Option<&'a str> {
        let name = stream.strip_prefix(self.0.as_str())?;
        (!name.starts_with('$')).then_some(name)
    }

    /// The server-side filter for a log filter. KurrentDB filters on stream names *or* event types,
    /// not both: event types go to the server only when nothing else must be filtered there; the
    /// adapter re-applies the whole filter to what comes back.
    pub fn server_filter(&self, filter: &LogFilter) -> ServerFilter {
        if self.0.is_empty() && filter.categories.is_empty() && !filter.event_types.is_empty() {
            return ServerFilter::EventType(format!("^({})$", alternatives(&filter.event_types)));
        }
        let prefix = escape(&self.0);
        if filter.categories.is_empty() {
            // Every stream of the namespace, never a system stream (`$…`).
            return ServerFilter::StreamName(format!("^{prefix}[^$]"));
        }
        ServerFilter::StreamName(format!("^{prefix}({})(-|$)", alternatives(&filter.categories)))
    }
}

/// A server-side filter as a regular expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ServerFilter {
    StreamName(String),
    EventType(String),
}

impl ServerFilter {
    pub fn to_kurrent(&self) -> SubscriptionFilter {
        match self {
            ServerFilter::StreamName(regex) => SubscriptionFilter::on_stream_name().regex(regex),
            ServerFilter::EventType(regex) => SubscriptionFilter::on_event_type().regex(regex),
        }
    }
}

fn alternatives(values: &[String]) -> String {
    values.iter().map(|v| escape(v)).collect::<Vec<_>>().join("|")
}

/// Escapes every character a regular expression treats specially.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$-/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Maps a client error; wrong expected versions are handled by the append itself.
pub(super) fn store_error(error: ::kurrentdb::Error) -> StoreError {
    use ::kurrentdb::Error as E;
    match error {
        E::ConnectionClosed
        | E::GrpcConnectionError(_)
        | E::DeadlineExceeded
        | E::NotLeaderException(_)
        | E::ServerError(_) => StoreError::Unavailable(format!("KurrentDB: {error}")),
        // gRPC codes UNAVAILABLE (14), DEADLINE_EXCEEDED (4), RESOURCE_EXHAUSTED (8): worth a retry.
        E::Grpc { code, .. } if matches!(code as i32, 14 | 4 | 8) => {
            StoreError::Unavailable(format!("KurrentDB: {error}"))
        }
        E::AccessDenied => {
            StoreError::Database("KurrentDB denied access: check the user and password in the store URL".into())
        }
        other => StoreError::Database(format!("KurrentDB: {other}")),
    }
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
