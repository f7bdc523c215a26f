//! `ListDisclosures`: one client's accounting of disclosures, from the access log itself (the
//! `RecordAccessed` events tagged with the client), by the rule in `carelog_auth::accounting`.

use carelog_auth::accounting::{description, listed};
use carelog_auth::{Outbound, Pass};
use carelog_domain::access::RecordAccessed;
use carelog_executor::ServiceError;
use carelog_proto::v1 as proto;
use carelog_runtime::parse::{self, Fields};
use carelog_store::{EventStore, LogFilter, LogQuery, Position, RecordedEvent};

use crate::convert::{not_found, page_size, position_token};

/// Access-log entries read per round trip while filling a page.
const SCAN: usize = 500;

/// What a request asks for, checked.
struct Asked {
    client: String,
    since: Option<chrono::DateTime<chrono::Utc>>,
    size: usize,
    after: u64,
}

fn asked(r: &proto::ListDisclosuresRequest) -> Result<Asked, ServiceError> {
    let mut f = Fields::default();
    let client = f.take("client_id", parse::uuid("client_id", &r.client_id));
    let since = f.take("since", parse::optional_timestamp("since", r.since.as_ref()));
    let size = f.take("page_size", page_size(r.page_size));
    let after = f.take("page_token", position_token(&r.page_token));
    f.finish(|| Some(Asked { client: client?.to_string(), since: since?, size: size? as usize, after: after? }))
}

/// The client whose disclosures `r` asks for (for the gate), checked.
pub fn client_of(r: &proto::ListDisclosuresRequest) -> Result<uuid::Uuid, ServiceError> {
    parse::uuid("client_id", &r.client_id).map_err(ServiceError::from)
}

pub async fn list(
    store: &dyn EventStore,
    pass: &Pass,
    r: &proto::ListDisclosuresRequest,
) -> Result<proto::ListDisclosuresReply, ServiceError> {
    let asked = asked(r)?;
    if store.read_client(&asked.client, &LogQuery::from(Position(1), 1)).await?.is_empty() {
        return Err(not_found("client", &asked.client));
    }
    let filter = LogFilter { categories: Vec::new(), event_types: vec![RecordAccessed::EVENT_TYPE.to_owned()] };
    let mut from = Position(asked.after + 1);
    let mut disclosures = Vec::new();
    loop {
        let query = LogQuery { from, up_to: None, filter: filter.clone(), limit: SCAN };
        let page = store.read_client(&asked.client, &query).await?;
        let exhausted = page.len() < SCAN;
        for event in &page {
            if asked.since.is_some_and(|since| event.recorded_at < since) {
                continue;
            }
            if let Some(disclosure) = disclosure(event, pass) {
                disclosures.push(disclosure);
                if disclosures.len() == asked.size {
                    let next_page_token = event.position.0.to_string();
                    return Ok(proto::ListDisclosuresReply { client_id: asked.client, disclosures, next_page_token });
                }
            }
        }
        match page.last() {
            Some(last) if !exhausted => from = last.position.next(),
            _ => {
                return Ok(proto::ListDisclosuresReply {
                    client_id: asked.client,
                    disclosures,
                    next_page_token: String::new(),
                });
            }
        }
    }
}

/// One access-log entry as a disclosure, if the accounting lists it; its data passes the read gate
/// (every field of the access log is an identifier or administrative, which every role sees).
fn disclosure(event: &RecordedEvent, pass: &Pass) -> Option<proto::Disclosure> {
    let mut data = event.data.clone();
    pass.redact(Outbound::Event(&event.event_type), &mut data);
    let entry = RecordAccessed::from_stored(&event.event_type, event.schema_version, &data).ok()?;
    let listed = listed(&entry)?;
    Some(proto::Disclosure {
        position: event.position.0,
        disclosed_at: Some(parse::to_timestamp(event.recorded_at)),
        recipient_id: event.metadata.actor.id.clone(),
        recipient_role: event.metadata.actor.role.clone(),
        purpose_of_use: listed.purpose.code().to_owned(),
        purpose: listed.purpose.meaning().to_owned(),
        description: description(&entry),
        channel: entry.rpc,
        accountable: listed.accountable,
    })
}
