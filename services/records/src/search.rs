//! `SearchClients`: clients found through the blind index (see `carelog_projections::search`).
//! A clinician finds only the clients assigned to them (the others are never mentioned); each
//! client found is logged as read by the caller, so a search shows in the client's audit trail.

use carelog_auth::access::reaches;
use carelog_auth::{Gate, Pass};
use carelog_executor::ServiceError;
use carelog_projections::search::SearchQuery;
use carelog_proto::v1 as proto;
use carelog_runtime::parse::{self, Fields};
use serde_json::json;

use crate::Queries;

/// Matches per page by default and at most.
const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;

pub async fn search(
    queries: &Queries,
    gate: &Gate,
    pass: &Pass,
    r: &proto::SearchClientsRequest,
) -> Result<proto::SearchClientsReply, ServiceError> {
    let mut f = Fields::default();
    let size = f.take("page_size", page_size(r.page_size));
    let after = f.take("page_token", parse::optional_uuid("page_token", &r.page_token));
    let (size, after) = f.finish(|| Some((size?, after?.map(|id| id.to_string()).unwrap_or_default())))?;
    let query = SearchQuery { name: &r.name, date_of_birth: &r.date_of_birth, member_id: &r.member_id };
    let criteria: Vec<&str> = [("name", &r.name), ("date_of_birth", &r.date_of_birth), ("member_id", &r.member_id)]
        .into_iter()
        .filter(|(_, value)| !value.trim().is_empty())
        .map(|(field, _)| field)
        .collect();
    let mut found = Vec::new();
    let mut cursor = after;
    // One more than a page tells whether there is a next one; a clinician's unassigned matches are
    // skipped, so keep reading until the page is full or the matches end.
    loop {
        let batch = queries.search_clients(&query, &cursor, size + 1).await?;
        let exhausted = batch.len() <= size as usize;
        for client in batch {
            cursor.clone_from(&client);
            let id = parse::uuid("client_id", &client).map_err(ServiceError::from)?;
            if reaches(queries.store().as_ref(), pass, id).await? {
                found.push(client);
            }
            if found.len() > size as usize {
                break;
            }
        }
        if exhausted || found.len() > size as usize {
            break;
        }
    }
    let next_page_token = if found.len() > size as usize {
        found.truncate(size as usize);
        found.last().cloned().unwrap_or_default()
    } else {
        String::new()
    };
    let detail = json!({"search": criteria, "matches": found.len()});
    if found.is_empty() {
        gate.log_read(pass, None, detail.clone()).await?;
    }
    for client in &found {
        let id = parse::uuid("client_id", client).map_err(ServiceError::from)?;
        gate.log_read(pass, Some(id), detail.clone()).await?;
    }
    Ok(proto::SearchClientsReply { client_ids: found, next_page_token })
}

fn page_size(requested: u32) -> Result<u32, carelog_executor::FieldViolation> {
    match requested {
        0 => Ok(DEFAULT_PAGE),
        n @ 1..=MAX_PAGE => Ok(n),
        _ => Err(carelog_executor::FieldViolation::new("page_size", format!("must be 1 to {MAX_PAGE}"))),
    }
}
