//! One way every binary sets up logs, traces and metrics.
//!
//! Logs go to stderr, human-readable or JSON (`CARELOG_LOG_FORMAT=json|pretty`), filtered by
//! `RUST_LOG`. Every span also becomes an OpenTelemetry span, so the trace id of a call exists (and
//! is stored in the events it appends) even when nothing is exported; traces and metrics are
//! exported over OTLP/gRPC only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. The SDK reads the
//! standard variables itself: `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_TRACES_SAMPLER(_ARG)`, `OTEL_EXPORTER_OTLP_*`.
//!
//! No PHI: spans and log lines carry ids, stream names, counts and outcomes, never request bodies.

use std::io::IsTerminal;

use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// What RUST_LOG defaults to: Carelog at info, dependencies at warn.
const DEFAULT_FILTER: &str = "warn,carelog=info";

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("CARELOG_LOG_FORMAT must be `json` or `pretty`, not `{0}`")]
    LogFormat(String),
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled(#[from] tracing_subscriber::util::TryInitError),
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One line per event, for a terminal.
    #[default]
    Pretty,
    /// One JSON object per event with its span fields, for a log pipeline.
    Json,
}

impl LogFormat {
    /// `CARELOG_LOG_FORMAT`, `pretty` when unset.
    pub fn from_env() -> Result<Self, TelemetryError> {
        match std::env::var("CARELOG_LOG_FORMAT").ok().as_deref().map(str::trim) {
            None | Some("" | "pretty") => Ok(Self::Pretty),
            Some("json") => Ok(Self::Json),
            Some(other) => Err(TelemetryError::LogFormat(other.to_owned())),
        }
    }
}

/// A line for the operator (the address bound, a development-only warning): on stderr as it is, or,
/// with `CARELOG_LOG_FORMAT=json`, as one more JSON log event, so a log pipeline reads JSON only.
pub fn notice(warning: bool, message: &str) {
    match (LogFormat::from_env(), warning) {
        (Ok(LogFormat::Json), true) => tracing::warn!(target: "carelog", "{message}"),
        (Ok(LogFormat::Json), false) => tracing::info!(target: "carelog", "{message}"),
        _ => eprintln!("{message}"),
    }
}

/// Keeps the providers alive; dropping it (or calling `shutdown`) flushes what is still buffered.
#[derive(Debug)]
pub struct TelemetryGuard {
    tracer_provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
}

impl TelemetryGuard {
    /// Flushes and stops both providers now.
    pub fn shutdown(self) {
        drop(self);
    }

    /// Exports what is buffered without stopping (for tests that read an in-memory exporter).
    pub fn flush(&self) {
        if let Err(error) = self.tracer_provider.force_flush() {
            tracing::warn!(%error, "flushing spans failed");
        }
        if let Err(error) = self.meter_provider.force_flush() {
            tracing::warn!(%error, "flushing metrics failed");
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        // Errors here mean a collector went away at exit: the log is all that is left to tell.
        if let Err(error) = self.tracer_provider.shutdown() {
            eprintln!("telemetry: shutting down traces: {error}");
        }
        if let Err(error) = self.meter_provider.shutdown() {
            eprintln!("telemetry: shutting down metrics: {error}");
        }
    }
}

/// Sets up logs, traces and metrics for the binary `service` (the default `service.name`). Call it
/// inside the tokio runtime (the OTLP exporter's channel lives there) and before any service
/// starts (instruments bind to the meter provider installed when they are first used).
pub fn init(service: &str) -> Result<TelemetryGuard, TelemetryError> {
    let resource = resource(service);
    let mut traces = SdkTracerProvider::builder().with_resource(resource.clone());
    let mut metrics = SdkMeterProvider::builder().with_resource(resource);
    if otlp_endpoint_configured() {
        let spans = opentelemetry_otlp::SpanExporter::builder().with_tonic().build()?;
        let measurements = opentelemetry_otlp::MetricExporter::builder().with_tonic().build()?;
        traces = traces.with_batch_exporter(spans);
        metrics = metrics.with_periodic_exporter(measurements);
    }
    install(traces.build(), metrics.build(), LogFormat::from_env()?, std::io::stderr)
}

/// Installs the given providers globally with a log layer writing to `writer`: `init` for
/// production, in-memory exporters and a captured writer for tests.
pub fn install<W>(
    tracer_provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
    format: LogFormat,
    writer: W,
) -> Result<TelemetryGuard, TelemetryError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // Both cost a lock on every poll of every instrumented future (5 % of a command's CPU): busy
    // and idle time per span (the span's own duration is kept), and making each span OpenTelemetry's
    // thread-current context (nothing here reads that; trace ids come from the tracing span).
    let otel = tracing_opentelemetry::layer()
        .with_tracked_inactivity(false)
        .with_context_activation(false)
        .with_tracer(tracer_provider.tracer("carelog"));
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    match format {
        // Colours only on a terminal: a log file or collector gets plain text.
        LogFormat::Pretty => registry
            .with(tracing_subscriber::fmt::layer().with_ansi(std::io::stderr().is_terminal()).with_writer(writer))
            .try_init()?,
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(writer),
            )
            .try_init()?,
    }
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    opentelemetry::global::set_tracer_provider(tracer_provider.clone());
    opentelemetry::global::set_meter_provider(meter_provider.clone());
    Ok(TelemetryGuard { tracer_provider, meter_provider })
}

fn otlp_endpoint_configured() -> bool {
    ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|value| !value.trim().is_empty()))
}

/// The SDK's resource (env detectors included); `service` only when OTEL_SERVICE_NAME is unset,
/// because an operator's choice wins over the binary's default.
fn resource(service: &str) -> Resource {
    let builder = Resource::builder();
    if std::env::var("OTEL_SERVICE_NAME").is_ok_and(|name| !name.trim().is_empty()) {
        builder.build()
    } else {
        builder.with_service_name(service.to_owned()).build()
    }
}

/// The trace id of the current span (the executor stores it with every event).
pub use carelog_executor::current_trace_id;

/// The W3C trace context a caller sent in its HTTP/2 headers.
pub fn extract_trace_context(headers: &http::HeaderMap) -> opentelemetry::Context {
    opentelemetry::global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor(headers)))
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use carelog_auth::telemetry::MetadataInjector;
    use opentelemetry::trace::TraceContextExt;

    #[test]
    fn a_traceparent_round_trips_through_grpc_metadata() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let mut headers = http::HeaderMap::new();
        headers.insert("traceparent", http::HeaderValue::from_static(traceparent));
        let context = extract_trace_context(&headers);
        assert_eq!(context.span().span_context().trace_id().to_string(), "0af7651916cd43dd8448eb211c80319c");
        let mut metadata = tonic::metadata::MetadataMap::new();
        opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.inject_context(&context, &mut MetadataInjector(&mut metadata));
        });
        assert_eq!(metadata.get("traceparent").and_then(|v| v.to_str().ok()), Some(traceparent));
    }
}
