//! Condition (ICD-10-CM diagnoses) and Observation (PHQ-9 and GAD-7 with their items).

use carelog_domain::types::{Instrument, Severity};
use carelog_projections::episode::{AssessmentEntry, DiagnosisEntry, DiagnosisStatus};
use serde_json::{Value, json};

use crate::bundle::{Ctx, Resource};
use crate::codes::{ICD10CM, LOINC, Sensitivity, UCUM, coding, concept, instant, person};
use crate::ids;

const CLINICAL_STATUS: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
const VERIFICATION: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
const CONDITION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/condition-category";
const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";

/// LOINC panel total score and item codes, in questionnaire order.
const PHQ9: (&str, &str, [&str; 9]) = (
    "44261-6",
    "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
    ["44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8"],
);
const GAD7: (&str, &str, [&str; 7]) = (
    "70274-6",
    "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]",
    ["69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"],
);

pub fn conditions(ctx: &Ctx<'_>) -> Vec<Resource> {
    ctx.record.view.diagnoses.iter().enumerate().map(|(index, d)| condition(ctx, index, d)).collect()
}

fn condition(ctx: &Ctx<'_>, index: usize, d: &DiagnosisEntry) -> Resource {
    let (clinical, clinical_display) = match d.status {
        DiagnosisStatus::Active => ("active", "Active"),
        DiagnosisStatus::Resolved => ("resolved", "Resolved"),
    };
    let mut code = coding(ICD10CM, d.code.as_str(), d.code.as_str());
    if let Value::Object(c) = &mut code {
        c.remove("display");
        c.insert("version".into(), d.code_set.to_string().into());
    }
    // Recodes and the resolution stay visible as notes: the Condition carries its history.
    let notes: Vec<Value> = d
        .history
        .iter()
        .map(|h| {
            let what = if h.resolved {
                "Resolved".to_owned()
            } else {
                format!("Recoded from {} (ICD-10-CM {})", h.previous_code.as_str(), h.previous_code_set)
            };
            json!({ "authorReference": person("Practitioner", &h.revised_by.to_string()), "time": instant(h.revised_at), "text": format!("{what}: {}", h.reason.as_str()) })
        })
        .collect();
    let mut fields = json!({
        "clinicalStatus": concept(CLINICAL_STATUS, clinical, clinical_display),
        "verificationStatus": concept(VERIFICATION, "confirmed", "Confirmed"),
        "category": [concept(CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")],
        "code": { "coding": [code] },
        "subject": ctx.patient(),
        "recordedDate": instant(d.recorded_at),
        "recorder": person("Practitioner", &d.diagnosed_by.to_string()),
    });
    if let Value::Object(f) = &mut fields {
        if d.status == DiagnosisStatus::Resolved
            && let Some(resolved) = d.history.iter().rev().find(|h| h.resolved)
        {
            f.insert("abatementDateTime".into(), instant(resolved.revised_at).into());
        }
        if !notes.is_empty() {
            f.insert("note".into(), notes.into());
        }
    }
    ctx.resource("Condition", ids::condition(ctx.record.client, index), Sensitivity::Psychiatric, fields)
}

pub fn observations(ctx: &Ctx<'_>) -> Vec<Resource> {
    ctx.record.view.assessments.iter().map(|a| observation(ctx, a)).collect()
}

fn observation(ctx: &Ctx<'_>, a: &AssessmentEntry) -> Resource {
    let (total_code, total_display, item_codes): (&str, &str, &[&str]) = match a.scores.instrument() {
        Instrument::Phq9 => (PHQ9.0, PHQ9.1, &PHQ9.2),
        Instrument::Gad7 => (GAD7.0, GAD7.1, &GAD7.2),
    };
    let components: Vec<Value> = a
        .scores
        .items()
        .iter()
        .zip(item_codes)
        .map(|(score, code)| {
            json!({ "code": { "coding": [{ "system": LOINC, "code": code }] }, "valueInteger": score.get() })
        })
        .collect();
    let mut fields = json!({
        "status": "final",
        "category": [concept(OBSERVATION_CATEGORY, "survey", "Survey")],
        "code": concept(LOINC, total_code, total_display),
        "subject": ctx.patient(),
        "effectiveDateTime": instant(a.administered_at),
        "performer": [person("Practitioner", &a.administered_by.to_string())],
        "valueQuantity": { "value": a.total, "unit": "{score}", "system": UCUM, "code": "{score}" },
        "interpretation": [{ "text": severity(a.severity) }],
        "component": components,
    });
    let late = crate::encounter::late_entry_label(a.late_entry.as_ref());
    if let (false, Value::Object(f)) = (late.is_empty(), &mut fields) {
        f.insert("note".into(), json!([{ "text": format!("Recorded{late}") }]));
    }
    ctx.resource("Observation", a.assessment_id.to_string(), Sensitivity::MentalHealth, fields)
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Minimal => "minimal",
        Severity::Mild => "mild",
        Severity::Moderate => "moderate",
        Severity::ModeratelySevere => "moderately severe",
        Severity::Severe => "severe",
    }
}
