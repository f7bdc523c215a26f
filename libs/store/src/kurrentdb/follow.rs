//! Subscriptions on KurrentDB: a catch-up subscription to `$all` with a server-side filter. The
//! bookkeeping (what to yield, which position is a safe checkpoint) is pure and tested without a server.

use ::kurrentdb::{SubscribeToAllOptions, SubscriptionEvent};
use futures::stream::{self, StreamExt};

use super::KurrentDbStore;
use super::mapping::{from_kurrent, start_after, store_error};
use crate::model::{LogFilter, Position, RecordedEvent, SubscriptionItem};
use crate::subscription::EventSubscription;

/// What the server told the subscription, reduced to what the bookkeeping needs.
#[derive(Debug)]
pub(super) enum Incoming {
    /// A Carelog event of the namespace (already decoded).
    Event(Box<RecordedEvent>),
    /// An event outside the namespace or filter: it advances the scan but is not delivered.
    Skipped(Position),
    /// The server scanned (filtered) up to here.
    Checkpoint(Position),
    /// The subscription reached the head of the log.
    CaughtUp,
}

/// The subscriber's position: every matching event up to `scanned` was yielded.
#[derive(Debug)]
pub(super) struct Progress {
    filter: LogFilter,
    scanned: Position,
    live: bool,
}

impl Progress {
    pub fn new(after: Position, filter: LogFilter) -> Self {
        Self { filter, scanned: after, live: false }
    }

    /// The item to yield, if any. Events at or before the checkpoint (the server starts *at* the
    /// checkpoint event) are dropped, so a resumed subscriber sees every later event exactly once.
    pub fn on(&mut self, incoming: Incoming) -> Option<SubscriptionItem> {
        match incoming {
            Incoming::Event(event) => {
                if event.position <= self.scanned {
                    return None;
                }
                self.scanned = event.position;
                self.filter.matches(&event).then_some(SubscriptionItem::Event(event))
            }
            Incoming::Skipped(position) => {
                self.scanned = self.scanned.max(position);
                None
            }
            // A live checkpoint says "nothing matched up to here": a safe place to resume from.
            Incoming::Checkpoint(position) => {
                let advanced = position > self.scanned;
                self.scanned = self.scanned.max(position);
                (self.live && advanced).then_some(SubscriptionItem::CaughtUp(self.scanned))
            }
            Incoming::CaughtUp => {
                self.live = true;
                Some(SubscriptionItem::CaughtUp(self.scanned))
            }
        }
    }
}

struct Follower {
    store: KurrentDbStore,
    subscription: ::kurrentdb::Subscription,
    progress: Progress,
    failed: bool,
}

pub(super) async fn subscribe(store: KurrentDbStore, after: Position, filter: LogFilter) -> EventSubscription {
    let server_filter = store.inner.namespace.server_filter(&filter).to_kurrent();
    let options = SubscribeToAllOptions::default().position(start_after(after)).filter(server_filter);
    let subscription = store.inner.client.subscribe_to_all(&options).await;
    let follower = Follower { store, subscription, progress: Progress::new(after, filter), failed: false };
    stream::unfold(follower, |mut f| async move {
        if f.failed {
            return None;
        }
        loop {
            let incoming = match f.subscription.next_subscription_event().await {
                Ok(event) => f.incoming(event),
                Err(error) => {
                    f.failed = true;
                    return Some((Err(store_error(error)), f));
                }
            };
            let item = match incoming {
                Some(Ok(incoming)) => f.progress.on(incoming),
                Some(Err(error)) => {
                    f.failed = true;
                    return Some((Err(error), f));
                }
                None => None,
            };
            if let Some(item) = item {
                return Some((Ok(item), f));
            }
        }
    })
    .boxed()
}

impl Follower {
    fn incoming(&self, event: SubscriptionEvent) -> Option<Result<Incoming, crate::StoreError>> {
        match event {
            SubscriptionEvent::EventAppeared(resolved) => {
                let recorded = resolved.get_original_event();
                let position = from_kurrent(recorded.position);
                Some(match self.store.decode_event(recorded) {
                    Some(decoded) => decoded.map(|event| Incoming::Event(Box::new(event))),
                    None => Ok(Incoming::Skipped(position)),
                })
            }
            SubscriptionEvent::Checkpoint(position) => Some(Ok(Incoming::Checkpoint(from_kurrent(position)))),
            SubscriptionEvent::CaughtUp(_) => Some(Ok(Incoming::CaughtUp)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Actor, EventHash, Metadata, StreamName};

    fn event(position: u64, stream: &str) -> Incoming {
        let metadata = Metadata::by(Actor::new("u1", "clinician"), chrono::Utc::now());
        Incoming::Event(Box::new(RecordedEvent {
            event_id: uuid::Uuid::now_v7(),
            stream: StreamName::new(stream).expect("stream"),
            revision: 0,
            position: Position(position),
            event_type: "Noted".into(),
            schema_version: 1,
            data: serde_json::json!({}),
            metadata,
            recorded_at: chrono::Utc::now(),
            prev_hash: EventHash::GENESIS,
            hash: EventHash::GENESIS,
        }))
    }

    fn positions(items: &[Option<SubscriptionItem>]) -> Vec<String> {
        items
            .iter()
            .map(|item| match item {
                Some(SubscriptionItem::Event(e)) => format!("event {}", e.position),
                Some(SubscriptionItem::CaughtUp(p)) => format!("caught up {p}"),
                None => "-".into(),
            })
            .collect()
    }

    #[test]
    fn a_resumed_subscription_drops_the_checkpoint_event_and_yields_each_later_event_once() {
        let mut progress = Progress::new(Position(700), LogFilter::all());
        let items: Vec<_> =
            [event(700, "client-1"), event(812, "client-1"), event(812, "client-1"), event(990, "plan-2")]
                .into_iter()
                .map(|i| progress.on(i))
                .collect();
        assert_eq!(positions(&items), ["-", "event 812", "-", "event 990"]);
    }

    #[test]
    fn caught_up_names_the_last_scanned_position_even_when_the_filter_skipped_it() {
        let mut progress = Progress::new(Position::START, LogFilter::categories(["plan"]));
        let items: Vec<_> = [
            event(100, "plan-1"),
            event(200, "client-1"),
            Incoming::Skipped(Position(300)),
            Incoming::Checkpoint(Position(250)),
            Incoming::CaughtUp,
        ]
        .into_iter()
        .map(|i| progress.on(i))
        .collect();
        assert_eq!(positions(&items), ["event 100", "-", "-", "-", "caught up 300"]);
    }

    #[test]
    fn a_live_checkpoint_past_the_last_event_is_a_caught_up_marker() {
        let mut progress = Progress::new(Position::START, LogFilter::all());
        let items: Vec<_> = [
            Incoming::Checkpoint(Position(50)),
            Incoming::CaughtUp,
            Incoming::Checkpoint(Position(50)),
            Incoming::Checkpoint(Position(90)),
        ]
        .into_iter()
        .map(|i| progress.on(i))
        .collect();
        assert_eq!(positions(&items), ["-", "caught up 50", "-", "caught up 90"]);
    }
}
