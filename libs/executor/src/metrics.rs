//! The executor's instruments, created once from the global meter provider.
//!
//! Attributes are low-cardinality: stream category and outcome; never a client id (unbounded) or
//! anything clinical.

use std::sync::OnceLock;

use opentelemetry::metrics::{Counter, Histogram};

#[derive(Debug)]
pub(crate) struct Instruments {
    /// Commands by `category` and `outcome` (appended, already_applied, refused, conflict, failed).
    pub commands: Counter<u64>,
    /// Events appended, by `category`.
    pub appended_events: Counter<u64>,
    /// Time of one append call, by `category` and `outcome`.
    pub append_duration: Histogram<f64>,
    /// Appends refused because another writer moved a stream first, by `category`.
    pub conflicts: Counter<u64>,
}

/// The instruments, bound to the meter provider installed when first used: the runtime's
/// `telemetry::init` must run before the first command.
pub(crate) fn instruments() -> &'static Instruments {
    static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
    INSTRUMENTS.get_or_init(|| {
        let meter = opentelemetry::global::meter("carelog");
        Instruments {
            commands: meter.u64_counter("carelog.commands").with_description("Commands executed, by outcome").build(),
            appended_events: meter
                .u64_counter("carelog.store.appended_events")
                .with_unit("{event}")
                .with_description("Events appended to the log")
                .build(),
            append_duration: meter
                .f64_histogram("carelog.store.append.duration")
                .with_unit("s")
                .with_description("Duration of one append to the event store")
                .build(),
            conflicts: meter
                .u64_counter("carelog.store.conflicts")
                .with_description("Appends refused by optimistic concurrency")
                .build(),
        }
    })
}

/// The category of a stream name (`client-…` → `client`): bounded, unlike the stream itself.
pub(crate) fn category(stream: &str) -> String {
    stream.split_once('-').map_or(stream, |(category, _)| category).to_owned()
}
