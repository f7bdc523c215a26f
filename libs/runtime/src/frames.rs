//! Malformed gRPC framing is the caller's error. tonic answers a request whose length-prefixed
//! frame is broken (a compression flag other than 0 or 1, a flag of 1 with no `grpc-encoding`,
//! a body that ends inside a frame) with INTERNAL, which tells an operator to look for a server
//! fault that is not there and a client that a retry may help. This layer rewrites exactly those
//! answers (trailers-only, so the status is in the headers) to INVALID_ARGUMENT. Malformed
//! protobuf inside a well-formed frame is the codec's (`carelog_proto::codec`).

use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http::HeaderValue;

/// What tonic's decoder says (percent-encoded in `grpc-message`) for a broken request frame.
const FRAME_ERRORS: [&str; 3] = [
    "protocol%20error:%20received%20message%20with%20invalid%20compression%20flag",
    "protocol%20error:%20received%20message%20with%20compressed-flag%20but%20no%20grpc-encoding",
    "Unexpected%20EOF%20decoding%20stream",
];

/// Wraps every service of a router.
#[derive(Debug, Clone, Copy, Default)]
pub struct MalformedFramesLayer;

impl<S> tower_layer::Layer<S> for MalformedFramesLayer {
    type Service = MalformedFrames<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MalformedFrames { inner }
    }
}

#[derive(Debug, Clone)]
pub struct MalformedFrames<S> {
    inner: S,
}

impl<S, B, R> tower_service::Service<http::Request<B>> for MalformedFrames<S>
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
        let response = self.inner.call(request);
        Box::pin(async move {
            let mut response = response.await?;
            rewrite(response.headers_mut());
            Ok(response)
        })
    }
}

fn rewrite(headers: &mut http::HeaderMap) {
    let internal = headers.get("grpc-status").is_some_and(|status| status == "13");
    let framing = headers
        .get("grpc-message")
        .and_then(|message| message.to_str().ok())
        .is_some_and(|message| FRAME_ERRORS.iter().any(|prefix| message.starts_with(prefix)));
    if internal && framing {
        headers.insert("grpc-status", HeaderValue::from_static("3"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(status: &'static str, message: &'static str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert("grpc-status", HeaderValue::from_static(status));
        headers.insert("grpc-message", HeaderValue::from_static(message));
        headers
    }

    #[test]
    fn only_a_broken_frame_becomes_invalid_argument() {
        let mut broken = headers("13", "Unexpected%20EOF%20decoding%20stream.");
        rewrite(&mut broken);
        assert_eq!(broken["grpc-status"], "3");
        for (status, message) in [("13", "event%20store%20failure"), ("14", "Unexpected%20EOF%20decoding%20stream.")] {
            let mut other = headers(status, message);
            rewrite(&mut other);
            assert_eq!(other["grpc-status"], status, "{message}");
        }
    }
}
