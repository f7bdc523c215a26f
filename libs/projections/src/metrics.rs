//! How far the read models trail the log, and how many subscriptions follow it: the numbers an
//! operator watches to know whether a read is fresh.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Gauge, UpDownCounter};

#[derive(Debug)]
struct Instruments {
    lag_events: Gauge<u64>,
    lag_seconds: Gauge<f64>,
    subscriptions: UpDownCounter<i64>,
    leader: Gauge<u64>,
    quarantined: Counter<u64>,
}

/// Bound to the meter provider installed when first used (telemetry is set up before any runner).
fn instruments() -> &'static Instruments {
    static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
    INSTRUMENTS.get_or_init(|| {
        let meter = opentelemetry::global::meter("carelog.projections");
        Instruments {
            lag_events: meter
                .u64_gauge("carelog.projection.lag.events")
                .with_unit("{event}")
                .with_description("Events in the log not yet folded into the read models")
                .build(),
            lag_seconds: meter
                .f64_gauge("carelog.projection.lag.seconds")
                .with_unit("s")
                .with_description("Age of the last event folded when its batch committed")
                .build(),
            subscriptions: meter
                .i64_up_down_counter("carelog.subscriptions.active")
                .with_description("Subscriptions following the log")
                .build(),
            leader: meter
                .u64_gauge("carelog.projection.leader")
                .with_description("1 while this process holds the projection lock and projects, else 0")
                .build(),
            quarantined: meter
                .u64_counter("carelog.projection.quarantined")
                .with_unit("{event}")
                .with_description(
                    "Events a projection could not fold and kept aside (their client's view is incomplete)",
                )
                .build(),
        }
    })
}

/// After a batch commit: the lag in time, from the newest event's recording time.
pub(crate) fn batch_committed(projection: &'static str, last_recorded: Option<DateTime<Utc>>) {
    if let Some(last) = last_recorded {
        let age = (Utc::now() - last).to_std().unwrap_or_default();
        instruments().lag_seconds.record(age.as_secs_f64(), &[KeyValue::new("projection", projection)]);
    }
}

/// The lag in events: head of the log minus the committed checkpoint.
pub(crate) fn lag_events(projection: &'static str, head: u64, checkpoint: u64) {
    instruments().lag_events.record(head.saturating_sub(checkpoint), &[KeyValue::new("projection", projection)]);
}

/// Whether this process leads the projection (the others serve what it writes).
pub(crate) fn leading(projection: &'static str, leading: bool) {
    instruments().leader.record(u64::from(leading), &[KeyValue::new("projection", projection)]);
}

/// Counts one active subscription until dropped (however the follow loop ends).
#[derive(Debug)]
pub(crate) struct ActiveSubscription(&'static str);

impl ActiveSubscription {
    pub(crate) fn start(projection: &'static str) -> Self {
        instruments().subscriptions.add(1, &[KeyValue::new("projection", projection)]);
        Self(projection)
    }
}

impl Drop for ActiveSubscription {
    fn drop(&mut self) {
        instruments().subscriptions.add(-1, &[KeyValue::new("projection", self.0)]);
    }
}

/// Events a committed batch quarantined.
pub(crate) fn quarantined(projection: &'static str, count: u64) {
    instruments().quarantined.add(count, &[KeyValue::new("projection", projection)]);
}
