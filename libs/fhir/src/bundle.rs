//! Assembling the resources of a record: each mapper in turn, a Provenance per resource, and
//! the collection Bundle.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::codes::{Sensitivity, instant};
use crate::ids;
use crate::record::EpisodeRecord;
use crate::{RefStyle, claim, clinical, consent, encounter, patient, plan, practitioner, provenance};

/// One mapped resource with what a bulk export needs to file and filter it.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub resource_type: &'static str,
    pub id: String,
    /// `meta.versionId`.
    pub version: String,
    /// `meta.lastUpdated`.
    pub last_updated: DateTime<Utc>,
    /// The resource as JSON, `resourceType` and `meta` included.
    pub body: Value,
}

/// What every mapper shares: the record and how to write references.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub record: &'a EpisodeRecord,
    pub style: RefStyle,
}

impl Ctx<'_> {
    /// A reference to another resource of the export.
    pub fn reference(&self, resource_type: &str, id: &str) -> Value {
        match self.style {
            RefStyle::Urn => json!({ "reference": format!("urn:uuid:{id}"), "type": resource_type }),
            RefStyle::Relative => json!({ "reference": format!("{resource_type}/{id}") }),
        }
    }

    pub fn patient(&self) -> Value {
        self.reference("Patient", &self.record.client.to_string())
    }

    /// Finishes a resource: `resourceType`, `id` and `meta` (version, time, security labels)
    /// ahead of `fields`. A resource no event stamped (not expected) falls back to the view's
    /// version and last recorded time, which still only go up.
    pub fn resource(&self, resource_type: &'static str, id: String, labels: Sensitivity, fields: Value) -> Resource {
        let stamp = self.record.stamps.get(resource_type, &id);
        let (version, last_updated) = match stamp {
            Some(s) => (s.revision.to_string(), s.recorded_at),
            None => (
                self.record.view.version.to_string(),
                self.record.last_recorded_at().unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
            ),
        };
        self.finish(resource_type, id, labels, fields, version, last_updated)
    }

    /// A resource with an explicit version and time (for resources not stamped by an event).
    pub fn finish(
        &self,
        resource_type: &'static str,
        id: String,
        labels: Sensitivity,
        fields: Value,
        version: String,
        last_updated: DateTime<Utc>,
    ) -> Resource {
        let mut body = Map::new();
        body.insert("resourceType".into(), resource_type.into());
        body.insert("id".into(), id.clone().into());
        body.insert(
            "meta".into(),
            json!({ "versionId": version, "lastUpdated": instant(last_updated), "security": labels.labels() }),
        );
        if let Value::Object(fields) = fields {
            body.extend(fields);
        }
        Resource { resource_type, id, version, last_updated, body: Value::Object(body) }
    }
}

/// Every resource of the record, Provenance last, in a stable order (the same record always
/// gives the same list).
pub fn resources(record: &EpisodeRecord, style: RefStyle) -> Vec<Resource> {
    let ctx = Ctx { record, style };
    let mut out = vec![patient::patient(&ctx)];
    out.extend(patient::coverages(&ctx));
    out.extend(patient::episodes(&ctx));
    out.extend(consent::consents(&ctx));
    out.extend(clinical::conditions(&ctx));
    out.extend(clinical::observations(&ctx));
    out.extend(plan::care_plans(&ctx));
    out.extend(plan::goals(&ctx));
    out.extend(encounter::encounters(&ctx));
    out.extend(encounter::documents(&ctx));
    out.extend(claim::claims(&ctx));
    let provenances: Vec<Resource> = out.iter().filter_map(|r| provenance::provenance(&ctx, r)).collect();
    out.extend(provenances);
    out.extend(provenance::audit_events(&ctx));
    let practitioners = practitioner::link_practitioners(&ctx, &mut out);
    out.extend(practitioners);
    out
}

/// The record as a `collection` Bundle: every entry with a `urn:uuid` fullUrl that the
/// references between entries resolve to.
pub fn bundle(record: &EpisodeRecord) -> Value {
    let entries: Vec<Value> = resources(record, RefStyle::Urn)
        .into_iter()
        .map(|r| json!({ "fullUrl": format!("urn:uuid:{}", r.id), "resource": r.body }))
        .collect();
    let position = record.last_position.0;
    let id = ids::bundle(record.client, position);
    let at = record.last_recorded_at().map(instant);
    let mut bundle = json!({
        "resourceType": "Bundle",
        "id": id,
        "meta": { "versionId": position.to_string(), "security": Sensitivity::Psychiatric.labels() },
        "type": "collection",
        "entry": entries,
    });
    if let (Some(at), Value::Object(b)) = (at, &mut bundle) {
        b.insert("timestamp".into(), at.clone().into());
        if let Some(Value::Object(meta)) = b.get_mut("meta") {
            meta.insert("lastUpdated".into(), at.into());
        }
    }
    bundle
}
