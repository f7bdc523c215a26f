//! `GET /Patient?identifier=|name=|birthdate=|_id=`: over every registered client's Patient,
//! narrowed to the clients the caller reaches (a clinician sees only assigned clients; the others
//! are not in the answer, as if they did not exist), and each returned client's read logged.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::FhirState;
use crate::gate::{Caller, Interaction};
use crate::outcome::{FhirError, fhir_json};
use crate::routes::{provenances_of, revinclude};
use crate::search::{Params, searchset};

pub async fn search(state: &FhirState, caller: &Caller, pairs: Vec<(String, String)>) -> Result<Response, FhirError> {
    let params = Params::parse(pairs, &["identifier", "name", "birthdate", "_id", "_revinclude"])?;
    let page = params.page()?;
    let include_provenance = revinclude(&params)?;
    let filter = Filter::parse(&params)?;
    let pass = state.gate.enter(caller, Interaction::Search).await?;
    state.gate.check_type(caller, &pass, "Patient").await?;
    let mut matches: Vec<(Uuid, Value)> = Vec::new();
    for (client, patient) in state.records.patients().await? {
        if filter.matches(client, &patient) && state.gate.reaches(&pass, client).await? {
            matches.push((client, patient));
        }
    }
    let bodies: Vec<Value> = matches.iter().map(|(_, p)| p.clone()).collect();
    let start = page.offset.min(matches.len());
    let returned = &matches[start..(start + page.count).min(matches.len())];
    let mut includes = Vec::new();
    for (client, patient) in returned {
        let (record, resources) = state.records.resources(*client).await?;
        if include_provenance && caller.may_read_type("Provenance") {
            includes.extend(provenances_of(std::slice::from_ref(patient), resources.iter().map(|r| &r.body)));
        }
        state.gate.release(&pass, &record, json!({ "fhir": "search", "type": "Patient" })).await?;
    }
    Ok(fhir_json(StatusCode::OK, &searchset(&state.base, "Patient", &params, page, &bodies, &includes)))
}

/// The patient search parameters given.
#[derive(Debug, Default)]
struct Filter {
    id: Option<Uuid>,
    identifier: Option<(Option<String>, String)>,
    name: Option<String>,
    birthdate: Option<NaiveDate>,
}

impl Filter {
    fn parse(params: &Params) -> Result<Self, FhirError> {
        let id = params
            .one("_id")?
            .map(|v| Uuid::parse_str(v).map_err(|_| FhirError::Invalid(format!("_id {v:?} is not a Patient id"))))
            .transpose()?;
        // `system|value`, `|value` (no system) or `value` (any system).
        let identifier = params.one("identifier")?.map(|v| match v.split_once('|') {
            Some((system, value)) => (Some(system.to_owned()), value.to_owned()),
            None => (None, v.to_owned()),
        });
        let name = params.one("name")?.map(|n| n.trim().to_lowercase()).filter(|n| !n.is_empty());
        let birthdate = params
            .one("birthdate")?
            .map(|raw| {
                let date = raw.strip_prefix("eq").unwrap_or(raw);
                NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| {
                    FhirError::Invalid(format!("birthdate {raw:?}: give a full date YYYY-MM-DD (prefix eq only)"))
                })
            })
            .transpose()?;
        Ok(Self { id, identifier, name, birthdate })
    }

    fn matches(&self, client: Uuid, patient: &Value) -> bool {
        if self.id.is_some_and(|id| id != client) {
            return false;
        }
        if let Some((system, value)) = &self.identifier {
            let hit = patient["identifier"].as_array().is_some_and(|ids| {
                ids.iter().any(|i| {
                    i["value"].as_str() == Some(value.as_str())
                        && system.as_deref().is_none_or(|s| i["system"].as_str().unwrap_or_default() == s)
                })
            });
            if !hit {
                return false;
            }
        }
        if let Some(name) = &self.name {
            // FHIR string search: a name part starting with the text, ignoring case.
            let hit = patient["name"].as_array().is_some_and(|names| {
                names.iter().filter_map(|n| n["text"].as_str()).any(|text| {
                    let text = text.to_lowercase();
                    text.starts_with(name.as_str())
                        || text.split_whitespace().any(|part| part.starts_with(name.as_str()))
                })
            });
            if !hit {
                return false;
            }
        }
        if let Some(date) = self.birthdate {
            return patient["birthDate"].as_str() == Some(date.format("%Y-%m-%d").to_string().as_str());
        }
        true
    }
}
