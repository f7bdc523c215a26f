//! What a command leaves in traces and metrics: its spans (execute → load, decide, append) and
//! its outcome. Ids, stream names, counts and outcomes only: never the payload.

use std::time::Instant;

use carelog_store::{AppendRequest, AppendResult, EventStore, StoreError};
use opentelemetry::KeyValue;
use opentelemetry::trace::TraceContextExt;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::command_meta::CommandMeta;
use crate::error::ServiceError;
use crate::execute::Committed;
use crate::metrics::{category, instruments};

/// The span around one command, all attempts included.
pub(crate) fn execute_span(stream: &str, meta: &CommandMeta) -> tracing::Span {
    tracing::info_span!(
        "command.execute",
        stream = %stream,
        command_id = %meta.command_id,
        correlation_id = %meta.correlation_id,
        causation_id = meta.causation_id.map(tracing::field::display),
        actor_role = %meta.actor.role,
        outcome = tracing::field::Empty,
    )
}

/// Counts the command by outcome and notes the outcome on its span.
pub(crate) fn record_outcome(span: &tracing::Span, stream: &str, result: &Result<Committed, ServiceError>) {
    let outcome = match result {
        Ok(committed) if committed.already_applied => "already_applied",
        Ok(_) => "appended",
        Err(ServiceError::Store(StoreError::Conflict { .. })) => "conflict",
        Err(ServiceError::Store(_)) => "failed",
        Err(_) => "refused",
    };
    span.record("outcome", outcome);
    instruments().commands.add(1, &[KeyValue::new("category", category(stream)), KeyValue::new("outcome", outcome)]);
}

/// Appends, inside its own span, timing the call and counting events and conflicts.
pub(crate) async fn timed_append(store: &dyn EventStore, request: AppendRequest) -> Result<AppendResult, StoreError> {
    let stream = request.stream.to_string();
    let count = request.events.len() as u64;
    let span = tracing::info_span!(
        "command.append",
        db.operation.name = "append",
        stream = %stream,
        // As i64: the OpenTelemetry layer records u64 fields as strings.
        event_count = request.events.len() as i64,
        outcome = tracing::field::Empty,
    );
    let category = category(&stream);
    let started = Instant::now();
    let result = tracing::Instrument::instrument(store.append(request), span.clone()).await;
    let outcome = match &result {
        Ok(appended) if appended.already_stored => "already_stored",
        Ok(_) => "appended",
        Err(StoreError::Conflict { .. }) => "conflict",
        Err(_) => "failed",
    };
    span.record("outcome", outcome);
    let metrics = instruments();
    metrics.append_duration.record(
        started.elapsed().as_secs_f64(),
        &[KeyValue::new("category", category.clone()), KeyValue::new("outcome", outcome)],
    );
    match &result {
        Ok(appended) if !appended.already_stored => {
            metrics.appended_events.add(count, &[KeyValue::new("category", category)]);
        }
        Err(StoreError::Conflict { .. }) => metrics.conflicts.add(1, &[KeyValue::new("category", category)]),
        _ => {}
    }
    result
}

/// The trace id of the current span, stored with every event so a record leads back to its call.
pub fn current_trace_id() -> Option<String> {
    let context = tracing::Span::current().context();
    let span = context.span();
    let span_context = span.span_context();
    span_context.is_valid().then(|| span_context.trace_id().to_string())
}
