//! The access policy, in one place: for every RPC, what each role may do.
//!
//! Cells: `-` denied · `A` any client · `a` only clients assigned to the caller (the clinician of
//! the client's current episode) · `o` only the caller's own caseload · `w` only records the caller
//! authored. What a granted read may show of the record is the role's, whatever the RPC: see
//! `disclose.rs` (the field classes each role sees).

use super::Role;

/// What a role may do with one RPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Denied,
    Granted(Scope),
}

/// How far a granted access reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    AnyClient,
    AssignedClients,
    OwnCaseload,
    OwnAuthorship,
}

/// Columns, in order.
pub const COLUMNS: [Role; 7] = Role::ALL;

#[rustfmt::skip]
const TABLE: &[(&str, &str)] = &[
    //                                              int cli sup bil aud con adm
    ("IntakeService/RegisterClient",                "A   -   A   -   -   -   -"),
    ("IntakeService/OpenEpisode",                   "A   -   A   -   -   -   -"),
    ("IntakeService/GiveConsent",                   "A   a   A   -   -   -   -"),
    ("IntakeService/RevokeConsent",                 "A   a   A   -   -   -   -"),
    ("IntakeService/RecordAssessment",              "A   a   A   -   -   -   -"),
    ("IntakeService/AcknowledgeRiskFlag",           "-   a   A   -   -   -   -"),
    ("IntakeService/RecordDiagnosis",               "-   a   A   -   -   -   -"),
    ("IntakeService/ReviseDiagnosis",               "-   a   A   -   -   -   -"),
    ("IntakeService/IssueGoodFaithEstimate",        "A   -   -   A   -   -   -"),
    ("IntakeService/PlaceLegalHold",                "-   -   -   -   -   -   A"),
    ("IntakeService/ReleaseLegalHold",              "-   -   -   -   -   -   A"),
    ("TreatmentPlanningService/DraftPlan",          "-   a   A   -   -   -   -"),
    ("TreatmentPlanningService/SetGoal",            "-   a   A   -   -   -   -"),
    ("TreatmentPlanningService/AddObjective",       "-   a   A   -   -   -   -"),
    ("TreatmentPlanningService/AddIntervention",    "-   a   A   -   -   -   -"),
    ("TreatmentPlanningService/SignPlan",           "-   a   A   -   -   -   -"),
    ("TreatmentPlanningService/ReviewPlan",         "-   a   A   -   -   -   -"),
    ("TreatmentPlanningService/ChangeGoalStatus",   "-   a   A   -   -   -   -"),
    ("TreatmentPlanningService/PlanTermination",    "-   a   A   -   -   -   -"),
    ("SessionService/ScheduleSession",              "A   a   A   -   -   -   -"),
    ("SessionService/HoldSession",                  "-   a   A   -   -   -   -"),
    ("SessionService/CancelSession",                "A   a   A   -   -   -   -"),
    ("SessionService/RecordNoShow",                 "A   a   A   -   -   -   -"),
    ("SessionService/SignProgressNote",             "-   a   A   -   -   -   -"),
    ("SessionService/AppendAddendum",               "-   a   A   -   -   -   -"),
    ("SessionService/RecordPsychotherapyNote",      "-   a   A   -   -   -   -"),
    ("SessionService/RequestAmendment",             "A   a   A   -   -   -   -"),
    ("SessionService/DecideAmendment",              "-   a   A   -   -   -   -"),
    ("SessionService/CloseEpisode",                 "-   a   A   -   -   -   -"),
    ("BillingService/OpenAccount",                  "-   -   -   A   -   -   -"),
    ("BillingService/CreateCharge",                 "-   -   -   A   -   -   -"),
    ("BillingService/SubmitClaim",                  "-   -   -   A   -   -   -"),
    ("BillingService/RejectClaim",                  "-   -   -   A   -   -   -"),
    ("BillingService/PostRemittance",               "-   -   -   A   -   -   -"),
    ("BillingService/ReverseRemittance",            "-   -   -   A   -   -   -"),
    ("BillingService/RecoupPayment",                "-   -   -   A   -   -   -"),
    ("BillingService/ReceivePayment",               "-   -   -   A   -   -   -"),
    ("BillingService/WriteOff",                     "-   -   -   A   -   -   -"),
    ("BillingService/IssueSuperbill",               "-   -   -   A   -   -   -"),
    ("RecordsService/GetEpisode",                   "-   a   A   A   A   -   -"),
    ("RecordsService/GetEpisodeAsOf",               "-   a   A   A   A   -   -"),
    ("RecordsService/ListAuditTrail",               "-   a   A   -   A   -   -"),
    ("RecordsService/GetCaseload",                  "-   o   A   -   A   -   -"),
    ("RecordsService/GetLedger",                    "-   -   -   A   A   -   -"),
    ("RecordsService/GetPsychotherapyNote",         "-   w   w   -   -   -   -"),
    ("RecordsService/Subscribe",                    "-   -   -   -   A   A   -"),
    ("RecordsService/Verify",                       "-   -   A   -   A   A   A"),
    ("RecordsService/ExportEpisodeFhir",            "-   a   A   -   A   A   -"),
    ("RecordsService/ListDisclosures",              "-   -   -   -   A   -   -"),
    ("RecordsService/SearchClients",                "A   a   A   A   A   -   -"),
    ("ProofService/GetCheckpoint",                  "-   -   -   -   A   A   A"),
    ("ProofService/SignCheckpoint",                 "-   -   -   -   A   A   A"),
    ("ProofService/ListSigningKeys",                "-   -   -   -   A   A   A"),
    ("ProofService/GetSignedNote",                  "-   -   -   -   A   A   A"),
    ("ProofService/ListCheckpoints",                "-   -   -   -   A   A   A"),
    ("ProofService/ProveInclusion",                 "-   -   -   -   A   A   A"),
    ("ProofService/ProveConsistency",               "-   -   -   -   A   A   A"),
];

/// The FHIR server's interactions (HTTP, not gRPC: kept apart so the table above stays exactly the
/// proto's RPCs). The same reach as `ExportEpisodeFhir`: records leave whole, to those who treat,
/// audit or connect.
#[rustfmt::skip]
const FHIR_TABLE: &[(&str, &str)] = &[
    //                                              int cli sup bil aud con adm
    ("Fhir/read",                                   "-   a   A   -   A   A   -"),
    ("Fhir/vread",                                  "-   a   A   -   A   A   -"),
    ("Fhir/history",                                "-   a   A   -   A   A   -"),
    ("Fhir/search",                                 "-   a   A   -   A   A   -"),
    ("Fhir/everything",                             "-   a   A   -   A   A   -"),
    ("Fhir/export",                                 "-   a   A   -   A   A   -"),
];

/// What `role` may do with `rpc` (`Service/Method`, the service without its package, or a
/// `Fhir/…` interaction). An RPC not in the tables is denied to everyone: a new RPC is closed
/// until someone decides who may call it.
pub fn access(rpc: &str, role: Role) -> Access {
    let Some((_, cells)) = TABLE.iter().chain(FHIR_TABLE).find(|(name, _)| *name == rpc) else {
        return Access::Denied;
    };
    let column = COLUMNS.iter().position(|r| *r == role).unwrap_or(usize::MAX);
    match cells.split_whitespace().nth(column) {
        Some("A") => Access::Granted(Scope::AnyClient),
        Some("a") => Access::Granted(Scope::AssignedClients),
        Some("o") => Access::Granted(Scope::OwnCaseload),
        Some("w") => Access::Granted(Scope::OwnAuthorship),
        _ => Access::Denied,
    }
}

/// Where a role may name a clinician other than the caller (the domain then holds the named one
/// to the episode's treating clinician). Signatures are never in this table: nobody signs for
/// someone else.
const ACTS_FOR: &[(&str, &[Role])] = &[
    ("TreatmentPlanningService/DraftPlan", &[Role::Supervisor]),
    ("SessionService/ScheduleSession", &[Role::Intake, Role::Supervisor]),
];

/// Whether `role` may name a clinician other than the caller in `rpc`.
pub fn acts_for(rpc: &str, role: Role) -> bool {
    ACTS_FOR.iter().any(|(name, roles)| *name == rpc && roles.contains(&role))
}

/// Every RPC the table names.
pub fn rpcs() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|(name, _)| *name)
}

/// The RPC name of a gRPC path: `/carelog.v1.IntakeService/RegisterClient` → `IntakeService/RegisterClient`.
pub fn rpc_of_path(path: &str) -> Option<String> {
    let (service, method) = path.trim_start_matches('/').split_once('/')?;
    let service = service.rsplit('.').next()?;
    Some(format!("{service}/{method}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cell_is_a_known_mark_and_every_row_has_a_column_per_role() {
        for (rpc, cells) in TABLE.iter().chain(FHIR_TABLE) {
            let marks: Vec<&str> = cells.split_whitespace().collect();
            assert_eq!(marks.len(), COLUMNS.len(), "{rpc}");
            assert!(marks.iter().all(|m| ["-", "A", "a", "o", "w"].contains(m)), "{rpc}: {cells}");
        }
    }

    #[test]
    fn the_table_covers_exactly_the_rpcs_of_the_proto_files() {
        let mut declared = carelog_proto::rpc_names();
        declared.sort();
        let mut tabled: Vec<String> = rpcs().map(str::to_owned).collect();
        tabled.sort();
        assert_eq!(declared, tabled, "every RPC needs a row in the policy table, and every row an RPC");
    }

    #[test]
    fn writes_and_reads_follow_the_design() {
        assert_eq!(access("IntakeService/RecordDiagnosis", Role::Clinician), Access::Granted(Scope::AssignedClients));
        assert_eq!(access("IntakeService/RecordDiagnosis", Role::Auditor), Access::Denied);
        assert_eq!(access("RecordsService/GetEpisode", Role::Biller), Access::Granted(Scope::AnyClient));
        assert_eq!(access("RecordsService/GetPsychotherapyNote", Role::Auditor), Access::Denied);
        assert_eq!(access("NoSuchService/Anything", Role::Admin), Access::Denied);
        // An auditor writes nothing.
        for rpc in rpcs().filter(|r| !r.starts_with("RecordsService/") && !r.starts_with("ProofService/")) {
            assert_eq!(access(rpc, Role::Auditor), Access::Denied, "{rpc}");
        }
    }

    #[test]
    fn the_rpc_name_drops_the_package() {
        assert_eq!(
            rpc_of_path("/carelog.v1.IntakeService/RegisterClient").as_deref(),
            Some("IntakeService/RegisterClient")
        );
        assert_eq!(rpc_of_path("nonsense"), None);
    }
}
