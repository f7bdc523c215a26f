//! Folding a stream into an aggregate's state with the domain's `evolve`.

use carelog_domain::{DecodeError, billing, intake, planning, sessions};
use carelog_store::{EventStore, ExpectedRevision, RecordedEvent, StreamName, StreamQuery};

use crate::error::ServiceError;

/// An aggregate the executor can load and append for.
pub trait Aggregate {
    type State: Default + Send + Sync;
    type Event: Send + Sync;

    fn decode(event: &RecordedEvent) -> Result<Self::Event, DecodeError>;
    fn evolve(state: Self::State, event: &Self::Event) -> Self::State;
    /// The client whose record the stream belongs to, once the stream says.
    fn client(state: &Self::State) -> Option<uuid::Uuid>;
    /// Type name, schema version and JSON data for the envelope.
    fn encode(event: &Self::Event) -> Result<(&'static str, u32, serde_json::Value), serde_json::Error>;
}

macro_rules! aggregate {
    ($name:ident, $module:ident, $state:ident, $event:ident) => {
        #[doc = concat!("The `", stringify!($module), "` aggregate.")]
        #[derive(Debug)]
        pub struct $name;

        impl Aggregate for $name {
            type State = $module::$state;
            type Event = $module::$event;

            fn decode(event: &RecordedEvent) -> Result<Self::Event, DecodeError> {
                $module::$event::from_stored(&event.event_type, event.schema_version, &event.data)
            }

            fn evolve(state: Self::State, event: &Self::Event) -> Self::State {
                $module::evolve(state, event)
            }

            fn client(state: &Self::State) -> Option<uuid::Uuid> {
                state.client_id.map(|id| id.as_uuid())
            }

            fn encode(event: &Self::Event) -> Result<(&'static str, u32, serde_json::Value), serde_json::Error> {
                Ok((event.event_type(), event.schema_version(), event.to_data()?))
            }
        }
    };
}

aggregate!(Client, intake, ClientState, IntakeEvent);
aggregate!(Plan, planning, PlanState, PlanningEvent);
aggregate!(Session, sessions, SessionState, SessionEvent);
aggregate!(Account, billing, AccountState, BillingEvent);

/// A stream folded into state, with the revision it was read at.
#[derive(Debug, Clone)]
pub struct Loaded<S> {
    pub stream: StreamName,
    pub state: S,
    /// The revision of the last event folded; None if the stream has no events.
    pub revision: Option<u64>,
}

impl<S> Loaded<S> {
    /// The expectation that holds while nobody else has written to the stream.
    pub fn expected(&self) -> ExpectedRevision {
        self.revision.map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact)
    }

    pub fn exists(&self) -> bool {
        self.revision.is_some()
    }
}

/// Every event tagged with `client` that passes `filter`, in log order, read page by page: the
/// client tag is indexed, so finding a client's sessions or accounts stays cheap as the log grows.
pub async fn client_events(
    store: &dyn EventStore,
    client: &str,
    filter: carelog_store::LogFilter,
) -> Result<Vec<carelog_store::RecordedEvent>, ServiceError> {
    const PAGE: usize = 500;
    let mut all = Vec::new();
    let mut from = carelog_store::Position::START.next();
    loop {
        let page =
            store.read_client(client, &carelog_store::LogQuery::from(from, PAGE).filtered(filter.clone())).await?;
        // The limit counts matching events, so a short page is the end of the log.
        let next = page.last().filter(|_| page.len() == PAGE).map(|last| last.position.next());
        all.extend(page);
        match next {
            Some(position) => from = position,
            None => return Ok(all),
        }
    }
}

/// Reads a whole stream and folds it.
pub async fn load<A: Aggregate>(store: &dyn EventStore, stream: &StreamName) -> Result<Loaded<A::State>, ServiceError> {
    let events = store.read_stream(stream, StreamQuery::all()).await?;
    let mut state = A::State::default();
    let mut revision = None;
    for recorded in &events {
        let event = A::decode(recorded)
            .map_err(|e| ServiceError::Decode(format!("{} revision {}: {e}", recorded.stream, recorded.revision)))?;
        state = A::evolve(state, &event);
        revision = Some(recorded.revision);
    }
    Ok(Loaded { stream: stream.clone(), state, revision })
}
