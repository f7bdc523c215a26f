//! Search parameters, checked strictly (an unknown or malformed parameter is a 400, never
//! silently ignored: a connector that thinks it filtered must not get everything), and the
//! `searchset` Bundle with `_count` paging.

use serde_json::{Value, json};

use crate::outcome::FhirError;

/// Every resource type the server serves.
pub const TYPES: [&str; 14] = [
    "Patient",
    "Coverage",
    "EpisodeOfCare",
    "Consent",
    "Condition",
    "Observation",
    "CarePlan",
    "Goal",
    "Encounter",
    "DocumentReference",
    "Claim",
    "Practitioner",
    "Provenance",
    "AuditEvent",
];

/// Page size when `_count` is not given, and the most one page holds (a larger `_count` is
/// lowered to it, as the search spec allows).
pub const DEFAULT_COUNT: usize = 50;
pub const MAX_COUNT: usize = 500;
/// Paging goes no deeper than this many entries.
const MAX_OFFSET: usize = 1_000_000;

/// The query string of a request, checked against what the interaction accepts.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Refuses control characters anywhere and any parameter not in `allowed` (besides the
    /// paging and format parameters every search takes).
    pub fn parse(pairs: Vec<(String, String)>, allowed: &[&str]) -> Result<Self, FhirError> {
        for (name, value) in &pairs {
            if name.chars().chain(value.chars()).any(char::is_control) {
                return Err(FhirError::Invalid(format!("parameter {name:?} holds a control character")));
            }
            if value.len() > 1024 {
                return Err(FhirError::Invalid(format!("parameter {name:?} is longer than 1024 bytes")));
            }
            // `_total`/`_totalMethod` (sent by some clients' count()) ask for what every answer has.
            let known = ["_count", "_offset", "_format", "_total", "_totalMethod"].contains(&name.as_str())
                || allowed.contains(&name.as_str());
            if !known {
                return Err(FhirError::Invalid(format!(
                    "unsupported search parameter {name:?}; this interaction takes {}",
                    allowed.iter().chain(["_count", "_offset"].iter()).copied().collect::<Vec<_>>().join(", ")
                )));
            }
        }
        if let Some(format) = pairs.iter().find(|(n, _)| n == "_format").map(|(_, v)| v.as_str())
            && !["json", "application/json", "application/fhir+json"].contains(&format)
        {
            return Err(FhirError::Invalid(format!("_format {format:?}: this server speaks JSON only")));
        }
        Ok(Self { pairs })
    }

    /// The single value of `name`; a repeated parameter is refused (no AND semantics here).
    pub fn one(&self, name: &str) -> Result<Option<&str>, FhirError> {
        let mut values = self.pairs.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(FhirError::Invalid(format!("parameter {name:?} is given more than once")));
        }
        Ok(first)
    }

    pub fn page(&self) -> Result<Page, FhirError> {
        let count = match self.one("_count")? {
            None => DEFAULT_COUNT,
            Some(raw) => number("_count", raw, usize::MAX)?.min(MAX_COUNT),
        };
        let offset = match self.one("_offset")? {
            None => 0,
            Some(raw) => number("_offset", raw, MAX_OFFSET)?,
        };
        Ok(Page { count, offset })
    }

    /// The query string with `_offset` set to `offset` (for `Bundle.link`).
    pub fn with_offset(&self, offset: usize) -> String {
        let mut parts: Vec<String> = self
            .pairs
            .iter()
            .filter(|(n, _)| n != "_offset")
            .map(|(n, v)| format!("{}={}", encode(n), encode(v)))
            .collect();
        parts.push(format!("_offset={offset}"));
        parts.join("&")
    }
}

/// A non-negative integer up to `max`.
fn number(name: &str, raw: &str, max: usize) -> Result<usize, FhirError> {
    let digits = !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit());
    // Only overflow can fail the parse of digits: such a number is beyond any bound.
    let value = digits.then(|| raw.parse::<u128>().unwrap_or(u128::MAX));
    match value {
        Some(v) if v <= max as u128 => Ok(v as usize),
        // A huge `_count` is only a wish for big pages; a huge `_offset` is past the end.
        Some(_) if max == usize::MAX => Ok(MAX_COUNT),
        Some(_) => Err(FhirError::Invalid(format!("{name} must be at most {max}"))),
        None => Err(FhirError::Invalid(format!("{name} must be a non-negative integer, not {raw:?}"))),
    }
}

/// Which slice of the matches one page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub count: usize,
    pub offset: usize,
}

/// A `searchset` Bundle: one page of `matches` (with the `includes` that belong to them) and a
/// `next` link while more remain.
pub fn searchset(base: &str, path: &str, params: &Params, page: Page, matches: &[Value], includes: &[Value]) -> Value {
    let link = |relation: &str, offset: usize| json!({ "relation": relation, "url": format!("{base}/{path}?{}", params.with_offset(offset)) });
    let mut links = vec![link("self", page.offset)];
    if page.count > 0 && page.offset + page.count < matches.len() {
        links.push(link("next", page.offset + page.count));
    }
    if page.offset > 0 && page.count > 0 {
        links.push(link("previous", page.offset.saturating_sub(page.count)));
    }
    let entry = |resource: &Value, mode: &str| {
        let url = format!(
            "{base}/{}/{}",
            resource["resourceType"].as_str().unwrap_or_default(),
            resource["id"].as_str().unwrap_or_default()
        );
        json!({ "fullUrl": url, "resource": resource, "search": { "mode": mode } })
    };
    let shown = matches.iter().skip(page.offset).take(page.count);
    let mut entries: Vec<Value> = shown.map(|r| entry(r, "match")).collect();
    entries.extend(includes.iter().map(|r| entry(r, "include")));
    json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": matches.len(),
        "link": links,
        "entry": entries,
    })
}

/// The matches a page shows.
pub fn shown(matches: &[Value], page: Page) -> &[Value] {
    let start = page.offset.min(matches.len());
    let end = (start + page.count).min(matches.len());
    &matches[start..end]
}

/// Percent-encoding for query strings: everything but RFC 3986's unreserved characters.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A FHIR id: `[A-Za-z0-9\-\.]{1,64}`.
pub fn check_id(id: &str) -> Result<(), FhirError> {
    let ok =
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if ok { Ok(()) } else { Err(FhirError::Invalid("a resource id is 1–64 letters, digits, '-' or '.'".into())) }
}

/// A resource type this server serves.
pub fn check_type(resource_type: &str) -> Result<&'static str, FhirError> {
    TYPES
        .iter()
        .find(|t| **t == resource_type)
        .copied()
        .ok_or_else(|| FhirError::NotFound(format!("resource type {resource_type:?} is not served here")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)], allowed: &[&str]) -> Result<Params, FhirError> {
        Params::parse(pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(), allowed)
    }

    #[test]
    fn count_is_bounded_and_checked() {
        let page = |count: &str| params(&[("_count", count)], &[]).and_then(|p| p.page());
        assert_eq!(page("7").ok(), Some(Page { count: 7, offset: 0 }));
        assert_eq!(page("0").ok(), Some(Page { count: 0, offset: 0 }));
        assert_eq!(page("999999999999999999999999").ok().map(|p| p.count), Some(MAX_COUNT));
        for bad in ["-1", "1.5", "", "ten", "+3", " 3"] {
            assert!(page(bad).is_err(), "{bad:?}");
        }
        assert!(params(&[("_offset", "2000000")], &[]).and_then(|p| p.page()).is_err());
    }

    #[test]
    fn unknown_repeated_and_control_characters_are_refused() {
        assert!(params(&[("colour", "red")], &["patient"]).is_err());
        assert!(params(&[("patient", "a\0b")], &["patient"]).is_err());
        assert!(
            params(&[("patient", "a"), ("patient", "b")], &["patient"])
                .and_then(|p| p.one("patient").map(|_| ()))
                .is_err()
        );
        assert!(params(&[("_format", "xml")], &[]).is_err());
        assert!(params(&[("_format", "json"), ("patient", "x")], &["patient"]).is_ok());
    }

    #[test]
    fn next_links_keep_the_query_and_move_the_offset() {
        let p = params(&[("patient", "Patient/a b"), ("_count", "2"), ("_offset", "4")], &["patient"]).unwrap();
        assert_eq!(p.with_offset(6), "patient=Patient%2Fa%20b&_count=2&_offset=6");
        let matches: Vec<Value> = (0..5).map(|i| json!({ "resourceType": "Goal", "id": i.to_string() })).collect();
        let page = Page { count: 2, offset: 2 };
        let bundle = searchset("http://h/fhir", "Goal", &p, page, &matches, &[]);
        assert_eq!(bundle["total"], 5);
        assert_eq!(bundle["entry"].as_array().map(Vec::len), Some(2));
        let relations: Vec<&str> =
            bundle["link"].as_array().unwrap().iter().filter_map(|l| l["relation"].as_str()).collect();
        assert_eq!(relations, ["self", "next", "previous"]);
    }

    #[test]
    fn ids_and_types_are_checked() {
        assert!(check_id("01a24d45-8bca-7775-a896-d5a3d5b6e616").is_ok());
        for bad in ["", "../etc", "a/b", &"x".repeat(65), "a\0"] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
        assert!(check_type("Medication").is_err());
        assert_eq!(check_type("Goal").ok(), Some("Goal"));
    }
}
