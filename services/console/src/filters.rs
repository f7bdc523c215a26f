//! The timeline's filters and page, parsed once from the query string. Every input is hostile: a
//! malformed or out-of-range value is a message naming its field, never a failed page.

use std::collections::HashMap;

use carelog_proto::v1 as proto;
use chrono::{DateTime, NaiveDate, Utc};

/// Entries per page: the choices offered, and the most asked for.
pub const PAGE_SIZES: [u32; 4] = [25, 50, 100, 200];
const DEFAULT_PAGE: u32 = 50;
/// Dates the filters take: anything outside is a typo (or an attack), not a clinic's record.
const EARLIEST_YEAR: i32 = 1900;
const LATEST_YEAR: i32 = 2200;
/// The longest actor text taken.
const ACTOR_CHARS: usize = 100;

/// Who to show: one person by id (the API filters), or a name or role (matched on each page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorFilter {
    Id(uuid::Uuid),
    /// Lower-case text found in the actor's role or display name.
    Text(String),
}

/// An inclusive range of days (UTC).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Days {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl Days {
    fn start(&self) -> Option<DateTime<Utc>> {
        self.from.and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc())
    }

    fn end(&self) -> Option<DateTime<Utc>> {
        self.to.map(crate::asof::AsOf::end_of)
    }

    fn contains(&self, at: Option<&prost_types::Timestamp>) -> bool {
        if self.from.is_none() && self.to.is_none() {
            return true;
        }
        let Some(at) = at.and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, t.nanos.max(0) as u32)) else {
            return false;
        };
        self.start().is_none_or(|s| at >= s) && self.end().is_none_or(|e| at <= e)
    }
}

/// What the timeline page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filters {
    pub event_type: Option<String>,
    pub actor: Option<ActorFilter>,
    pub recorded: Days,
    pub clinical: Days,
    /// The page starts after this log position (0: the start).
    pub after: u64,
    pub per: u32,
}

impl Default for Filters {
    fn default() -> Self {
        Self {
            event_type: None,
            actor: None,
            recorded: Days::default(),
            clinical: Days::default(),
            after: 0,
            per: DEFAULT_PAGE,
        }
    }
}

/// The raw text of each field, echoed back into the form (also when it was refused).
pub type Raw = HashMap<String, String>;

fn field<'a>(raw: &'a Raw, name: &str) -> &'a str {
    raw.get(name).map_or("", |v| v.trim())
}

fn date(raw: &Raw, name: &str, label: &str, problems: &mut Vec<String>) -> Option<NaiveDate> {
    let text = field(raw, name);
    if text.is_empty() {
        return None;
    }
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(d) if (EARLIEST_YEAR..=LATEST_YEAR).contains(&chrono::Datelike::year(&d)) => Some(d),
        Ok(_) => {
            problems.push(format!("{label}: {text} is outside {EARLIEST_YEAR}–{LATEST_YEAR}"));
            None
        }
        Err(_) => {
            problems.push(format!("{label}: {:?} is not a date such as 2026-11-21", shorten(text)));
            None
        }
    }
}

fn days(raw: &Raw, which: &str, problems: &mut Vec<String>) -> Days {
    let from = date(raw, &format!("{which}_from"), &format!("{which} from"), problems);
    let to = date(raw, &format!("{which}_to"), &format!("{which} to"), problems);
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        problems.push(format!("{which} dates: from {f} is after to {t}"));
    }
    Days { from, to }
}

/// Echo at most a short, printable prefix of what was typed.
fn shorten(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(40).collect()
}

/// The filters in `raw`, or every problem with them (each naming its field).
pub fn parse(raw: &Raw, event_types: &[String]) -> Result<Filters, Vec<String>> {
    let mut problems = Vec::new();
    let event_type = match field(raw, "type") {
        "" => None,
        t if event_types.iter().any(|known| known == t) => Some(t.to_owned()),
        t => {
            problems.push(format!("event type: {:?} is not an event type of this log", shorten(t)));
            None
        }
    };
    let actor = match field(raw, "actor") {
        "" => None,
        a if a.chars().any(char::is_control) || a.chars().count() > ACTOR_CHARS => {
            problems.push(format!("actor: a name, role or id of at most {ACTOR_CHARS} printable characters"));
            None
        }
        a => Some(uuid::Uuid::parse_str(a).map_or_else(|_| ActorFilter::Text(a.to_lowercase()), ActorFilter::Id)),
    };
    let recorded = days(raw, "recorded", &mut problems);
    let clinical = days(raw, "clinical", &mut problems);
    let after = match field(raw, "after") {
        "" => 0,
        a => match a.parse::<i64>() {
            Ok(p) if p >= 0 => p as u64,
            _ => {
                problems.push(format!("page: {:?} is not a page of this timeline (use the page links)", shorten(a)));
                0
            }
        },
    };
    let per = match field(raw, "per") {
        "" => DEFAULT_PAGE,
        p => match p.parse::<u32>() {
            Ok(n) if PAGE_SIZES.contains(&n) => n,
            _ => {
                problems.push(format!("entries per page: {:?} is not one of 25, 50, 100 or 200", shorten(p)));
                DEFAULT_PAGE
            }
        },
    };
    if problems.is_empty() { Ok(Filters { event_type, actor, recorded, clinical, after, per }) } else { Err(problems) }
}

impl Filters {
    /// The API request for one page of the client's trail from `after` (what the API filters on).
    pub fn request(&self, client_id: &str, after: u64, page_size: u32) -> proto::ListAuditTrailRequest {
        let stamp = |t: DateTime<Utc>| prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 };
        proto::ListAuditTrailRequest {
            client_id: client_id.to_owned(),
            actor_id: match &self.actor {
                Some(ActorFilter::Id(id)) => id.to_string(),
                _ => String::new(),
            },
            event_types: self.event_type.iter().cloned().collect(),
            recorded_from: self.recorded.start().map(stamp),
            recorded_to: self
                .recorded
                .end()
                .map(|t| prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 }),
            page_size,
            page_token: if after == 0 { String::new() } else { after.to_string() },
            ..Default::default()
        }
    }

    /// What the API cannot filter on: the clinical date range and an actor's name or role.
    pub fn keeps(&self, entry: &proto::AuditEntry) -> bool {
        let actor = match &self.actor {
            Some(ActorFilter::Text(text)) => {
                entry.actor_role.to_lowercase().contains(text) || entry.actor_name.to_lowercase().contains(text)
            }
            _ => true,
        };
        actor && self.clinical.contains(entry.occurred_at.as_ref())
    }

    /// This page's query string with the page starting after `after`.
    pub fn query(&self, raw: &Raw, after: u64) -> String {
        let mut pairs: Vec<(&str, String)> =
            ["type", "actor", "recorded_from", "recorded_to", "clinical_from", "clinical_to"]
                .into_iter()
                .map(|k| (k, field(raw, k).to_owned()))
                .filter(|(_, v)| !v.is_empty())
                .collect();
        pairs.push(("per", self.per.to_string()));
        if after > 0 {
            pairs.push(("after", after.to_string()));
        }
        pairs.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect::<Vec<_>>().join("&")
    }
}

/// Percent-encoding for a query value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> Raw {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn types() -> Vec<String> {
        vec!["NoteSigned".into(), "RecordAccessed".into()]
    }

    #[test]
    fn no_filters_is_the_first_page_of_everything() {
        assert_eq!(parse(&raw(&[]), &types()), Ok(Filters::default()));
    }

    #[test]
    fn every_field_parses_and_round_trips_through_the_page_links() {
        let id = "019b0c3e-1111-7000-8000-00000000aaaa";
        let input = raw(&[
            ("type", "NoteSigned"),
            ("actor", id),
            ("recorded_from", "2026-11-01"),
            ("recorded_to", "2026-11-30"),
            ("clinical_from", "2026-10-01"),
            ("per", "100"),
            ("after", "42"),
        ]);
        let filters = parse(&input, &types()).unwrap();
        assert_eq!(filters.actor, Some(ActorFilter::Id(uuid::Uuid::parse_str(id).unwrap())));
        assert_eq!((filters.after, filters.per), (42, 100));
        let request = filters.request("c", 42, 100);
        assert_eq!(
            (request.event_types, request.page_token, request.actor_id),
            (types()[..1].to_vec(), "42".into(), id.into())
        );
        assert_eq!(request.recorded_to.map(|t| t.seconds), Some(1_796_083_199));
        let query = filters.query(&input, 99);
        let again: Raw = query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.replace("%2D", "-")))
            .collect();
        assert_eq!(parse(&again, &types()).map(|f| f.after), Ok(99));
    }

    #[test]
    fn hostile_values_are_messages_naming_their_field() {
        let problems = parse(
            &raw(&[
                ("type", "<script>"),
                ("actor", "a\u{0}b"),
                ("recorded_from", "-5000-01-01"),
                ("recorded_to", "2026-02-30"),
                ("clinical_from", "2026-12-01"),
                ("clinical_to", "2026-11-01"),
                ("after", "99999999999999999999999999"),
                ("per", "1000000"),
            ]),
            &types(),
        )
        .unwrap_err();
        let expected = [
            "event type:",
            "actor:",
            "recorded from:",
            "recorded to:",
            "clinical dates:",
            "page:",
            "entries per page:",
        ];
        assert_eq!(problems.len(), expected.len(), "{problems:?}");
        for (problem, start) in problems.iter().zip(expected) {
            assert!(problem.starts_with(start), "{problem} should start with {start}");
        }
        assert!(parse(&raw(&[("recorded_from", "20000-01-01")]), &types()).is_err());
        assert!(parse(&raw(&[("after", "-1")]), &types()).is_err());
        assert!(parse(&raw(&[("actor", &"x".repeat(101))]), &types()).is_err());
    }

    #[test]
    fn names_roles_and_clinical_dates_are_kept_page_by_page() {
        let filters = parse(&raw(&[("actor", "Biller"), ("clinical_from", "2026-11-21")]), &types()).unwrap();
        let entry = |role: &str, day: i64| proto::AuditEntry {
            actor_role: role.into(),
            actor_name: if role == "auditor" { "Anne Biller".into() } else { String::new() },
            occurred_at: Some(prost_types::Timestamp { seconds: 1_795_219_200 + day * 86_400, nanos: 0 }),
            ..Default::default()
        };
        assert!(filters.keeps(&entry("biller", 0)));
        assert!(!filters.keeps(&entry("biller", -1)), "the day before");
        assert!(filters.keeps(&entry("auditor", 3)), "matched by name");
        assert!(!filters.keeps(&entry("intake", 3)));
        assert!(!filters.keeps(&proto::AuditEntry { actor_role: "biller".into(), ..Default::default() }));
    }
}
