//! The write side accepts only what the read side can hold: hostile but well-formed input is
//! refused as INVALID_ARGUMENT naming its field, stores nothing, and every reader carries on.
//! Each of these once stalled the projector or answered with the wrong code.

use std::time::{Duration, Instant};

use carelog_blackbox::{Caller, CallerHeaders, TestApp, assert_invalid_field, on_both_backends};
use carelog_proto::v1 as proto;
use prost::bytes::{Buf, BufMut};
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::service::interceptor::InterceptedService;
use uuid::Uuid;

use crate::given;
use crate::intake::register_request;

/// A registration carrying `change`d context.
fn registration(change: impl FnOnce(&mut proto::CommandContext)) -> proto::RegisterClientRequest {
    let mut request = register_request(Uuid::now_v7());
    change(request.context.as_mut().expect("a context"));
    request
}

/// The client's record, read as the caller who waits for its own write.
async fn episode(app: &TestApp, client: Uuid, min_position: u64) -> Result<proto::EpisodeView, tonic::Status> {
    let request = proto::GetEpisodeRequest { client_id: client.to_string(), min_position };
    let reply = app.records(&Caller::new("auditor")).get_episode(request).await?.into_inner();
    Ok(given::view_of(reply))
}

async fn hostile_times_text_and_dates_are_refused_and_reads_carry_on(app: &TestApp) {
    let mut intake = app.intake(&given::front_desk());
    // The year −5000: PostgreSQL's timestamptz cannot hold it.
    let ancient = prost_types::Timestamp { seconds: -219_983_443_200, nanos: 0 };
    let refused = [
        (registration(|c| c.occurred_at = Some(ancient)), "context.occurred_at"),
        (registration(|c| c.reason = "late entry\u{0}".into()), "context.reason"),
        (registration(|c| c.reason = "bell\u{7}".into()), "context.reason"),
    ];
    for (request, field) in refused {
        assert_invalid_field(&intake.register_client(request).await.unwrap_err(), field);
    }
    for birth in ["0000-01-01", "1987-1-1", "+1987-01-01", "1899-12-31", "2200-01-01"] {
        let mut request = register_request(Uuid::now_v7());
        request.date_of_birth = birth.into();
        assert_invalid_field(&intake.register_client(request).await.unwrap_err(), "date_of_birth");
    }
    assert_eq!(app.event_count().await, 0, "a refusal stores nothing");
    // The oldest and the most hostile values still accepted fold, and reads carry on.
    let edge = registration(|c| {
        c.occurred_at = Some(prost_types::Timestamp { seconds: -2_208_988_800, nanos: 0 }); // 1900-01-01
        c.reason = "line one\nline two\ttabbed — ünïcödé".into();
    });
    let client = Uuid::parse_str(&edge.client_id).unwrap();
    let receipt = intake.register_client(edge).await.expect("edge values are in the domain").into_inner();
    let view = episode(app, client, receipt.position).await.expect("the episode reads");
    assert_eq!(view.client_id, client.to_string());
    let audit = proto::ListAuditTrailRequest { client_id: client.to_string(), ..Default::default() };
    let trail = app.records(&Caller::new("auditor")).list_audit_trail(audit).await.expect("the audit trail reads");
    assert!(trail.into_inner().entries.iter().any(|e| e.event_type == "ClientRegistered"));
}

async fn a_min_position_beyond_the_head_is_refused_at_once(app: &TestApp) {
    let e = given::open_episode(app).await;
    let head = app.event_count().await;
    let started = Instant::now();
    let err = episode(app, e.client_id, head + 1_000).await.unwrap_err();
    assert_invalid_field(&err, "min_position");
    assert!(started.elapsed() < Duration::from_secs(2), "waited {:?}", started.elapsed());
    let ledger = proto::GetLedgerRequest {
        account_id: Uuid::now_v7().to_string(),
        min_position: head + 1,
        ..Default::default()
    };
    let err = app.records(&Caller::new("auditor")).get_ledger(ledger).await.unwrap_err();
    assert_invalid_field(&err, "min_position");
    assert!(episode(app, e.client_id, head).await.is_ok());
}

/// Sends raw bytes as a request body, for bodies no generated client would send.
#[derive(Debug, Default, Clone, Copy)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }
    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        Ok(Some(bytes.to_vec()))
    }
}

async fn a_malformed_protobuf_body_is_invalid_argument(app: &TestApp) {
    let channel = InterceptedService::new(app.channel(), CallerHeaders::new(given::front_desk()));
    let mut grpc = tonic::client::Grpc::new(channel);
    // Field 1 (the context) announcing 127 bytes and carrying one; a varint that never ends;
    // a wire type (7) that does not exist.
    for body in [vec![0x0a, 0x7f, 0x01], vec![0x08, 0xff, 0xff], vec![0x0f]] {
        grpc.ready().await.expect("ready");
        let path = tonic::codegen::http::uri::PathAndQuery::from_static("/carelog.v1.IntakeService/RegisterClient");
        let err = grpc.unary(tonic::Request::new(body.clone()), path, RawCodec).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{body:?}: {err:?}");
    }
    assert_eq!(app.event_count().await, 0);
}

/// Sends `frame` as the whole body of a RegisterClient call and returns its gRPC status code.
async fn send_frame(app: &TestApp, frame: Vec<u8>) -> Option<String> {
    use tonic::service::Interceptor as _;
    use tower_service::Service as _;
    let headers = CallerHeaders::new(given::front_desk()).call(tonic::Request::new(())).expect("a token");
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{}/carelog.v1.IntakeService/RegisterClient", app.address()))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (name, value) in headers.metadata().clone().into_headers().iter() {
        request = request.header(name, value);
    }
    let body = tonic::body::Body::new(http_body_util::Full::new(prost::bytes::Bytes::from(frame)));
    let mut channel = app.channel();
    std::future::poll_fn(|cx| channel.poll_ready(cx)).await.expect("ready");
    let response = channel.call(request.body(body).expect("request")).await.expect("a response");
    response.headers().get("grpc-status").map(|s| s.to_str().unwrap_or_default().to_owned())
}

async fn a_malformed_grpc_frame_is_invalid_argument(app: &TestApp) {
    // A compression flag of 2; a flag of 1 with no grpc-encoding; a frame announcing 100 bytes
    // and carrying 1 (the body ends inside it).
    for frame in [vec![2, 0, 0, 0, 1, 0], vec![1, 0, 0, 0, 1, 0], vec![0, 0, 0, 0, 100, 0x0a]] {
        assert_eq!(send_frame(app, frame.clone()).await.as_deref(), Some("3"), "{frame:?}");
    }
    assert_eq!(app.event_count().await, 0);
}

on_both_backends!(
    a_malformed_grpc_frame_is_invalid_argument,
    hostile_times_text_and_dates_are_refused_and_reads_carry_on,
    a_min_position_beyond_the_head_is_refused_at_once,
    a_malformed_protobuf_body_is_invalid_argument,
);
