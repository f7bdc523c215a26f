//! The audit report for the open client, to download (CSV) or print (HTML): the verification
//! status, the accounting of disclosures and the whole timeline. A download is a disclosure
//! channel like any page: it reads through the same RPCs with the user's own token (so the
//! services check and log every read), and it is offered only to a role that may make every one
//! of those calls. It is streamed a page of the API at a time, never held whole in memory.

use std::convert::Infallible;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use carelog_proto::v1 as proto;
use futures::StreamExt;
use tonic::{Code, Status};

use crate::api::UserApi;
use crate::report_format::Format;
use crate::routes::{Shared, failure, refused, with_client};

/// Every call the report makes: a role lacking any of them gets no report (docs/security.md: the
/// accounting of disclosures is the auditor's alone, so the report is too).
pub const CALLS: [&str; 4] = [
    "RecordsService/Verify",
    "ProofService/GetCheckpoint",
    "RecordsService/ListDisclosures",
    "RecordsService/ListAuditTrail",
];
const TRAIL_PAGE: u32 = 500;

/// What the report says, in the order it says it.
#[derive(Debug)]
pub enum Part {
    Verified {
        verify: proto::VerifyReply,
        checkpoint: Option<proto::ProofCheckpoint>,
    },
    DisclosuresStart,
    Disclosures(Vec<proto::Disclosure>),
    DisclosuresEnd,
    TrailStart,
    Trail(Vec<proto::AuditEntry>),
    TrailEnd,
    /// A read failed part-way: said in the report itself (the status line has gone already).
    Failed(String),
}

enum Phase {
    Disclosures(Option<String>),
    Trail(Option<String>),
    Done,
}

/// Reads the report a page at a time.
struct Reader {
    api: UserApi,
    client: String,
    phase: Phase,
    /// A part to say before the next page (a section's start or end).
    pending: Vec<Part>,
}

impl Reader {
    async fn next(&mut self) -> Option<Part> {
        if let Some(part) = self.pending.pop() {
            return Some(part);
        }
        let failed = |s: Status| Part::Failed(format!("the report stops here: {}", s.message()));
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Done => None,
            Phase::Disclosures(None) => {
                self.phase = Phase::Disclosures(Some(String::new()));
                Some(Part::DisclosuresStart)
            }
            Phase::Disclosures(Some(token)) => match self.api.disclosures_page(&self.client, token).await {
                Err(status) => Some(failed(status)),
                Ok(page) if page.next_page_token.is_empty() => {
                    self.phase = Phase::Trail(None);
                    self.pending.push(Part::DisclosuresEnd);
                    Some(Part::Disclosures(page.disclosures))
                }
                Ok(page) => {
                    self.phase = Phase::Disclosures(Some(page.next_page_token));
                    Some(Part::Disclosures(page.disclosures))
                }
            },
            Phase::Trail(None) => {
                self.phase = Phase::Trail(Some(String::new()));
                Some(Part::TrailStart)
            }
            Phase::Trail(Some(page_token)) => {
                let request = proto::ListAuditTrailRequest {
                    client_id: self.client.clone(),
                    page_size: TRAIL_PAGE,
                    page_token,
                    ..Default::default()
                };
                match self.api.audit_page(request).await {
                    Err(status) => Some(failed(status)),
                    Ok(page) if page.next_page_token.is_empty() => {
                        self.pending.push(Part::TrailEnd);
                        Some(Part::Trail(page.entries))
                    }
                    Ok(page) => {
                        self.phase = Phase::Trail(Some(page.next_page_token));
                        Some(Part::Trail(page.entries))
                    }
                }
            }
        }
    }
}

pub async fn csv(state: Shared, headers: HeaderMap) -> Response {
    report(state, headers, Format::Csv).await
}

pub async fn printable(state: Shared, headers: HeaderMap) -> Response {
    report(state, headers, Format::Printable).await
}

async fn report(State(console): Shared, headers: HeaderMap, format: Format) -> Response {
    let (id, session, client) = match with_client(&console, &headers) {
        Ok(found) => found,
        Err(out) => return *out,
    };
    let mut api = console.api.as_user(&session);
    if !CALLS.iter().all(|rpc| api.may(rpc)) {
        return refused(&session, "The audit report holds the accounting of disclosures: it is for auditors.");
    }
    // Read the first part before the status line goes out, so a refusal is a proper error page.
    let verified = match api.verify(&client).await {
        Ok(verify) => match api.checkpoint().await {
            Ok(checkpoint) => Part::Verified { verify, checkpoint },
            Err(status) => return failure(&console, &id, &session, &status),
        },
        Err(status) if status.code() == Code::Unauthenticated => return failure(&console, &id, &session, &status),
        Err(status) => return failure(&console, &id, &session, &status),
    };
    let head = format.head(&session, &client);
    let tail = format.tail();
    let reader = Reader { api, client: client.clone(), phase: Phase::Disclosures(None), pending: Vec::new() };
    let parts = futures::stream::once(async move { verified })
        .chain(futures::stream::unfold(reader, |mut r| async move { r.next().await.map(|part| (part, r)) }));
    let body = futures::stream::once(async move { head })
        .chain(parts.map(move |part| format.part(&part)))
        .chain(futures::stream::once(async move { tail }))
        .map(Ok::<String, Infallible>);
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Some(name) = format.file_name(&client) {
        let disposition = format!("attachment; filename=\"{name}\"");
        if let Ok(value) = HeaderValue::from_str(&disposition) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    response
}
