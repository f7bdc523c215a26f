//! Code systems and the small JSON shapes every mapper uses.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{Value, json};

pub const ICD10CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
pub const LOINC: &str = "http://loinc.org";
pub const CPT: &str = "http://www.ama-assn.org/go/cpt";
pub const UCUM: &str = "http://unitsofmeasure.org";
pub const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
pub const CONFIDENTIALITY: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
pub const PARTICIPATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
/// HL7 v3 ActReason: the code system of the PurposeOfUse codes (`TREAT`, `HPAYMT`, …).
pub const ACT_REASON: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
/// The CMS place-of-service code set, as US Core and CARIN name it.
pub const PLACE_OF_SERVICE: &str =
    "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set";
/// Identifiers that are URIs (`urn:uuid:…`): how a person without a resource of their own is named.
pub const URI_IDENTIFIER: &str = "urn:ietf:rfc:3986";

pub fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({ "system": system, "code": code, "display": display })
}

pub fn concept(system: &str, code: &str, display: &str) -> Value {
    json!({ "coding": [coding(system, code, display)], "text": display })
}

pub fn text(text: &str) -> Value {
    json!({ "text": text })
}

/// A FHIR `instant` / `dateTime`: RFC 3339 in UTC, fractional seconds only when present.
pub fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub fn date(on: NaiveDate) -> String {
    on.format("%Y-%m-%d").to_string()
}

/// US dollars from cents. Exact: cents / 100 has at most two decimals and f64 prints the
/// shortest form that round-trips.
pub fn money(cents: i64) -> Value {
    json!({ "value": cents as f64 / 100.0, "currency": "USD" })
}

pub fn minutes(n: u16) -> Value {
    json!({ "value": n, "unit": "min", "system": UCUM, "code": "min" })
}

/// A person known by Carelog's id (a clinician or staff member), as a logical reference with a
/// URI identifier; `practitioner::link_practitioners` adds the literal reference and the
/// Practitioner resource it points to.
pub fn person(resource_type: &str, id: &str) -> Value {
    json!({ "type": resource_type, "identifier": { "system": URI_IDENTIFIER, "value": format!("urn:uuid:{id}") } })
}

/// How sensitive a resource is: `meta.security` labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sensitivity {
    /// Demographics and payer: restricted, since being a client of the practice is itself
    /// mental-health information.
    Restricted,
    /// Mental-health care (episodes, plans, sessions, consents to it): restricted + MH.
    MentalHealth,
    /// Psychiatric diagnoses and clinical narrative (conditions, notes, claims carrying
    /// diagnoses): restricted + MH + PSY.
    Psychiatric,
}

impl Sensitivity {
    pub fn labels(self) -> Value {
        let mut labels = vec![coding(CONFIDENTIALITY, "R", "restricted")];
        if matches!(self, Self::MentalHealth | Self::Psychiatric) {
            labels.push(coding(ACT_CODE, "MH", "mental health information sensitivity"));
        }
        if self == Self::Psychiatric {
            labels.push(coding(ACT_CODE, "PSY", "psychiatry disorder information sensitivity"));
        }
        Value::Array(labels)
    }
}
