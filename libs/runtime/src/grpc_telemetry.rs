//! One server span per gRPC call, joined to the caller's trace, with RPC semantic-convention
//! attributes, and the call's duration as a metric.

use std::task::{Context, Poll};
use std::time::Instant;

use futures::future::BoxFuture;
use opentelemetry::KeyValue;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::metrics::instruments;
use crate::telemetry::extract_trace_context;

/// gRPC status codes that make a server span an error (OpenTelemetry RPC conventions): the
/// others are the caller's problem, not the server's.
const SERVER_ERROR_CODES: [i64; 6] = [2, 4, 12, 13, 14, 15];

/// Wraps every service of a router.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcTelemetryLayer;

impl<S> tower_layer::Layer<S> for GrpcTelemetryLayer {
    type Service = GrpcTelemetry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcTelemetry { inner }
    }
}

#[derive(Debug, Clone)]
pub struct GrpcTelemetry<S> {
    inner: S,
}

impl<S, B, R> tower_service::Service<http::Request<B>> for GrpcTelemetry<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let (service, method) = rpc_name(request.uri().path());
        let span = tracing::info_span!(
            "grpc.server",
            otel.name = %format_args!("{service}/{method}"),
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = tracing::field::Empty,
        );
        // Fails only when no OpenTelemetry layer is installed: then there is no trace to join.
        let _ = span.set_parent(extract_trace_context(request.headers()));
        let started = Instant::now();
        let response = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        Box::pin(
            async move {
                let result = response.await;
                // A unary call that fails answers "trailers-only": the status is in the headers.
                // Without one the call succeeded (a streaming call's late error is not seen here).
                let code = match &result {
                    Ok(response) => response
                        .headers()
                        .get("grpc-status")
                        .and_then(|value| value.to_str().ok()?.parse::<i64>().ok())
                        .unwrap_or(0),
                    Err(_) => 2,
                };
                let span = tracing::Span::current();
                span.record("rpc.grpc.status_code", code);
                if SERVER_ERROR_CODES.contains(&code) {
                    span.record("otel.status_code", "error");
                }
                let elapsed = started.elapsed();
                // The line that ties the log to the trace: search the log by trace id. Refusals are
                // worth an operator's eye by default; successes only when asked for (RUST_LOG=debug).
                let trace_id = crate::telemetry::current_trace_id();
                let millis = elapsed.as_secs_f64() * 1000.0;
                if code == 0 {
                    tracing::debug!(trace_id, grpc_status = code, millis, "call served");
                } else {
                    tracing::info!(trace_id, grpc_status = code, millis, "call refused");
                }
                instruments().rpc_duration.record(
                    elapsed.as_secs_f64(),
                    &[
                        KeyValue::new("rpc.system", "grpc"),
                        KeyValue::new("rpc.service", service),
                        KeyValue::new("rpc.method", method),
                        KeyValue::new("rpc.grpc.status_code", code),
                    ],
                );
                result
            }
            .instrument(span),
        )
    }
}

/// `/carelog.v1.IntakeService/RegisterClient` → (`carelog.v1.IntakeService`, `RegisterClient`).
fn rpc_name(path: &str) -> (String, String) {
    let trimmed = path.trim_start_matches('/');
    match trimmed.split_once('/') {
        Some((service, method)) => (service.to_owned(), method.to_owned()),
        None => (trimmed.to_owned(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rpc_name_comes_from_the_path() {
        assert_eq!(
            rpc_name("/carelog.v1.IntakeService/RegisterClient"),
            ("carelog.v1.IntakeService".to_owned(), "RegisterClient".to_owned())
        );
        assert_eq!(rpc_name("/odd"), ("odd".to_owned(), String::new()));
    }
}
