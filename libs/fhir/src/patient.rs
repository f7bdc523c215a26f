//! Patient, Coverage (one per billing account) and EpisodeOfCare.

use carelog_domain::intake::Payer;
use carelog_projections::episode::{EpisodeEntry, EpisodeStatus};
use serde_json::{Value, json};

use crate::bundle::{Ctx, Resource};
use crate::codes::{Sensitivity, URI_IDENTIFIER, date, instant, person, text};
use crate::ids;

pub fn patient(ctx: &Ctx<'_>) -> Resource {
    let view = &ctx.record.view;
    let client = ctx.record.client.to_string();
    let mut fields = json!({
        "identifier": [{ "use": "usual", "system": URI_IDENTIFIER, "value": format!("urn:uuid:{client}") }],
        "active": view.open_episode().is_some(),
    });
    if let (Some(d), Value::Object(f)) = (&view.demographics, &mut fields) {
        // Names are kept as one string; splitting into given/family would guess wrong for many.
        let mut names = vec![json!({ "use": "official", "text": d.legal_name.as_str() })];
        if let Some(preferred) = &d.preferred_name {
            names.push(json!({ "use": "usual", "text": preferred.as_str() }));
        }
        f.insert("name".into(), names.into());
        if let Some(birth) = d.date_of_birth {
            f.insert("birthDate".into(), date(birth).into());
        }
        let mut telecom = Vec::new();
        if let Some(phone) = &d.contact.phone {
            telecom.push(json!({ "system": "phone", "value": phone.as_str() }));
        }
        if let Some(email) = &d.contact.email {
            telecom.push(json!({ "system": "email", "value": email.as_str() }));
        }
        if !telecom.is_empty() {
            f.insert("telecom".into(), telecom.into());
        }
        if let Some(address) = &d.contact.address {
            f.insert("address".into(), json!([{ "text": address.as_str() }]));
        }
    }
    ctx.resource("Patient", client, Sensitivity::Restricted, fields)
}

/// One Coverage per billing account, from the payer the account was opened with: a Claim must
/// name the coverage it bills.
pub fn coverages(ctx: &Ctx<'_>) -> Vec<Resource> {
    ctx.record
        .ledgers
        .iter()
        .filter_map(|ledger| {
            let account = ledger.account_id?;
            let payer = ledger.payer.as_ref()?;
            let mut fields = json!({
                "status": "active",
                "beneficiary": ctx.patient(),
                "relationship": {
                    "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "code": "self" }]
                },
            });
            if let Value::Object(f) = &mut fields {
                match payer {
                    Payer::SelfPay => {
                        f.insert("type".into(), json!({ "text": "self-pay" }));
                        f.insert("payor".into(), json!([ctx.patient()]));
                    }
                    Payer::Insurance { payer_name, member_id } => {
                        f.insert("subscriberId".into(), member_id.to_string().into());
                        f.insert("payor".into(), json!([{ "display": payer_name.as_str() }]));
                    }
                }
                if let Some(opened) = ledger.opened_at {
                    f.insert("period".into(), json!({ "start": instant(opened) }));
                }
            }
            Some(ctx.resource("Coverage", account.to_string(), Sensitivity::Restricted, fields))
        })
        .collect()
}

pub fn episodes(ctx: &Ctx<'_>) -> Vec<Resource> {
    ctx.record.view.episodes.iter().map(|e| episode(ctx, e)).collect()
}

fn episode(ctx: &Ctx<'_>, e: &EpisodeEntry) -> Resource {
    let view = &ctx.record.view;
    let opened = instant(e.opened_at);
    let (status, history, period) = match &e.closed {
        Some(closed) => {
            let end = instant(closed.closed_at);
            (
                "finished",
                json!([
                    { "status": "active", "period": { "start": opened, "end": end } },
                    { "status": "finished", "period": { "start": end } },
                ]),
                json!({ "start": opened, "end": end }),
            )
        }
        None => ("active", json!([{ "status": "active", "period": { "start": opened } }]), json!({ "start": opened })),
    };
    debug_assert_eq!(status == "active", e.status == EpisodeStatus::Open);
    // The diagnoses of this episode, ranked in the order claims point into.
    let diagnoses: Vec<Value> = view
        .diagnoses
        .iter()
        .enumerate()
        .filter(|(_, d)| d.episode_id == e.episode_id)
        .enumerate()
        .map(|(rank, (index, _))| {
            json!({ "condition": ctx.reference("Condition", &ids::condition(ctx.record.client, index)), "rank": rank + 1 })
        })
        .collect();
    let mut fields = json!({
        "status": status,
        "statusHistory": history,
        "type": [text("Outpatient psychotherapy")],
        "patient": ctx.patient(),
        "period": period,
        "careManager": person("Practitioner", &e.clinician_id.to_string()),
    });
    if let Value::Object(f) = &mut fields
        && !diagnoses.is_empty()
    {
        f.insert("diagnosis".into(), diagnoses.into());
    }
    ctx.resource("EpisodeOfCare", e.episode_id.to_string(), Sensitivity::MentalHealth, fields)
}
