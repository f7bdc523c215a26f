//! Consent: treatment, telehealth and the financial policy (scope `treatment`), releases of
//! information and 42 CFR Part 2 consents (scope `patient-privacy`).
//!
//! R4's Consent status has no `revoked`: a revoked or expired consent is `inactive`, and its
//! provision's period ends when it stopped applying.

use carelog_domain::intake::{ConsentExpiry, ConsentKind};
use carelog_projections::episode::{ConsentEntry, ConsentStatus};
use chrono::{NaiveTime, Utc};
use serde_json::{Value, json};

use crate::bundle::{Ctx, Resource};
use crate::codes::{ACT_CODE, LOINC, PARTICIPATION, Sensitivity, coding, concept, instant, text};

const SCOPE: &str = "http://terminology.hl7.org/CodeSystem/consentscope";

pub fn consents(ctx: &Ctx<'_>) -> Vec<Resource> {
    ctx.record.view.consents.iter().map(|c| consent(ctx, c)).collect()
}

fn consent(ctx: &Ctx<'_>, c: &ConsentEntry) -> Resource {
    // Evaluated at the export's own point in time, so an as-of export shows the status then.
    let at = ctx.record.last_recorded_at().unwrap_or_else(Utc::now);
    let status = match c.status_at(at) {
        ConsentStatus::Active | ConsentStatus::NotYetGiven => "active",
        ConsentStatus::Revoked { .. } | ConsentStatus::Expired { .. } => "inactive",
    };
    let end = match (&c.revoked, c.expires_on) {
        (Some(r), _) => Some(instant(r.revoked_at)),
        // The last day counts in full.
        (None, Some(last_day)) => {
            Some(instant(last_day.and_time(NaiveTime::MIN).and_utc() + chrono::Duration::days(1)))
        }
        (None, None) => None,
    };
    let mut period = json!({ "start": instant(c.given_at) });
    if let (Some(end), Value::Object(p)) = (end, &mut period) {
        p.insert("end".into(), end.into());
    }
    let (scope, category, mut provision) = match &c.kind {
        ConsentKind::Treatment => (treatment(), patient_consent("Consent to treatment"), json!({})),
        ConsentKind::Telehealth => (treatment(), patient_consent("Consent to telehealth"), json!({})),
        ConsentKind::FinancialPolicy => (treatment(), patient_consent("Financial policy acknowledgement"), json!({})),
        ConsentKind::ReleaseOfInformation(roi) => (
            privacy(),
            concept(LOINC, "64292-6", "Release of information consent"),
            json!({
                "actor": [recipient(roi.recipient.as_str())],
                "purpose": [{ "display": roi.purpose.as_str() }],
            }),
        ),
        ConsentKind::Part2(p2) => {
            let expiry = match &p2.expiry {
                ConsentExpiry::OnDate { date } => date.to_string(),
                ConsentExpiry::UponEvent { event } => event.to_string(),
            };
            (
                privacy(),
                concept(LOINC, "64292-6", "Release of information consent"),
                json!({
                    "actor": [
                        recipient(p2.recipient.as_str()),
                        { "role": concept(PARTICIPATION, "CST", "custodian"), "reference": { "display": p2.disclosing_program.as_str() } },
                    ],
                    "purpose": [{ "display": p2.purpose.as_str() }],
                    "code": [text(&format!("{} (expires: {expiry})", p2.information.as_str()))],
                }),
            )
        }
    };
    if let Value::Object(p) = &mut provision {
        p.insert("type".into(), "permit".into());
        p.insert("period".into(), period);
    }
    let mut fields = json!({
        "status": status,
        "scope": scope,
        "category": [category],
        "patient": ctx.patient(),
        "dateTime": instant(c.given_at),
        "performer": [ctx.patient()],
        "provision": provision,
    });
    // Every Consent names the rule it was given under (R4 invariant ppc-1: policy or policyRule):
    // 42 CFR Part 2 for a Part 2 consent, an opt-in to the named use for every other.
    let rule = match &c.kind {
        ConsentKind::Part2(_) => coding(ACT_CODE, "42CFRPart2", "42 CFR Part2"),
        _ => coding(ACT_CODE, "OPTIN", "opt-in"),
    };
    if let Value::Object(f) = &mut fields {
        f.insert("policyRule".into(), json!({ "coding": [rule] }));
    }
    ctx.resource("Consent", c.consent_id.to_string(), Sensitivity::MentalHealth, fields)
}

fn treatment() -> Value {
    concept(SCOPE, "treatment", "Treatment")
}

fn privacy() -> Value {
    concept(SCOPE, "patient-privacy", "Privacy Consent")
}

fn patient_consent(what: &str) -> Value {
    json!({ "coding": [coding(LOINC, "59284-0", "Patient Consent")], "text": what })
}

fn recipient(name: &str) -> Value {
    json!({ "role": concept(PARTICIPATION, "IRCP", "information recipient"), "reference": { "display": name } })
}
