//! The server's instruments, created once from the global meter provider.
//!
//! Names follow the OpenTelemetry semantic conventions where one exists (`rpc.server.call.duration`)
//! and a `carelog.` prefix otherwise. Attributes are low-cardinality: rpc method, status code. The
//! executor (commands, appends) and auth (unauthenticated calls) keep their own.

use std::sync::OnceLock;

use opentelemetry::metrics::Histogram;

#[derive(Debug)]
pub(crate) struct Instruments {
    /// Server calls by `rpc.service`, `rpc.method`, `rpc.grpc.status_code`.
    pub rpc_duration: Histogram<f64>,
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
        }
    })
}
