//! The accounting of disclosures (HIPAA §164.528): which reads of a record an auditor must list.
//!
//! A read is listed when it was allowed and either left the practice's treatment, payment and
//! operations (its purpose of use) or left the system whole: an export (`ExportEpisodeFhir`, the
//! offline bulk export) or any read by a connector or through the FHIR server. It is
//! *accountable* — owed to a client who asks for an accounting — when its purpose is outside
//! treatment, payment and operations and it was not made to the client themself (§164.528(a)(1)).

use carelog_domain::access::{LoggedPurpose, PurposeOfUse, RecordAccessed};
use serde_json::Value;

use super::access::EXPORT_ACTIVITY;

/// How a read counts in the accounting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// As logged: a code this build does not know is listed, and accountable (it is not known
    /// to be treatment, payment or operations, nor the client's own request).
    pub purpose: LoggedPurpose,
    /// Owed to the client in an accounting (see the module's rule).
    pub accountable: bool,
}

/// Whether the access-log entry is a disclosure to list.
pub fn listed(entry: &RecordAccessed) -> Option<Listed> {
    if !entry.is_allowed() {
        return None;
    }
    let (purpose, rpc) = (&entry.purpose_of_use, entry.rpc.as_str());
    let left_whole = rpc == "RecordsService/ExportEpisodeFhir"
        || rpc == EXPORT_ACTIVITY
        || rpc.starts_with("Fhir/")
        || entry.role == "connector";
    let accountable = !purpose.is_tpo() && purpose.known() != Some(PurposeOfUse::Patrqt);
    (left_whole || !purpose.is_tpo()).then(|| Listed { purpose: purpose.clone(), accountable })
}

/// A brief description of what a read disclosed, from its channel and the entry's detail.
pub fn description(entry: &RecordAccessed) -> String {
    let what = match entry.rpc.as_str() {
        "RecordsService/ExportEpisodeFhir" => "the record as a FHIR R4 Bundle",
        "RecordsService/GetEpisode" => "the current record",
        "RecordsService/GetEpisodeAsOf" => "the record as of a past point",
        "RecordsService/GetLedger" => "a billing ledger",
        "RecordsService/ListAuditTrail" => "the audit trail",
        "RecordsService/GetPsychotherapyNote" => "a psychotherapy note (to its author)",
        EXPORT_ACTIVITY => "the record as Bulk Data NDJSON (offline export)",
        other if other.starts_with("Fhir/") => "FHIR resources",
        _ => "part of the record",
    };
    let detail: Vec<String> = entry
        .detail
        .as_object()
        .into_iter()
        .flatten()
        // `export` repeats what the channel already says.
        .filter(|(key, _)| key.as_str() != "export")
        .map(|(key, value)| match value {
            Value::String(s) => format!("{key} {s}"),
            other => format!("{key} {other}"),
        })
        .collect();
    if detail.is_empty() { what.to_owned() } else { format!("{what} ({})", detail.join(", ")) }
}

#[cfg(test)]
mod tests {
    use carelog_domain::access::Outcome;
    use carelog_domain::access::PurposeOfUse::*;
    use serde_json::json;

    use super::*;

    fn entry(rpc: &str, role: &str, purpose: PurposeOfUse, outcome: Outcome) -> RecordAccessed {
        RecordAccessed {
            rpc: rpc.to_owned(),
            role: role.to_owned(),
            clinician_id: None,
            purpose_of_use: purpose.into(),
            client_id: None,
            outcome,
            detail: json!({"position": 7}),
        }
    }

    #[test]
    fn treatment_payment_and_operations_reads_inside_the_system_are_not_listed() {
        for (role, purpose) in [("clinician", Treat), ("biller", Hpaymt), ("auditor", Hoperat)] {
            assert_eq!(listed(&entry("RecordsService/GetEpisode", role, purpose, Outcome::Allowed)), None, "{role}");
        }
    }

    #[test]
    fn exports_and_connector_reads_are_listed_and_only_non_tpo_ones_are_accountable() {
        let coc = listed(&entry("RecordsService/ExportEpisodeFhir", "connector", Coc, Outcome::Allowed)).unwrap();
        assert!(!coc.accountable, "coordination of care is treatment");
        let fhir = listed(&entry("Fhir/read", "connector", Treat, Outcome::Allowed)).unwrap();
        assert!(!fhir.accountable);
        let legal = listed(&entry("RecordsService/GetEpisode", "auditor", Legal, Outcome::Allowed)).unwrap();
        assert!(legal.accountable && legal.purpose == LoggedPurpose::Known(Legal));
        let own = listed(&entry(EXPORT_ACTIVITY, "auditor", Patrqt, Outcome::Allowed)).unwrap();
        assert!(!own.accountable, "disclosures to the client themself are exempt");
        assert_eq!(listed(&entry("RecordsService/ExportEpisodeFhir", "connector", Legal, Outcome::Denied)), None);
    }

    #[test]
    fn a_read_for_a_purpose_this_build_does_not_know_is_listed_as_accountable() {
        let mut unknown = entry("RecordsService/GetEpisode", "auditor", Treat, Outcome::Allowed);
        unknown.purpose_of_use = LoggedPurpose::from_code("PUBHLTH");
        let listed = listed(&unknown).expect("listed: it is not known to be treatment, payment or operations");
        assert!(listed.accountable);
        assert_eq!(listed.purpose.code(), "PUBHLTH");
    }

    #[test]
    fn a_description_names_what_left_and_how_much() {
        let data = entry("RecordsService/ExportEpisodeFhir", "connector", Coc, Outcome::Allowed);
        assert_eq!(description(&data), "the record as a FHIR R4 Bundle (position 7)");
    }
}
