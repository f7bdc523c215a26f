//! FHIR R4 export: a client's record replayed from the log up to a position and mapped by
//! `carelog-fhir`.
//!
//! Why replay rather than read the live episode document: `meta.versionId` is the stream
//! revision of the event that last changed each resource, which only the events carry, and a
//! replay gives the as-of export for free with the same folds as `GetEpisodeAsOf`. Reading one
//! client's events is an indexed range scan (`client_tag`), the same cost as an as-of view.
//! The bulk NDJSON export (`carelog export ndjson`) uses the same loader for every client.

use carelog_auth::Outbound;
use carelog_auth::{Gate, Pass};
use carelog_domain::disclosure::Classes;
use carelog_domain::types::ClientId;
use carelog_executor::ServiceError;
use carelog_fhir::{EpisodeRecord, FhirError};
use carelog_projections::classes::{EPISODE_VIEW, LEDGER};
use carelog_proto::v1 as proto;
use carelog_runtime::parse;
use carelog_store::{EventStore, LogQuery, Position, RecordedEvent};
use serde_json::{Value, json};

use crate::Queries;
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

/// The client's record with everything that had occurred (clinical time) by `by`, as the log
/// knows it now, like [`Queries::episode_occurred_by`](crate::Queries::episode_occurred_by): an
/// entry dated before what it refers to is left out.
pub async fn episode_record_occurred_by(
    store: &dyn EventStore,
    client: ClientId,
    by: chrono::DateTime<chrono::Utc>,
) -> Result<EpisodeRecord, ServiceError> {
    let head = store.head_position().await?;
    let events = client_events(store, &client.to_string(), head).await?;
    let mut folder = carelog_fhir::Folder::new(client);
    let mut folded = 0;
    for event in events.iter().filter(|e| e.metadata.occurred_at <= by) {
        folded += usize::from(folder.apply(event).is_ok());
    }
    if folded == 0 {
        return Err(not_found("client", &client.to_string()));
    }
    folder.record().map_err(|error| match error {
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

/// `ExportEpisodeFhir`: the record as a FHIR Bundle at the head, a log position, a recorded time
/// or a clinical date, released whole or not at all.
pub async fn export(
    queries: &Queries,
    gate: &Gate,
    pass: &Pass,
    r: &proto::ExportEpisodeFhirRequest,
) -> Result<proto::ExportEpisodeFhirReply, ServiceError> {
    use proto::export_episode_fhir_request::AsOf;
    let client = ClientId::parse(&crate::convert::id("client_id", &r.client_id)?)
        .map_err(|e| ServiceError::invalid("client_id", e.reason))?;
    gate.reach(pass, client.as_uuid()).await?;
    let store = queries.store().as_ref();
    let clinical = match &r.as_of {
        Some(AsOf::OccurredBy(time)) => {
            Some(parse::timestamp("as_of.occurred_by", Some(time)).map_err(ServiceError::from)?)
        }
        _ => None,
    };
    let position = match &r.as_of {
        Some(AsOf::Position(position)) => {
            queries.check_position("as_of.position", *position).await?;
            *position
        }
        Some(AsOf::RecordedAt(time)) => {
            let time = parse::timestamp("as_of.recorded_at", Some(time)).map_err(ServiceError::from)?;
            queries.position_at(time).await?
        }
        None | Some(AsOf::OccurredBy(_)) => store.head_position().await.map_err(ServiceError::from)?.0,
    };
    let (record, detail) = match clinical {
        Some(by) => (
            episode_record_occurred_by(store, client, by).await?,
            json!({"export": "fhir", "position": position, "as_of_clinical": true}),
        ),
        None => {
            (episode_record(store, client, Position(position)).await?, json!({"export": "fhir", "position": position}))
        }
    };
    release(gate, pass, detail, &record).await?;
    let bundle = carelog_fhir::bundle(&record);
    let resource_count = bundle["entry"].as_array().map_or(0, |e| e.len() as u32);
    let basis = match (&r.as_of, clinical) {
        (_, Some(_)) => proto::EpisodeBasis::AsOfClinical,
        (None, None) => proto::EpisodeBasis::Live,
        (Some(_), None) => proto::EpisodeBasis::AsRecorded,
    };
    Ok(proto::ExportEpisodeFhirReply {
        client_id: client.to_string(),
        position,
        last_event_position: record.last_position.0,
        bundle_json: bundle.to_string(),
        resource_count,
        basis: basis as i32,
        occurred_by: clinical.map(parse::to_timestamp),
    })
}
