//! The trace context a call carries to the server it calls, so the server's spans join the
//! caller's trace; and the current trace id the access log stores with each entry.

use opentelemetry::propagation::Injector;
use tracing_opentelemetry::OpenTelemetrySpanExt;

pub use carelog_executor::current_trace_id;

/// Adds the current span's W3C trace context (`traceparent`, `tracestate`) to outgoing gRPC
/// metadata, so the server's spans join the caller's trace.
pub fn inject_trace_context(metadata: &mut tonic::metadata::MetadataMap) {
    let context = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut MetadataInjector(metadata));
    });
}

/// Writes a propagator's fields into outgoing gRPC metadata.
#[derive(Debug)]
pub struct MetadataInjector<'a>(pub &'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // The propagator only writes its own ASCII keys and values; anything else is dropped
        // rather than failing the call over telemetry.
        if let (Ok(key), Ok(value)) =
            (tonic::metadata::MetadataKey::from_bytes(key.as_bytes()), tonic::metadata::MetadataValue::try_from(value))
        {
            self.0.insert(key, value);
        }
    }
}
