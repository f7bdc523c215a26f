//! Auth's instrument, created once from the global meter provider (the runtime's
//! `telemetry::init` installs it before the first call is served).

use std::sync::OnceLock;

use opentelemetry::metrics::Counter;

#[derive(Debug)]
pub(crate) struct Instruments {
    /// Calls refused before any policy check because the caller could not be authenticated, by `rpc`.
    pub unauthenticated: Counter<u64>,
}

pub(crate) fn instruments() -> &'static Instruments {
    static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
    INSTRUMENTS.get_or_init(|| {
        let meter = opentelemetry::global::meter("carelog");
        Instruments {
            unauthenticated: meter
                .u64_counter("carelog.auth.unauthenticated")
                .with_description("Calls refused because the caller could not be authenticated")
                .build(),
        }
    })
}
