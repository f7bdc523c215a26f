//! Claim: a professional claim per submitted claim of the client's accounts — CPT lines with
//! modifiers, place of service and diagnosis pointers, against the account's Coverage.
//!
//! Status: a replaced or voided claim is `cancelled`; everything else that was submitted is
//! `active` (R4's Claim is the request; adjudication would be a ClaimResponse). The X12 837
//! frequency code travels as supporting information, and a replacement or void names the claim
//! it supersedes as `related` (`prior`).

use carelog_domain::billing::ChargeLine;
use carelog_domain::types::Icd10Code;
use carelog_projections::LedgerView;
use carelog_projections::ledger::ClaimStatus;
use carelog_projections::ledger::{ChargeEntry, ClaimEntry};
use serde_json::{Value, json};

use crate::bundle::{Ctx, Resource};
use crate::codes::{CPT, ICD10CM, PLACE_OF_SERVICE, Sensitivity, concept, date, instant, money, person};

const CLAIM_TYPE: &str = "http://terminology.hl7.org/CodeSystem/claim-type";
const PRIORITY: &str = "http://terminology.hl7.org/CodeSystem/processpriority";
const RELATIONSHIP: &str = "http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship";
const INFO_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/claiminformationcategory";

pub fn claims(ctx: &Ctx<'_>) -> Vec<Resource> {
    ctx.record.ledgers.iter().flat_map(|l| l.claims.iter().filter_map(move |c| claim(ctx, l, c))).collect()
}

fn claim(ctx: &Ctx<'_>, ledger: &LedgerView, c: &ClaimEntry) -> Option<Resource> {
    let account = ledger.account_id?.to_string();
    let charges: Vec<&ChargeEntry> = c.charge_ids.iter().filter_map(|id| ledger.charge(*id)).collect();
    let provider = charges.first().map(|ch| ch.rendering_clinician.to_string())?;
    // One diagnosis list for the claim, in first-use order; each line points into it.
    let mut diagnoses: Vec<&Icd10Code> = Vec::new();
    for charge in &charges {
        for code in &charge.diagnoses {
            if !diagnoses.contains(&code) {
                diagnoses.push(code);
            }
        }
    }
    let mut items = Vec::new();
    for charge in &charges {
        for line in &charge.lines {
            items.push(item(ctx, items.len() + 1, charge, line, &diagnoses));
        }
    }
    let status = match c.status {
        ClaimStatus::Replaced | ClaimStatus::Voided => "cancelled",
        _ => "active",
    };
    let first = charges.iter().map(|ch| ch.service_date).min()?;
    let last = charges.iter().map(|ch| ch.service_date).max()?;
    let mut fields = json!({
        "status": status,
        "type": concept(CLAIM_TYPE, "professional", "Professional"),
        "use": "claim",
        "patient": ctx.patient(),
        "billablePeriod": { "start": date(first), "end": date(last) },
        "created": instant(c.submitted_at),
        "provider": person("Practitioner", &provider),
        "priority": concept(PRIORITY, "normal", "Normal"),
        "careTeam": [{ "sequence": 1, "provider": person("Practitioner", &provider), "responsible": true }],
        "supportingInfo": [{
            "sequence": 1,
            "category": concept(INFO_CATEGORY, "info", "Information"),
            "code": { "text": "Claim frequency type code (X12 837 CLM05-3)" },
            "valueString": c.frequency_code.to_string(),
        }],
        "diagnosis": diagnoses.iter().enumerate().map(|(i, code)| json!({
            "sequence": i + 1,
            "diagnosisCodeableConcept": { "coding": [{ "system": ICD10CM, "code": code.as_str() }] },
        })).collect::<Vec<_>>(),
        "insurance": [{ "sequence": 1, "focal": true, "coverage": ctx.reference("Coverage", &account) }],
        "item": items,
        "total": money(c.total.cents()),
    });
    if let (Some(original), Value::Object(f)) = (c.frequency.original(), &mut fields) {
        f.insert(
            "related".into(),
            json!([{ "claim": ctx.reference("Claim", &original.to_string()), "relationship": concept(RELATIONSHIP, "prior", "Prior Claim") }]),
        );
    }
    Some(ctx.resource("Claim", c.claim_id.to_string(), Sensitivity::Psychiatric, fields))
}

fn item(ctx: &Ctx<'_>, sequence: usize, charge: &ChargeEntry, line: &ChargeLine, claim_dx: &[&Icd10Code]) -> Value {
    // The charge's pointers index its own diagnoses; re-point them into the claim's list.
    let pointers: Vec<usize> = line
        .diagnosis_pointers
        .iter()
        .filter_map(|p| charge.diagnoses.get(usize::from(u8::from(*p)).checked_sub(1)?))
        .filter_map(|code| claim_dx.iter().position(|c| *c == code).map(|i| i + 1))
        .collect();
    let pos = line.place_of_service.as_str();
    let mut item = json!({
        "sequence": sequence,
        "careTeamSequence": [1],
        "diagnosisSequence": pointers,
        "productOrService": { "coding": [{ "system": CPT, "code": line.cpt.as_str() }] },
        "servicedDate": date(charge.service_date),
        "locationCodeableConcept": { "coding": [{ "system": PLACE_OF_SERVICE, "code": pos }] },
        "quantity": { "value": line.units },
        "unitPrice": money(line.unit_fee.cents()),
        "net": money(line.amount.cents()),
        "encounter": [ctx.reference("Encounter", &charge.session_id.to_string())],
    });
    if let Value::Object(i) = &mut item
        && !line.modifiers.is_empty()
    {
        let modifiers: Vec<Value> =
            line.modifiers.iter().map(|m| json!({ "coding": [{ "system": CPT, "code": m.as_str() }] })).collect();
        i.insert("modifier".into(), modifiers.into());
    }
    item
}
