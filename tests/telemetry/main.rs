//! Telemetry, black-box: a command sent with a W3C `traceparent` shows up as one trace from the
//! server span to the append, its stored event names that trace, metrics are exported, and no
//! span, attribute, span event or log line carries the client's PHI.
//!
//! Its own test binary: it installs the process-wide subscriber and providers.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use carelog_blackbox::{Backend, Caller, TestApp, ctx};
use carelog_proto::v1 as proto;
use carelog_runtime::telemetry::{self, LogFormat};
use carelog_store::StreamQuery;
use opentelemetry::trace::{SpanId, SpanKind};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use uuid::Uuid;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";
const REFUSED_TRACE_ID: &str = "5cf92f3577b34da6a3ce929d0e0e4799";

/// PHI the request carries and telemetry must never repeat.
const LEGAL_NAME: &str = "Zebulon Quartermaine-Oyelaran";
const PHI: [&str; 5] = [LEGAL_NAME, "Quartermaine", "zq.oyelaran@example.org", "77 Juniper Row", "ZQX987654321"];

fn register(client_id: Uuid, date_of_birth: &str) -> proto::RegisterClientRequest {
    proto::RegisterClientRequest {
        context: ctx(),
        client_id: client_id.to_string(),
        legal_name: LEGAL_NAME.into(),
        preferred_name: "Zeb".into(),
        date_of_birth: date_of_birth.into(),
        phone: "+1 (555) 019-8841".into(),
        email: "zq.oyelaran@example.org".into(),
        address: "77 Juniper Row, Springfield".into(),
        payer: Some(proto::register_client_request::Payer::Insurance(proto::register_client_request::Insurance {
            payer_name: "Acme Health".into(),
            member_id: "ZQX987654321".into(),
        })),
    }
}

fn traced<T>(body: T, trace_id: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(body);
    let traceparent = format!("00-{trace_id}-{CALLER_SPAN_ID}-01");
    request.metadata_mut().insert("traceparent", traceparent.parse().expect("ascii"));
    request
}

/// Log lines written by the fmt layer, kept for inspection.
#[derive(Debug, Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> tracing_subscriber::fmt::MakeWriter<'w> for Captured {
    type Writer = Captured;

    fn make_writer(&'w self) -> Self::Writer {
        self.clone()
    }
}

fn attribute<'s>(span: &'s SpanData, key: &str) -> Option<&'s Value> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv: &KeyValue| &kv.value)
}

fn named<'s>(spans: &'s [SpanData], name: &str) -> &'s SpanData {
    spans
        .iter()
        .find(|s| s.name == name && s.span_context.trace_id().to_string() == TRACE_ID)
        .unwrap_or_else(|| panic!("no span {name} in trace {TRACE_ID}: {:#?}", names(spans)))
}

fn names(spans: &[SpanData]) -> Vec<String> {
    spans.iter().map(|s| format!("{} ({})", s.name, s.span_context.trace_id())).collect()
}

/// Spans end as their futures are dropped, just after the response leaves: wait for `name`.
async fn spans_once_ended(exporter: &InMemorySpanExporter, name: &str) -> Vec<SpanData> {
    for _ in 0..100 {
        let spans = exporter.get_finished_spans().expect("spans");
        if spans.iter().any(|s| s.name == name) {
            return spans;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    exporter.get_finished_spans().expect("spans")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_is_one_trace_from_the_call_to_the_stored_event_with_metrics_and_no_phi() {
    let spans = InMemorySpanExporter::default();
    let metrics = InMemoryMetricExporter::default();
    let logs = Captured::default();
    let guard = telemetry::install(
        SdkTracerProvider::builder().with_simple_exporter(spans.clone()).build(),
        SdkMeterProvider::builder().with_reader(PeriodicReader::builder(metrics.clone()).build()).build(),
        LogFormat::Json,
        logs.clone(),
    )
    .expect("telemetry installs once per process");

    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut intake = app.intake(&Caller::new("intake"));
    let client_id = Uuid::now_v7();
    let receipt = intake.register_client(traced(register(client_id, "1987-02-11"), TRACE_ID)).await.unwrap();
    let receipt = receipt.into_inner();
    let refused = intake.register_client(traced(register(Uuid::now_v7(), "not a date"), REFUSED_TRACE_ID)).await;
    assert_eq!(refused.expect_err("an invalid date of birth is refused").code(), tonic::Code::InvalidArgument);

    // A call without credentials is refused before any policy check, counted and logged with its source.
    let mut anonymous = carelog_proto::v1::intake_service_client::IntakeServiceClient::new(app.channel());
    let unauthenticated = anonymous.register_client(register(Uuid::now_v7(), "1987-02-11")).await;
    assert_eq!(unauthenticated.expect_err("no token").code(), tonic::Code::Unauthenticated);

    // The stored event names the caller's trace.
    let stream = carelog_store::StreamName::new(receipt.stream.clone()).expect("stream name");
    let stored = app.store.read_stream(&stream, StreamQuery::all()).await.unwrap();
    assert_eq!(stored[0].metadata.trace_id.as_deref(), Some(TRACE_ID));

    // One server span per call, a child of the caller's span, with RPC attributes; below it the
    // command and its load, decide and append.
    let ended = spans_once_ended(&spans, "carelog.v1.IntakeService/RegisterClient").await;
    let server = named(&ended, "carelog.v1.IntakeService/RegisterClient");
    assert_eq!(server.span_kind, SpanKind::Server);
    assert_eq!(server.parent_span_id, SpanId::from_hex(CALLER_SPAN_ID).expect("span id"));
    assert!(server.parent_span_is_remote);
    assert_eq!(attribute(server, "rpc.system"), Some(&Value::from("grpc")));
    assert_eq!(attribute(server, "rpc.service"), Some(&Value::from("carelog.v1.IntakeService")));
    assert_eq!(attribute(server, "rpc.method"), Some(&Value::from("RegisterClient")));
    assert_eq!(attribute(server, "rpc.grpc.status_code"), Some(&Value::I64(0)));
    let execute = named(&ended, "command.execute");
    assert_eq!(execute.parent_span_id, server.span_context.span_id());
    assert_eq!(attribute(execute, "outcome"), Some(&Value::from("appended")));
    for step in ["command.load", "command.decide", "command.append"] {
        assert_eq!(named(&ended, step).parent_span_id, execute.span_context.span_id(), "{step}");
    }
    // A registration starts its stream: decided on an empty one without reading it.
    assert_eq!(attribute(named(&ended, "command.load"), "assumed_new"), Some(&Value::Bool(true)));
    let append = named(&ended, "command.append");
    assert_eq!(attribute(append, "stream"), Some(&Value::from(receipt.stream.clone())));
    assert_eq!(attribute(append, "event_count"), Some(&Value::I64(1)));
    assert_eq!(attribute(append, "outcome"), Some(&Value::from("appended")));
    let refused_server = ended
        .iter()
        .find(|s| s.span_context.trace_id().to_string() == REFUSED_TRACE_ID && s.span_kind == SpanKind::Server)
        .expect("the refused call's server span");
    assert_eq!(attribute(refused_server, "rpc.grpc.status_code"), Some(&Value::I64(3)));

    // The projection folds the event in its own batch span.
    let ended = spans_once_ended(&spans, "projection.batch").await;
    assert!(ended.iter().any(|s| s.name == "projection.batch"), "{:#?}", names(&ended));

    // Metrics: calls, commands, appends, append latency, subscriptions, projection lag.
    guard.flush();
    let exported = metrics.get_finished_metrics().expect("metrics");
    let metric_names: Vec<String> = exported
        .iter()
        .flat_map(|resource| resource.scope_metrics())
        .flat_map(|scope| scope.metrics())
        .map(|metric| metric.name().to_owned())
        .collect();
    for expected in [
        "rpc.server.call.duration",
        "carelog.commands",
        "carelog.store.appended_events",
        "carelog.store.append.duration",
        "carelog.subscriptions.active",
        "carelog.projection.lag.seconds",
        "carelog.projection.lag.events",
        "carelog.auth.unauthenticated",
    ] {
        assert!(metric_names.iter().any(|name| name == expected), "{expected} missing from {metric_names:?}");
    }

    // The refused call is in the log under its trace id; no PHI anywhere.
    let log = logs.text();
    assert!(log.lines().any(|line| line.contains("call refused") && line.contains(REFUSED_TRACE_ID)), "{log}");
    let refused_unauthenticated = log.lines().find(|line| line.contains("call refused: not authenticated"));
    let refused_unauthenticated =
        refused_unauthenticated.unwrap_or_else(|| panic!("no unauthenticated refusal in {log}"));
    assert!(refused_unauthenticated.contains("127.0.0.1"), "the source address: {refused_unauthenticated}");
    assert!(refused_unauthenticated.contains("IntakeService/RegisterClient"), "{refused_unauthenticated}");
    // Expected outcomes are no operator's business: ERROR is kept for faults one must act on.
    expected_outcomes(&app).await;
    let postgres = TestApp::spawn(Backend::Postgres).await;
    expected_outcomes(&postgres).await;
    let log = logs.text();
    let errors: Vec<&str> = log.lines().filter(|line| line.contains("\"level\":\"ERROR\"")).collect();
    assert!(errors.is_empty(), "expected outcomes logged at ERROR: {errors:#?}");
    // Stopped after the check: dropping its schema stops its projector with a real fault.
    postgres.stop().await;

    let everything_exported = format!("{:?}", spans.get_finished_spans().expect("spans"));
    for phi in PHI {
        assert!(!everything_exported.contains(phi), "span data contains {phi}");
        assert!(!log.contains(phi), "the log contains {phi}");
    }
    app.stop().await;
}

/// An identical retry (its events decided again at another time), writers racing on one stream
/// (the losers retried), and a record that does not exist: none of them is an operator's fault.
async fn expected_outcomes(app: &TestApp) {
    let mut intake = app.intake(&Caller::new("intake"));
    let retry = register(Uuid::now_v7(), "1987-02-11");
    let retried_client = retry.client_id.clone();
    intake.register_client(retry.clone()).await.expect("registered");
    assert!(intake.register_client(retry).await.expect("an identical retry").into_inner().already_applied);
    let consents = (0..8).map(|_| {
        let mut intake = intake.clone();
        let request = proto::GiveConsentRequest {
            context: ctx(),
            client_id: retried_client.clone(),
            consent_id: Uuid::now_v7().to_string(),
            given_at: None,
            kind: Some(proto::give_consent_request::Kind::Treatment(proto::give_consent_request::Treatment {})),
        };
        async move { intake.give_consent(request).await }
    });
    for outcome in futures::future::join_all(consents).await {
        if let Err(status) = outcome {
            assert_eq!(status.code(), tonic::Code::Aborted, "{status:?}");
        }
    }
    let mut records = app.records(&Caller::new("auditor"));
    let unknown = proto::GetEpisodeRequest { client_id: Uuid::now_v7().to_string(), min_position: 0 };
    assert_eq!(records.get_episode(unknown).await.expect_err("no such client").code(), tonic::Code::NotFound);
}
