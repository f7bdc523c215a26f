//! The service-side instruments, created once from the global meter provider.
//!
//! Names follow the OpenTelemetry semantic conventions where one exists (`rpc.server.call.duration`)
//! and a `carelog.` prefix otherwise. Attributes are low-cardinality: rpc method, status code,
//! stream category, outcome; never a client id (unbounded) or anything clinical.

use std::sync::OnceLock;

use opentelemetry::metrics::{Counter, Histogram};

#[derive(Debug)]
pub(crate) struct Instruments {
    /// Server calls by `rpc.service`, `rpc.method`, `rpc.grpc.status_code`.
    pub rpc_duration: Histogram<f64>,
    /// Commands by `category` and `outcome` (appended, already_applied, refused, conflict, failed).
    pub commands: Counter<u64>,
    /// Events appended, by `category`.
    pub appended_events: Counter<u64>,
    /// Time of one append call, by `category` and `outcome`.
    pub append_duration: Histogram<f64>,
    /// Appends refused because another writer moved a stream first, by `category`.
    pub conflicts: Counter<u64>,
    /// Calls refused before any policy check because the caller could not be authenticated, by `rpc`.
    pub unauthenticated: Counter<u64>,
}

/// The instruments, bound to the meter provider installed when first used: `telemetry::init`
/// must run before the first call is served.
pub(crate) fn instruments() -> &'static Instruments {
    static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
    INSTRUMENTS.get_or_init(|| {
        let meter = opentelemetry::global::meter("carelog");
        Instruments {
            rpc_duration: meter
                .f64_histogram("rpc.server.call.duration")
                .with_unit("s")
                .with_description("Duration of gRPC calls served")
                .build(),
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
            unauthenticated: meter
                .u64_counter("carelog.auth.unauthenticated")
                .with_description("Calls refused because the caller could not be authenticated")
                .build(),
        }
    })
}

/// The category of a stream name (`client-…` → `client`): bounded, unlike the stream itself.
pub(crate) fn category(stream: &str) -> String {
    stream.split_once('-').map_or(stream, |(category, _)| category).to_owned()
}
