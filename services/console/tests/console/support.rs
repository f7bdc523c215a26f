//! The stack under test: the all-in-one server on port 0 over a fresh store, the demo episode, and
//! the console in front of it (as `carelog serve --http` mounts it); plus a plain HTTP client.

use std::time::Duration;

use axum::body::Bytes;
use carelog_auth::Role;
use carelog_blackbox::{Backend, Caller, TestApp, test_issuer};
use carelog_proto::v1::ListAuditTrailRequest;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use uuid::Uuid;

pub struct Stack {
    pub app: TestApp,
    pub console: carelog_console::RunningConsole,
    pub outcome: carelog::demo::Outcome,
}

impl Stack {
    pub async fn start(backend: Backend) -> Self {
        let app = TestApp::spawn(backend).await;
        let outcome = app.run_demo().await;
        let grpc = carelog_console::local_grpc_url(app.address());
        let console = carelog_console::start("127.0.0.1:0".parse().unwrap(), &grpc).await.expect("console starts");
        Self { app, console, outcome }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.console.url())
    }

    /// The demo's addendum: its log position and the session (note) it was appended to.
    pub async fn addendum(&self) -> (u64, String) {
        let request = ListAuditTrailRequest {
            client_id: self.outcome.client_id.clone(),
            event_types: vec!["NoteAddendumAppended".into()],
            ..Default::default()
        };
        let reply = self.app.records(&Caller::new("auditor")).list_audit_trail(request).await.unwrap().into_inner();
        let entry = reply.entries.first().expect("the demo appends an addendum");
        (entry.position, entry.stream.trim_start_matches("session-").to_owned())
    }

    /// Voids the demo's (paid) claim as a biller would, with a reason: the void's log position.
    pub async fn void_the_claim(&self) -> u64 {
        use carelog_proto::v1::submit_claim_request::{Kind, Void};
        let billing = self.outcome.episode.billing.clone().unwrap_or_default();
        let original = billing.claims.keys().next().expect("the demo submits a claim").clone();
        let request = carelog_proto::v1::SubmitClaimRequest {
            context: carelog_blackbox::ctx_because(VOID_REASON),
            account_id: self.outcome.account_id.clone(),
            claim_id: Uuid::now_v7().to_string(),
            kind: Some(Kind::Void(Void { original_claim_id: original })),
        };
        let receipt = self.app.billing(&Caller::new("biller")).submit_claim(request).await.expect("the void");
        receipt.into_inner().position
    }

    /// Every audit entry `subject` caused, about any client or none (a denial before the client is
    /// known is logged without one).
    pub async fn entries_by(&self, subject: Uuid) -> usize {
        let request = ListAuditTrailRequest { actor_id: subject.to_string(), page_size: 1000, ..Default::default() };
        let reply = self.app.records(&Caller::new("auditor")).list_audit_trail(request).await.unwrap().into_inner();
        reply.entries.len()
    }

    /// RecordAccessed entries of the demo client read by `subject`.
    pub async fn reads_by(&self, subject: Uuid) -> usize {
        let request = ListAuditTrailRequest {
            client_id: self.outcome.client_id.clone(),
            event_types: vec!["RecordAccessed".into()],
            page_size: 1000,
            ..Default::default()
        };
        let reply = self.app.records(&Caller::new("auditor")).list_audit_trail(request).await.unwrap().into_inner();
        reply.entries.iter().filter(|e| e.actor_id == subject.to_string()).count()
    }

    pub async fn stop(self) {
        self.console.stop().await.expect("console stops cleanly");
        self.app.stop().await;
    }
}

/// A token from the harness secret.
pub fn token(role: Role, valid_for: Duration) -> (Uuid, String) {
    let subject = Uuid::now_v7();
    (subject, test_issuer().mint(subject, role, None, valid_for))
}

/// Text the demo writes into its progress notes.
pub const NOTE_TEXT: &str = "Reports fewer worry episodes";
/// Why the tests void the demo's claim.
pub const VOID_REASON: &str = "Payer asked for a void: billed under the wrong member id";
/// The demo's addendum text.
pub const ADDENDUM_TEXT: &str = "Spouse called the next morning";

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

/// A browser-less user: keeps the session cookie, sends forms like the console's pages do.
pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    cookie: Option<String>,
    pub csrf: String,
}

impl Http {
    pub fn new(stack: &Stack) -> Self {
        let client = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
        Self { client, base: stack.console.url(), cookie: None, csrf: String::new() }
    }

    async fn send(&mut self, request: http::request::Builder, body: String) -> Reply {
        let request = match &self.cookie {
            Some(cookie) => request.header("cookie", cookie.clone()),
            None => request,
        };
        let response = self.client.request(request.body(Full::new(Bytes::from(body))).unwrap()).await.expect("HTTP");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        if let Some(set) = headers.get("set-cookie").and_then(|v| v.to_str().ok()) {
            let pair = set.split(';').next().unwrap_or("").to_owned();
            self.cookie = if pair.ends_with('=') { None } else { Some(pair) };
        }
        let body = String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
        if let Some(at) = body.find(r#"name="csrf" value=""#) {
            let rest = &body[at + r#"name="csrf" value=""#.len()..];
            self.csrf = rest[..rest.find('"').unwrap()].to_owned();
        }
        Reply { status, headers, body }
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        let uri = format!("{}{path}", self.base);
        self.send(http::Request::get(uri), String::new()).await
    }

    /// A form POST as this site's own page sends it (same Origin).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let origin = self.base.clone();
        self.post_from(path, fields, &origin).await
    }

    pub async fn post_from(&mut self, path: &str, fields: &[(&str, &str)], origin: &str) -> Reply {
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        let request = http::Request::post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", origin);
        self.send(request, body.join("&")).await
    }

    /// Signs in and loads the home page (which carries the CSRF token).
    pub async fn sign_in(&mut self, token: &str) -> Reply {
        let reply = self.post("/signin", &[("token", token)]).await;
        assert_eq!(reply.status, 303, "sign-in: {}", reply.body);
        self.get("/").await
    }

    pub async fn open_client(&mut self, client_id: &str) -> Reply {
        let csrf = self.csrf.clone();
        let reply = self.post("/client", &[("csrf", &csrf), ("client_id", client_id)]).await;
        assert_eq!(reply.status, 303);
        assert_eq!(reply.header("location"), "/episode", "the client id never goes into a URL");
        self.get("/episode").await
    }

    pub async fn set_as_of(&mut self, value: &str) -> Reply {
        let csrf = self.csrf.clone();
        let reply = self.post("/as-of", &[("csrf", &csrf), ("as_of", value)]).await;
        assert_eq!(reply.status, 303);
        let page = self.get("/episode").await;
        // A point the log cannot show is reset to now with a message: one more redirect.
        if page.status == 303 && page.header("location") == "/episode" { self.get("/episode").await } else { page }
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
