//! FHIR R4 export: a client's record replayed from the log up to a position and mapped by
//! `carelog-fhir`.
//!
//! Why replay rather than read the live episode document: `meta.versionId` is the stream
//! revision of the event that last changed each resource, which only the events carry, and a
//! replay gives the as-of export for free with the same folds as `GetEpisodeAsOf`. Reading one
//! client's events is an indexed range scan (`client_tag`), the same cost as an as-of view.
//! The bulk NDJSON export (`carelog export ndjson`) uses the same loader for every client.

use carelog_domain::disclosure::Classes;
use carelog_domain::types::ClientId;
use carelog_fhir::{EpisodeRecord, FhirError};
use carelog_platform::auth::Outbound;
use carelog_platform::{Gate, Pass, ServiceError};
use carelog_projections::classes::{EPISODE_VIEW, LEDGER};
use carelog_store::{EventStore, LogQuery, Position, RecordedEvent};
use serde_json::Value;

use crate::convert::not_found;

/// Events read per page.
const PAGE: usize = 1000;

/// The client's record as it stood at `up_to` (inclusive).
///
/// # Errors
/// NOT_FOUND for a client with no registered record up to `up_to`; the store's errors; a
/// decode error if an event cannot be folded (the live projection would stop on it too).
pub async fn episode_record(
    store: &dyn EventStore,
    client: ClientId,
    up_to: Position,
) -> Result<EpisodeRecord, ServiceError> {
    let events = client_events(store, &client.to_string(), up_to).await?;
    EpisodeRecord::from_events(client, &events).map_err(|error| match error {
        FhirError::UnknownClient(id) | FhirError::NotRegistered(id) => not_found("client", &id),
        FhirError::Fold(e) => ServiceError::Decode(e.to_string()),
    })
}

/// Every event about `client` up to `up_to`, in log order (the input of every replayed view:
/// as-of views, FHIR exports and the FHIR server's versions).
pub async fn client_events(
    store: &dyn EventStore,
    client: &str,
    up_to: Position,
) -> Result<Vec<RecordedEvent>, ServiceError> {
    let mut events = Vec::new();
    let mut from = Position(1);
    loop {
        let query = LogQuery { from, up_to: Some(up_to), filter: Default::default(), limit: PAGE };
        let page = store.read_client(client, &query).await?;
        let full = page.len() == PAGE;
        let next = page.last().map(|e| e.position.next());
        events.extend(page);
        match next {
            Some(next) if full => from = next,
            _ => return Ok(events),
        }
    }
}

/// The gate's exit for an export: the record is checked against what the caller's role may see
/// (the same field classes as every view), and the read logged. FHIR resources are typed, so a
/// record with any field the role may not see is refused whole rather than mapped with holes.
pub async fn release(gate: &Gate, pass: &Pass, detail: Value, record: &EpisodeRecord) -> Result<(), ServiceError> {
    let mut withheld = withheld_from(pass, &EPISODE_VIEW, &record.view)?;
    for ledger in &record.ledgers {
        withheld += withheld_from(pass, &LEDGER, ledger)?;
    }
    let client = Some(record.client.as_uuid());
    if withheld > 0 {
        let reason = format!("the {} role may not see {withheld} fields of this record", pass.principal.role);
        return Err(gate.deny(pass, client, "RECORD_NOT_WHOLE", reason).await);
    }
    gate.log_read(pass, client, detail).await
}

/// How many of `value`'s fields the caller may not see.
fn withheld_from(pass: &Pass, classes: &Classes, value: &impl serde::Serialize) -> Result<usize, ServiceError> {
    let mut value = serde_json::to_value(value).map_err(|e| ServiceError::Decode(e.to_string()))?;
    Ok(pass.redact(Outbound::View(classes), &mut value).count())
}
