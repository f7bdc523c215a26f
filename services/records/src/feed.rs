//! `Subscribe`: the log as a server stream for connectors. The store subscription is pulled, so a
//! slow reader only slows its own feed; a reader stalled past the configured stall time is told to resume from its
//! last safe position rather than being dropped silently.

use std::sync::Arc;
use std::time::Duration;

use carelog_auth::Pass;
use carelog_proto::v1 as proto;
use carelog_runtime::parse;
use carelog_store::{EventStore, LogFilter, Position, SubscriptionItem};
use futures::{Stream, StreamExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::convert::envelope;

/// Items buffered for a reader before the feed waits for it.
const BUFFER: usize = 256;
/// A reader that accepts nothing for this long is cut off with a resume position (default).
pub const DEFAULT_STALL: Duration = Duration::from_secs(60);

pub type Feed = std::pin::Pin<Box<dyn Stream<Item = Result<proto::SubscribeReply, Status>> + Send>>;

pub fn start(
    pass: Pass,
    store: Arc<dyn EventStore>,
    after: Position,
    filter: LogFilter,
    heartbeat: Duration,
    stall: Duration,
    closing: Option<watch::Receiver<bool>>,
) -> Feed {
    let (items, buffered) = mpsc::channel(BUFFER);
    let (fail, failure) = oneshot::channel::<Status>();
    tokio::spawn(async move {
        if let Err(status) = pump(&pass, store, after, filter, (heartbeat, stall), closing, &items).await {
            let _ = fail.send(status);
        }
    });
    // The failure (if any) arrives after everything already buffered.
    let tail = futures::stream::once(failure).filter_map(|outcome| async move { outcome.ok().map(Err) });
    Box::pin(ReceiverStream::new(buffered).map(Ok).chain(tail))
}

async fn pump(
    pass: &Pass,
    store: Arc<dyn EventStore>,
    after: Position,
    filter: LogFilter,
    (heartbeat, stall): (Duration, Duration),
    closing: Option<watch::Receiver<bool>>,
    items: &mpsc::Sender<proto::SubscribeReply>,
) -> Result<(), Status> {
    let mut closing = closing.unwrap_or_else(|| watch::channel(false).1);
    let mut subscription = store.subscribe(after, filter);
    // Every matching event up to `safe` has been handed to the reader's buffer, which is delivered
    // in full before any error: the position a reader may resume from.
    let mut safe = after;
    let mut ticker = tokio::time::interval(heartbeat);
    ticker.reset();
    loop {
        let (reply, reached) = tokio::select! {
            item = subscription.next() => match item {
                None => return Ok(()),
                Some(Err(error)) => {
                    return Err(Status::unavailable(format!("{error}; resume with after_position = {safe}")));
                }
                Some(Ok(SubscriptionItem::Event(event))) => {
                    ticker.reset();
                    // Each event leaves through the gate as it is sent: cut to the subscriber's role.
                    (proto::subscribe_reply::Item::Event(envelope(&event, pass)), event.position)
                }
                Some(Ok(SubscriptionItem::CaughtUp(position))) => {
                    ticker.reset();
                    (heartbeat_item(position), position)
                }
            },
            _ = ticker.tick() => (heartbeat_item(safe), safe),
            () = shutting_down(&mut closing) => {
                return Err(Status::unavailable(format!(
                    "the server is shutting down; resume with after_position = {safe}"
                )));
            }
        };
        match items.send_timeout(proto::SubscribeReply { item: Some(reply) }, stall).await {
            Ok(()) => safe = reached,
            Err(mpsc::error::SendTimeoutError::Closed(_)) => return Ok(()),
            Err(mpsc::error::SendTimeoutError::Timeout(_)) => {
                return Err(Status::resource_exhausted(format!(
                    "the subscriber read nothing for {} s; resume with after_position = {safe}",
                    stall.as_secs_f64()
                )));
            }
        }
    }
}

/// Resolves once the server begins to shut down; never, if nobody can tell it to.
async fn shutting_down(closing: &mut watch::Receiver<bool>) {
    if closing.wait_for(|closing| *closing).await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn heartbeat_item(position: Position) -> proto::subscribe_reply::Item {
    proto::subscribe_reply::Item::Heartbeat(proto::Heartbeat {
        position: position.0,
        at: Some(parse::to_timestamp(chrono::Utc::now())),
    })
}
