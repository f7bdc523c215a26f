//! Authentication of every call but health checks and reflection: the caller's `Principal` and the
//! called RPC go into the request's extensions for the policy checks downstream.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::{Either, Ready, ready};
use http::HeaderMap;
use tonic::Status;

use super::token::TokenError;
use super::{Authenticator, Principal, Role};
use crate::actor::{ACTOR_HEADER, NAME_HEADER, ROLE_HEADER};

/// The RPC a request calls, as the policy table names it (`IntakeService/RegisterClient`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcName(pub String);

/// Paths open to anyone: load balancers probe health, and tools list services before they log in.
const OPEN_PREFIXES: [&str; 2] = ["/grpc.health.v1.", "/grpc.reflection."];

#[derive(Debug, Clone)]
pub struct AuthLayer {
    authenticator: Arc<Authenticator>,
}

impl AuthLayer {
    pub fn new(authenticator: Authenticator) -> Self {
        Self { authenticator: Arc::new(authenticator) }
    }
}

impl<S> tower_layer::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService { inner, authenticator: Arc::clone(&self.authenticator) }
    }
}

#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    authenticator: Arc<Authenticator>,
}

impl<S, B, R> tower_service::Service<http::Request<B>> for AuthService<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<R>>,
    R: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Either<Ready<Result<Self::Response, Self::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        if OPEN_PREFIXES.iter().any(|prefix| path.starts_with(prefix)) {
            return Either::Right(self.inner.call(request));
        }
        let rpc = super::policy::rpc_of_path(path).unwrap_or_default();
        match authenticate(&self.authenticator, request.headers()) {
            Ok(principal) => {
                request.extensions_mut().insert(principal);
                request.extensions_mut().insert(RpcName(rpc));
                Either::Right(self.inner.call(request))
            }
            Err(error) => {
                // Counted and logged with where it came from (never a header's value: it may be
                // a token, or PHI typed into the wrong field).
                let source = source_address(&request).map_or_else(|| "unknown".to_owned(), |a| a.to_string());
                crate::metrics::instruments()
                    .unauthenticated
                    .add(1, &[opentelemetry::KeyValue::new("rpc", rpc.clone())]);
                tracing::warn!(rpc, source, %error, "call refused: not authenticated");
                Either::Left(ready(Ok(Status::unauthenticated(error).into_http())))
            }
        }
    }
}

/// The peer's address, as tonic's server records it for plaintext and TLS connections.
fn source_address<B>(request: &http::Request<B>) -> Option<std::net::SocketAddr> {
    use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
    let extensions = request.extensions();
    extensions
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| extensions.get::<TlsConnectInfo<TcpConnectInfo>>().and_then(|info| info.get_ref().remote_addr()))
}

/// Who calls, by the configured means.
pub fn authenticate(authenticator: &Authenticator, headers: &HeaderMap) -> Result<Principal, String> {
    match authenticator {
        Authenticator::Tokens(verifier) => {
            let header = headers.get(http::header::AUTHORIZATION).ok_or(TokenError::Missing.to_string())?;
            let token = header
                .to_str()
                .ok()
                .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
                .map(str::trim)
                .filter(|token| !token.is_empty())
                .ok_or(TokenError::Malformed.to_string())?;
            verifier.verify(token).map_err(|e| e.to_string())
        }
        Authenticator::Anonymous => self_named(headers),
    }
}

/// Local use without tokens: the caller's own word for who they are.
fn self_named(headers: &HeaderMap) -> Result<Principal, String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    let id = header(ACTOR_HEADER).ok_or_else(|| format!("send the caller's id in the `{ACTOR_HEADER}` header"))?;
    let role = header(ROLE_HEADER).ok_or_else(|| format!("send the caller's role in the `{ROLE_HEADER}` header"))?;
    let role: Role = role.parse()?;
    let subject = uuid::Uuid::parse_str(id)
        .map_err(|_| format!("the `{ACTOR_HEADER}` header must be the caller's user id (a UUID)"))?;
    let clinician = header(super::access::CLINICIAN_HEADER)
        .map(|c| uuid::Uuid::parse_str(c).map_err(|_| "the clinician header must be a UUID".to_owned()))
        .transpose()?;
    let name = header(NAME_HEADER).map(super::display_name).transpose()?.flatten();
    Ok(Principal::new(subject, role, clinician).with_name(name))
}
